// Reference: llama.cpp examples/tokenize/tokenize.cpp (llama-tokenize: ids
// and pieces of a prompt, BOS and special parsing switches).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "tokenize",
		summary: "print the token ids and pieces of a text under a model's tokenizer",
		usage:   "MODEL [TEXT] [--json] [--no-bos] [--no-parse-special]   (TEXT defaults to stdin)",
		run:     runTokenize,
	})
}

func runTokenize(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tokenize", "MODEL [TEXT] [flags]\n\nMODEL is a .gguf file or a tokenizer file: .tiktoken, tokenizer.json, SentencePiece .model.")
	asJSON := fs.Bool("json", false, "print one JSON object {ids, pieces, text}")
	noBOS := fs.Bool("no-bos", false, "do not add BOS/EOS even where the model asks for them")
	noSpecial := fs.Bool("no-parse-special", false, "treat special-token text such as <|im_start|> as plain text")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return errUsage
	}
	var text string
	if len(pos) == 2 {
		text = pos[1]
	} else {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return fmt.Errorf("reading stdin: %w", err)
		}
		text = strings.TrimSuffix(string(b), "\n")
	}
	tok, err := tokenizer.Load(pos[0])
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
	fmt.Fprintf(e.stderr, "%d tokens; vocabulary: %v\n", len(ids), tok)
	return nil
}
