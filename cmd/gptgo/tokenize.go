// Reference: llama.cpp examples/tokenize/tokenize.cpp (llama-tokenize: ids
// and pieces of a prompt, BOS and special parsing switches).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "tokenize",
		summary: "print the token ids and pieces of a text under a model's tokenizer",
		usage:   "[MODEL] [TEXT] [--json] [--no-bos] [--no-parse-special]   (MODEL defaults to the embedded default model, TEXT to stdin)",
		run:     runTokenize,
	})
}

func runTokenize(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tokenize", "[MODEL] [TEXT] [flags]\n\nMODEL is a .gguf file or a tokenizer file: .tiktoken, tokenizer.json, SentencePiece .model, llama2.c .bin;\nwithout it, the embedded default model's tokenizer. TEXT defaults to stdin.")
	asJSON := fs.Bool("json", false, "print one JSON object {ids, pieces, text}")
	noBOS := fs.Bool("no-bos", false, "do not add BOS/EOS even where the model asks for them")
	noSpecial := fs.Bool("no-parse-special", false, "treat special-token text such as <|im_start|> as plain text")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 2 {
		return errUsage
	}
	path, pos, err := tokenizerArg(pos)
	if err != nil {
		return err
	}
	text, err := promptText(ctx, e, pos)
	if err != nil {
		return err
	}
	tok, err := loadTokenizer(path)
	if err != nil {
		return err
	}
	ids := tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: !*noBOS, ParseSpecial: !*noSpecial})
	if *asJSON {
		out := struct {
			IDs    []int32  `json:"ids"`
			Pieces []string `json:"pieces"`
			Text   string   `json:"text"`
		}{IDs: ids, Pieces: make([]string, len(ids)), Text: text}
		for i, id := range ids {
			out.Pieces[i] = tok.Piece(id)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	for _, id := range ids {
		fmt.Fprintf(e.stdout, "%6d -> %q\n", id, tok.TokenBytes(id))
	}
	fmt.Fprintf(e.stderr, "%s; vocabulary: %v\n", plural(len(ids), "1 token", "%d tokens"), tok)
	return nil
}

// tokenizerArg picks the tokenizer file from the positionals: the first of
// two; a lone one when it exists, is a directory, or has a tokenizer file's
// extension; else none ("": the default model's) and the lone one is text.
func tokenizerArg(pos []string) (string, []string, error) {
	if len(pos) == 0 {
		return "", pos, nil
	}
	p := pos[0]
	if len(pos) == 2 || hasTokenizerExt(p) || isDir(p) {
		return p, pos[1:], checkModelFile(p)
	}
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p, pos[1:], nil
	}
	return "", pos, nil
}

// hasTokenizerExt reports whether name ends as a file tokenizer.Load reads.
func hasTokenizerExt(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".gguf", ".json", ".model", ".tiktoken", ".bin"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// loadTokenizer loads the tokenizer of the file at path, or of the
// embedded default model for "".
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if path != "" {
		return tokenizer.Load(path)
	}
	f, err := models.OpenDefault()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", models.DefaultName, err)
	}
	return tok, nil
}
