// Reference: Ollama's `ollama cp SOURCE DESTINATION`.

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/gptgo/gptgo/modelstore"
)

func init() {
	register(&command{
		name:    "cp",
		summary: "copy a model under a new name (the embedded default included)",
		usage:   "SOURCE DESTINATION [--models DIR]",
		run:     runCp,
	})
}

func runCp(ctx context.Context, e *env, args []string) error {
	s, pos, err := storeVerb(e, "cp", "SOURCE DESTINATION [--models DIR]", args, func(n int) bool { return n == 2 })
	if err != nil {
		return err
	}
	c, err := s.Copy(pos[0], pos[1])
	if errors.Is(err, modelstore.ErrNotFound) {
		return fmt.Errorf("model %q not found in %s (see 'gptgo list')", pos[0], s.Dir())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "copied '%s' to '%s'\n", pos[0], c.Name)
	return nil
}
