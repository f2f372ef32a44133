package modelstore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/gptgo/gptgo/modelstore"
)

// A Modelfile makes a model of the embedded default with a system prompt
// and sampler defaults; the store lists it beside the default.
func Example() {
	dir, _ := os.MkdirTemp("", "models")
	defer os.RemoveAll(dir)
	store, err := modelstore.Open(dir)
	if err != nil {
		panic(err)
	}
	mf, err := modelstore.ParseModelfile(`
FROM default
SYSTEM You answer in one sentence.
PARAMETER temperature 0.2
PARAMETER stop "<|end|>"
`)
	if err != nil {
		panic(err)
	}
	if _, err := store.Create(context.Background(), "brief", mf, modelstore.CreateOptions{}); err != nil {
		panic(err)
	}
	entries, _ := store.List()
	for _, e := range entries {
		fmt.Println(e.Name, e.Embedded, e.System, e.Parameters["temperature"])
	}
	// Output:
	// default:latest true  []
	// brief:latest false You answer in one sentence. [0.2]
}
