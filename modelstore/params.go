// Reference: Ollama's docs/modelfile.md ("Valid Parameters and Values") and
// api/types.go (Options, Runner): the parameter names and their types.

package modelstore

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Kind is the value type of a parameter.
type Kind int

const (
	Int Kind = iota
	Float
	Bool
	String // may repeat (stop); the values accumulate
)

func (k Kind) String() string {
	return [...]string{"integer", "number", "boolean", "string"}[k]
}

// Use says what gptgo does with a parameter.
type Use int

const (
	// Applied parameters change generation.
	Applied Use = iota
	// Hint parameters place work on hardware (GPUs, threads, batches,
	// mapping); gptgo's CPU engine decides those itself, so they are
	// accepted and have no effect.
	Hint
	// Unsupported parameters name a sampler gptgo does not have. Only their
	// "off" value is accepted (clients send mirostat 0 routinely); any other
	// value is an error, never silently ignored.
	Unsupported
)

// Param describes one Ollama parameter.
type Param struct {
	Kind Kind
	Use  Use
	Off  string // for Unsupported: the value that means "off"
}

// Params is every parameter name a Modelfile or an Ollama request's
// "options" may use. A name not in it is an error.
var Params = map[string]Param{
	// Generation.
	"num_ctx":           {Kind: Int},
	"num_predict":       {Kind: Int},
	"temperature":       {Kind: Float},
	"top_k":             {Kind: Int},
	"top_p":             {Kind: Float},
	"min_p":             {Kind: Float},
	"seed":              {Kind: Int},
	"stop":              {Kind: String},
	"repeat_penalty":    {Kind: Float},
	"repeat_last_n":     {Kind: Int},
	"presence_penalty":  {Kind: Float},
	"frequency_penalty": {Kind: Float},
	// Hardware placement.
	"num_gpu":    {Kind: Int, Use: Hint},
	"main_gpu":   {Kind: Int, Use: Hint},
	"num_thread": {Kind: Int, Use: Hint},
	"num_batch":  {Kind: Int, Use: Hint},
	"use_mmap":   {Kind: Bool, Use: Hint},
	"use_mlock":  {Kind: Bool, Use: Hint},
	"low_vram":   {Kind: Bool, Use: Hint},
	"numa":       {Kind: Bool, Use: Hint},
	"vocab_only": {Kind: Bool, Use: Hint},
	// Samplers gptgo does not have.
	"num_keep":         {Kind: Int, Use: Unsupported, Off: "0"},
	"typical_p":        {Kind: Float, Use: Unsupported, Off: "1"},
	"tfs_z":            {Kind: Float, Use: Unsupported, Off: "1"},
	"mirostat":         {Kind: Int, Use: Unsupported, Off: "0"},
	"mirostat_tau":     {Kind: Float, Use: Unsupported, Off: "5"},
	"mirostat_eta":     {Kind: Float, Use: Unsupported, Off: "0.1"},
	"penalize_newline": {Kind: Bool, Use: Unsupported, Off: "false"},
}

// CheckParam validates one parameter value given as text (as a Modelfile
// writes it) and returns it normalised: numbers as Go formats them, so that
// "0.70" and "0.7" compare equal.
func CheckParam(name, value string) (string, error) {
	p, ok := Params[name]
	if !ok {
		return "", fmt.Errorf("unknown parameter %q (known: %s)", name, strings.Join(paramNames(), ", "))
	}
	var norm string
	switch p.Kind {
	case Int:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(value, 64) // Ollama accepts 4096.0
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return "", fmt.Errorf("parameter %s: %q is not an integer", name, value)
			}
			n = int64(f)
		}
		norm = strconv.FormatInt(n, 10)
	case Float:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("parameter %s: %q is not a finite number", name, value)
		}
		norm = strconv.FormatFloat(f, 'g', -1, 64)
	case Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", fmt.Errorf("parameter %s: %q is not true or false", name, value)
		}
		norm = strconv.FormatBool(b)
	case String:
		norm = value
	}
	if p.Use == Unsupported && norm != p.Off {
		return "", fmt.Errorf("parameter %s is not supported by gptgo (only %s, its off value, is accepted)", name, p.Off)
	}
	return norm, nil
}

// paramNames lists the known names, sorted.
func paramNames() []string {
	names := make([]string, 0, len(Params))
	for n := range Params {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
