// Reference: Ollama's `ollama rm MODEL...`.

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/gptgo/gptgo/modelstore"
)

func init() {
	register(&command{
		name:    "rm",
		summary: "remove models from the models directory",
		usage:   "NAME... [--models DIR]",
		run:     runRm,
	})
}

func runRm(ctx context.Context, e *env, args []string) error {
	s, pos, err := storeVerb(e, "rm", "NAME... [--models DIR]", args, func(n int) bool { return n > 0 })
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range pos {
		err := s.Remove(name)
		switch {
		case errors.Is(err, modelstore.ErrNotFound):
			errs = append(errs, fmt.Errorf("model %q not found in %s", name, s.Dir()))
		case err != nil:
			errs = append(errs, err)
		default:
			fmt.Fprintf(e.stdout, "deleted '%s'\n", name)
		}
	}
	return errors.Join(errs...)
}
