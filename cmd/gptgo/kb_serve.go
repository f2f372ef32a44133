// Reference: docs/rag.md "Server" (gptgo serve --kb DIR serves the store at /v1/kb/...).

package main

import (
	"github.com/gptgo/gptgo/rag"
	"github.com/gptgo/gptgo/server"
)

// serveKB opens the store in dir (with the embedder its meta.json names)
// for gptgo serve --kb; close releases it after the server has stopped.
func serveKB(dir string) (kb *server.KnowledgeBase, close func(), err error) {
	s, emb, err := openKB(dir, "", false)
	if err != nil {
		return nil, nil, err
	}
	maxTok := 200
	if emb.ctx > 0 {
		maxTok = min(maxTok, emb.ctx-8)
	}
	in := &rag.Ingester{Store: s, Embedder: emb.emb, Splitter: rag.Splitter{Max: maxTok, Count: emb.count}}
	return &server.KnowledgeBase{Store: s, Ingester: in}, func() { s.Close(); emb.Close() }, nil
}
