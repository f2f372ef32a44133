// Reference: issue #22 "Done when" (questions asked through the server; the cited chunks hold
// the answer text) and docs/rag.md "Server".

package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/rag"
)

func kbServer(t *testing.T) (*rag.DirStore, string) {
	t.Helper()
	st, err := rag.OpenDir(t.TempDir(), rag.Options{Embedder: rag.HashEmbedder{D: 256}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	in := &rag.Ingester{Store: st, Embedder: rag.HashEmbedder{D: 256}, Splitter: rag.Splitter{Max: 200}}
	_, url := startServer(t, Config{KB: &KnowledgeBase{Store: st, Ingester: in}})
	return st, url
}

func TestKBEndpoints(t *testing.T) {
	libai := testkit.Shared(t, "data", "7-rag-qa", "chinese-llama-alpaca_langchain_doc_libai.txt")
	_, url := kbServer(t)
	b, _ := os.ReadFile(libai)
	docs := map[string]string{
		"libai.txt":     string(b),
		"lighthouse.md": "# Lighthouses\n\n## Bell Rock\n\nThe Bell Rock Lighthouse was built between 1807 and 1810 off the coast of Angus, Scotland.",
		"coffee.txt":    "Espresso is brewed by forcing hot water through finely ground coffee beans under pressure.",
	}
	for src, text := range docs {
		body, _ := json.Marshal(map[string]string{"source": src, "text": text})
		code, out := post(t, url+"/v1/kb/documents", string(body))
		if code != 200 || !strings.Contains(string(out), `"status":"added"`) {
			t.Fatalf("ingest %s: %d %s", src, code, out)
		}
	}
	// a binary document goes as base64; a bad one is a 400 naming it
	body, _ := json.Marshal(map[string]string{"source": "broken.pdf", "content": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 junk"))})
	if code, out := post(t, url+"/v1/kb/documents", string(body)); code != 400 || !strings.Contains(string(out), "broken.pdf") {
		t.Errorf("broken pdf: %d %s", code, out)
	}

	code, out := post(t, url+"/v1/kb/search", `{"query":"When was the Bell Rock Lighthouse built?","k":2}`)
	var sr struct {
		Query   string     `json:"query"`
		Results []KBResult `json:"results"`
	}
	if code != 200 || json.Unmarshal(out, &sr) != nil || len(sr.Results) != 2 || !strings.Contains(sr.Results[0].Text, "1807") || sr.Results[0].Heading != "Lighthouses > Bell Rock" {
		t.Fatalf("search: %d %s", code, out)
	}
	for _, c := range []struct{ q, answer string }{
		{"李白的字是什么？", "太白"},
		{"李白出生于哪一年？", "701"},
		{"When was the Bell Rock Lighthouse built?", "1807"},
	} {
		body, _ := json.Marshal(map[string]any{"question": c.q, "model": "default", "max_tokens": 8})
		code, out := post(t, url+"/v1/kb/ask", string(body))
		var a KBAnswer
		if code != 200 || json.Unmarshal(out, &a) != nil {
			t.Fatalf("%s: %d %s", c.q, code, out)
		}
		if a.NotFound || len(a.Sources) == 0 || !strings.Contains(a.Sources[0].Text, c.answer) {
			t.Errorf("%s: source [1] does not hold %q: %s", c.q, c.answer, out)
		}
		for _, n := range a.Citations {
			if n < 1 || n > len(a.Sources) {
				t.Errorf("%s: citation [%d] of %d sources", c.q, n, len(a.Sources))
			}
		}
	}
	// streamed: deltas, then the whole answer, then [DONE]
	code, out = post(t, url+"/v1/kb/ask", `{"question":"When was the Bell Rock Lighthouse built?","model":"default","max_tokens":6,"stream":true}`)
	events := strings.Split(strings.TrimSpace(string(out)), "\n\n")
	if code != 200 || len(events) < 3 || !strings.HasPrefix(events[0], `data: {"delta":`) || events[len(events)-1] != "data: [DONE]" || !strings.Contains(events[len(events)-2], `"sources":[{`) {
		t.Errorf("stream: %d %q", code, out)
	}
	// without max_tokens the answer leaves the sources room in the default
	// model's context; an answer budget that leaves none is the client's
	// error, named as such
	code, out = post(t, url+"/v1/kb/ask", `{"question":"When was the Bell Rock Lighthouse built?","model":"default"}`)
	if code != 200 || !strings.Contains(string(out), "1807") {
		t.Errorf("ask without max_tokens: %d %s", code, out)
	}
	code, out = post(t, url+"/v1/kb/ask", `{"question":"When was the Bell Rock Lighthouse built?","model":"default","max_tokens":1000000}`)
	if code != 400 || !strings.Contains(string(out), "context_length_exceeded") || !strings.Contains(string(out), `"param":"max_tokens"`) {
		t.Errorf("ask with max_tokens beyond the model's context: %d %.300s", code, out)
	}
	code, out = post(t, url+"/v1/kb/ask", `{"question":"What is the population of Mongolia?","model":"default"}`)
	if code != 200 || !strings.Contains(string(out), `"not_found":true`) || !strings.Contains(string(out), "Not found in the documents.") {
		t.Errorf("unanswerable: %d %s", code, out)
	}

	// list and delete
	resp, err := http.Get(url + "/v1/kb/documents")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Documents []struct{ ID, Source string } }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Documents) != 3 {
		t.Fatalf("list: %+v", list)
	}
	resp, err = http.Get(url + "/v1/kb")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Documents, Chunks int
		Enabled, Writable bool
	}
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 200 || !info.Enabled || info.Documents != 3 || info.Chunks < 3 || !info.Writable {
		t.Errorf("GET /v1/kb: %s %+v, want enabled, 3 documents, at least 3 chunks, writable", resp.Status, info)
	}
	req, _ := http.NewRequest("DELETE", url+"/v1/kb/documents/"+rag.DocID("coffee.txt"), nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("delete: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	resp, _ = http.DefaultClient.Do(req)
	if resp.StatusCode != 404 {
		t.Errorf("second delete: %s", resp.Status)
	}
	resp.Body.Close()
}

func TestKBEndpointErrors(t *testing.T) {
	_, url := startServer(t, Config{})
	if code, out := post(t, url+"/v1/kb/search", `{"query":"x"}`); code != 404 || !strings.Contains(string(out), "--kb") {
		t.Errorf("no knowledge base: %d %s", code, out)
	}
	resp, err := http.Get(url + "/v1/kb")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"enabled":false`) {
		t.Errorf("GET /v1/kb without a knowledge base: %s %s, want 200 and enabled false (the web page hides its knowledge-base mode on it)", resp.Status, b)
	}
	_, url = kbServer(t)
	for _, c := range []struct{ path, body, param string }{
		{"/v1/kb/search", `{"query":""}`, "query"},
		{"/v1/kb/search", `{"query":"x","k":1000}`, "k"},
		{"/v1/kb/search", `{"query":"x","mode":"fuzzy"}`, "mode"},
		{"/v1/kb/search", `{"query":"x","bogus":1}`, ""},
		{"/v1/kb/documents", `{"source":"","text":"x"}`, "source"},
		{"/v1/kb/documents", `{"source":"a.txt"}`, "text"},
		{"/v1/kb/documents", `{"source":"a.pdf","content":"!!"}`, "content"},
		{"/v1/kb/ask", `{"question":"x","model":"default","max_tokens":-1}`, "max_tokens"},
		{"/v1/kb/ask", `{"question":"","model":"default"}`, "question"},
	} {
		code, out := post(t, url+c.path, c.body)
		if code != 400 || !strings.Contains(string(out), fmt.Sprintf(`"param":%q`, c.param)) && c.param != "" {
			t.Errorf("%s %s: %d %s", c.path, c.body, code, out)
		}
	}
}
