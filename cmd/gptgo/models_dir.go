// Reference: the XDG Base Directory specification ($XDG_DATA_HOME, default
// ~/.local/share) and Ollama's OLLAMA_MODELS override.

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/gptgo/gptgo/modelstore"
)

// modelsEnv overrides the default models directory, as OLLAMA_MODELS does
// for Ollama.
const modelsEnv = "GPTGO_MODELS"

// defaultModelsDir is where `gptgo serve` and the model verbs keep models
// unless --models says otherwise: $GPTGO_MODELS, else the gptgo/models
// folder under the user's data directory ($XDG_DATA_HOME or ~/.local/share
// on Unix, ~/Library/Application Support on macOS, %LocalAppData% on
// Windows).
func defaultModelsDir() (string, error) {
	if d := os.Getenv(modelsEnv); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "gptgo", "models"), nil
	}
	switch runtime.GOOS {
	case "darwin":
		d, err := os.UserConfigDir() // ~/Library/Application Support
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "gptgo", "models"), nil
	case "windows":
		d, err := os.UserCacheDir() // %LocalAppData%: models are large and machine-local
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "gptgo", "models"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "gptgo", "models"), nil
}

// modelsFlag adds --models to fs; openModels turns its value into a store.
func modelsFlag(fs *flag.FlagSet) *string {
	return fs.String("models", "", "the models directory (default $"+modelsEnv+", else gptgo/models under the user's data directory, e.g. ~/.local/share/gptgo/models)")
}

// openModels opens the models directory named by --models (or the default).
func openModels(flagValue string) (*modelstore.Store, error) {
	dir := flagValue
	if dir == "" {
		d, err := defaultModelsDir()
		if err != nil {
			return nil, fmt.Errorf("--models: no default models directory (%w); name one", err)
		}
		dir = d
	}
	s, err := modelstore.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("--models %s: %w", dir, err)
	}
	return s, nil
}

// storeVerb parses the arguments of a verb whose only flag is --models (cp,
// rm) and opens the store. countOK checks the number of names, so a wrong
// count is errUsage before any directory is touched.
func storeVerb(e *env, name, usage string, args []string, countOK func(n int) bool) (*modelstore.Store, []string, error) {
	fs := newFlags(e, name, usage)
	dir := modelsFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if !countOK(len(pos)) {
		return nil, nil, errUsage
	}
	s, err := openModels(*dir)
	if err != nil {
		return nil, nil, err
	}
	return s, pos, nil
}

// resolveModel finds a model of the store for a verb, with a hint when it is
// missing.
func resolveModel(s *modelstore.Store, name string) (modelstore.Entry, error) {
	e, err := s.Resolve(name)
	if errors.Is(err, modelstore.ErrNotFound) {
		return e, fmt.Errorf("model %q not found in %s (see 'gptgo list')", name, s.Dir())
	}
	return e, err
}
