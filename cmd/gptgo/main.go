// Reference: the go command's layout (one verb per file, flags per verb).

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one verb of the CLI. Each lives in its own file and registers
// itself in an init function.
type command struct {
	name    string
	summary string // one line for `gptgo help`
	usage   string // argument synopsis, e.g. "FILE"
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a command may touch of the outside world; tests swap it.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// hook, when set (only by tests), is called at named points of long
	// commands ("checkpoint saved at step N") so that a test can stop a
	// child process exactly there before killing it.
	hook func(point string)
	// flags is the flag set the command made last (newFlags): its usage,
	// not the parent command's, is what errUsage prints for a subcommand.
	flags *flag.FlagSet
}

// at calls the test hook, if any, at a named point.
func (e *env) at(point string) {
	if e.hook != nil {
		e.hook(point)
	}
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("gptgo: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage makes main print the command's usage and exit with status 2.
var errUsage = errors.New("usage")

// errBadFlags makes main exit with status 2 silently: the flag set has
// already said what was wrong and printed the flags.
var errBadFlags = errors.New("bad flags")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(runMain(ctx, e, os.Args[1:]))
}

// runMain runs the command line args and returns the exit status.
func runMain(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(e.stderr, "gptgo help: unknown command %q (see 'gptgo help')\n", args[1])
				return 2
			}
			printCommandHelp(ctx, e.stdout, c)
			return 0
		}
		printHelp(e.stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "gptgo: unknown command %q (see 'gptgo help')\n", args[0])
		return 2
	}
	err := c.run(ctx, e, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errBadFlags):
		return 2
	case errors.Is(err, errUsage):
		if e.flags != nil {
			e.flags.Usage()
		} else {
			printUsage(e.stderr, c)
		}
		return 2
	}
	fmt.Fprintf(e.stderr, "gptgo %s: %v\n", c.name, err)
	return 1
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "gptgo: a GPT stack in Go: tokenizers, pretraining, fine-tuning, quantization, inference and serving of GGUF models.")
	fmt.Fprintln(w, "\nUsage: gptgo COMMAND [arguments]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\n'gptgo help COMMAND' or 'gptgo COMMAND -h' shows a command's flags.")
}

func printUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: gptgo %s %s\n\n%s\n", c.name, c.usage, c.summary)
}

// printCommandHelp prints what 'gptgo NAME -h' prints, flags included, by
// running the command with -h into a buffer: one text for both ways of
// asking. A command without flags of its own gets its summary.
func printCommandHelp(ctx context.Context, w io.Writer, c *command) {
	var buf bytes.Buffer
	he := &env{stdin: strings.NewReader(""), stdout: &buf, stderr: &buf}
	err := c.run(ctx, he, []string{"-h"})
	if (err == nil || errors.Is(err, flag.ErrHelp)) && buf.Len() > 0 {
		w.Write(buf.Bytes())
		return
	}
	printUsage(w, c)
}

// newFlags returns a flag set for command c that prints to e.stderr.
func newFlags(e *env, c string, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	e.flags = fs
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: gptgo %s %s\n\nFlags:\n", c, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("gptgo quantize IN OUT Q4_0 --threads 2") and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			// The flag set has printed the error and its usage already.
			return nil, fmt.Errorf("%w: %w", errBadFlags, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
