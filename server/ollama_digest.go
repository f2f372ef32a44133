// Reference: Ollama's docs/api.md (GET /api/tags: "digest", an opaque hex identifier of a model version).

package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/gptgo/gptgo/modelstore"
)

// digestOf identifies a model's version: a SHA-256 of its name, size and
// modification time, which changes whenever the file is replaced.
func digestOf(e modelstore.Entry) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", e.Name, e.Size, e.Modified.UnixNano()))
	return hex.EncodeToString(h[:])
}
