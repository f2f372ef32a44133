// Reference: Ollama's docs/api.md, "Create a Model" (POST /api/create: model, from, template,
// system, parameters, license, quantize, stream; the older modelfile field; a stream of
// {"status": …} objects ending with {"status": "success"}).

package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/quant"
)

// ollamaCreateRequest is the body of POST /api/create.
type ollamaCreateRequest struct {
	Model        string                     `json:"model"`
	Name         string                     `json:"name"` // the older spelling of model
	From         string                     `json:"from"`
	Modelfile    string                     `json:"modelfile"` // the older way: a Modelfile's text
	Template     *string                    `json:"template"`
	System       *string                    `json:"system"`
	Parameters   map[string]json.RawMessage `json:"parameters"`
	License      json.RawMessage            `json:"license"` // a string or an array of them
	Quantize     string                     `json:"quantize"`
	Quantization string                     `json:"quantization"` // the older spelling of quantize
	Stream       *bool                      `json:"stream"`
	// Refused: files must be uploaded as blobs first, which gptgo does not
	// take; models arrive as files in the models directory instead.
	Files    json.RawMessage `json:"files"`
	Adapters json.RawMessage `json:"adapters"`
	Messages json.RawMessage `json:"messages"`
	Path     string          `json:"path"`
}

// modelfile turns the request into a Modelfile: the older modelfile text,
// then the newer fields over it.
func (c *ollamaCreateRequest) modelfile() (*modelstore.Modelfile, error) {
	switch {
	case isSet(c.Files) || c.Path != "":
		return nil, Errorf(KindNotSupported, "files", "files: gptgo takes no uploaded blobs; put the GGUF file in the models directory (or use gptgo create) and name it in from")
	case isSet(c.Adapters):
		return nil, Errorf(KindNotSupported, "adapters", "adapters: LoRA adapters are not supported by create")
	case isSet(c.Messages):
		return nil, Errorf(KindNotSupported, "messages", "messages: seeded conversations (MESSAGE) are not supported")
	}
	mf := &modelstore.Modelfile{}
	if c.Modelfile != "" {
		parsed, err := modelstore.ParseModelfile(c.Modelfile)
		if err != nil {
			return nil, Errorf(KindBadRequest, "modelfile", "modelfile: %v", err)
		}
		mf = parsed
	}
	if c.From != "" {
		mf.From = c.From
	}
	if mf.From == "" {
		return nil, Errorf(KindBadRequest, "from", "from: name the model to start from (see GET /api/tags)")
	}
	if c.Template != nil {
		if err := modelstore.CheckTemplate(*c.Template); err != nil {
			return nil, Errorf(KindBadRequest, "template", "template: %v", err)
		}
		mf.Template = c.Template
	}
	if c.System != nil {
		mf.System = c.System
	}
	if isSet(c.License) {
		var one string
		var many []string
		if json.Unmarshal(c.License, &one) == nil {
			many = []string{one}
		} else if err := json.Unmarshal(c.License, &many); err != nil {
			return nil, Errorf(KindBadRequest, "license", "license: expected a string or an array of strings")
		}
		mf.License = many
	}
	names := make([]string, 0, len(c.Parameters))
	for name := range c.Parameters {
		names = append(names, name)
	}
	sort.Strings(names)
	given := map[string]bool{}
	for _, name := range names {
		p, ok := modelstore.Params[name]
		if !ok {
			return nil, Errorf(KindBadRequest, "parameters", "parameters: unknown parameter %q", name)
		}
		vals, err := optionValues(name, p.Kind, c.Parameters[name])
		if err != nil {
			return nil, err
		}
		if !given[name] { // the request's values replace the Modelfile's of that name
			given[name] = true
			kept := mf.Parameters[:0]
			for _, q := range mf.Parameters {
				if q.Name != name {
					kept = append(kept, q)
				}
			}
			mf.Parameters = kept
		}
		for _, v := range vals {
			norm, err := modelstore.CheckParam(name, v)
			if err != nil {
				return nil, Errorf(KindBadRequest, "parameters", "parameters: %v", err)
			}
			mf.Parameters = append(mf.Parameters, modelstore.Parameter{Name: name, Value: norm})
		}
	}
	return mf, nil
}

// ollamaCreate serves POST /api/create. FROM names a model of the store,
// never a file: a request from the network cannot make the server read its
// disk. The model is written atomically; the stream says what happens.
func (s *Server) ollamaCreate(w http.ResponseWriter, r *http.Request) {
	var req ollamaCreateRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	name, err := ollamaModelName(req.Model, req.Name) // ollama_models.go
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if _, _, _, err := modelstore.ParseName(name); err != nil {
		WriteError(w, r, err)
		return
	}
	q := req.Quantize
	if q == "" {
		q = req.Quantization
	}
	if q != "" {
		if _, err := quant.ParseFileType(q); err != nil {
			WriteError(w, r, Errorf(KindBadRequest, "quantize", "quantize: %v", err))
			return
		}
	}
	mf, err := req.modelfile()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	// What can fail at once fails before the stream starts, with its status.
	if canon, _, _, _ := modelstore.ParseName(name); canon == modelstore.DefaultModel {
		WriteError(w, r, Errorf(KindBadRequest, "model", "model %s: %v (choose another name)", canon, modelstore.ErrReadOnly))
		return
	}
	if _, err := s.cfg.Models.Resolve(mf.From); err != nil {
		if errors.Is(err, modelstore.ErrNotFound) {
			err = &Error{Kind: KindNotFound, Msg: fmt.Sprintf("from: model '%s' not found", mf.From), Param: "from"}
		} else if errors.Is(err, modelstore.ErrInvalidName) {
			err = &Error{Kind: KindBadRequest, Msg: fmt.Sprintf("from: %v (a model of the models directory; files are not read over the API)", err), Param: "from"}
		}
		WriteError(w, r, err)
		return
	}
	stream := req.Stream == nil || *req.Stream
	nd := newNDJSON(w)
	status := func(msg string) {
		if stream {
			nd.send(map[string]string{"status": msg})
		}
	}
	status("reading model metadata")
	if q != "" {
		status("quantizing to " + q)
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	_, err = s.cfg.Models.Create(ctx, name, mf, modelstore.CreateOptions{Quantize: q, ModelsOnly: true})
	if err != nil {
		err = modelError(err)
		if nd.started {
			nd.send(ollamaErrorBody(err))
		} else {
			WriteError(w, r, err)
		}
		return
	}
	if stream {
		status("writing model")
		status("success")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}
