// Reference: llama.cpp tools/server/utils.hpp (one error_type enum → HTTP status and OpenAI type),
// OpenAI's error object ({"error":{"message","type","param","code"}}) and Ollama's ({"error":"..."}).

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/modelstore"
)

// ErrKind is a kind of failure; errTable gives each its HTTP status and
// OpenAI error type.
type ErrKind int

const (
	KindServer       ErrKind = iota // a bug or an I/O failure on our side
	KindBadRequest                  // malformed JSON, wrong types, unknown fields, bad values
	KindAuth                        // missing or wrong API key
	KindNotFound                    // unknown model or path
	KindMethod                      // the path exists, the method does not
	KindTooLarge                    // the body exceeds the limit
	KindContext                     // the prompt does not fit the context
	KindNotSupported                // a feature gptgo does not have yet (tools, response_format)
	KindUnavailable                 // no room to load the model now; shutting down
)

var errTable = [...]struct {
	status int
	typ    string // OpenAI's error.type
	code   string // OpenAI's error.code, when it has one for the kind
}{
	KindServer:       {http.StatusInternalServerError, "server_error", ""},
	KindBadRequest:   {http.StatusBadRequest, "invalid_request_error", ""},
	KindAuth:         {http.StatusUnauthorized, "authentication_error", "invalid_api_key"},
	KindNotFound:     {http.StatusNotFound, "not_found_error", ""},
	KindMethod:       {http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed"},
	KindTooLarge:     {http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large"},
	KindContext:      {http.StatusBadRequest, "invalid_request_error", "context_length_exceeded"},
	KindNotSupported: {http.StatusBadRequest, "invalid_request_error", "not_supported"},
	KindUnavailable:  {http.StatusServiceUnavailable, "unavailable_error", ""},
}

// Error is a failure with its kind, shown to the client as Msg. Param
// names the request field at fault (OpenAI's error.param), if any.
type Error struct {
	Kind  ErrKind
	Msg   string
	Param string
	Code  string // overrides the table's code
}

func (e *Error) Error() string { return e.Msg }

// Errorf makes an *Error of kind about param ("" for none).
func Errorf(kind ErrKind, param, format string, args ...any) *Error {
	return &Error{Kind: kind, Param: param, Msg: fmt.Sprintf(format, args...)}
}

// asError classifies any error: an *Error as it is, the errors of the
// packages below by their sentinels, anything else as a server error.
func asError(err error) *Error {
	var e *Error
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &mb):
		return Errorf(KindTooLarge, "", "the request body is larger than the limit of %d bytes", mb.Limit)
	case errors.Is(err, generate.ErrPromptTooLong):
		return &Error{Kind: KindContext, Msg: err.Error(), Param: "messages"}
	case errors.Is(err, modelstore.ErrNotFound):
		return &Error{Kind: KindNotFound, Msg: err.Error(), Param: "model", Code: "model_not_found"}
	case errors.Is(err, modelstore.ErrInvalidName):
		return &Error{Kind: KindBadRequest, Msg: err.Error(), Param: "model"}
	}
	return &Error{Kind: KindServer, Msg: err.Error()}
}

// statusClientClosed is nginx's "client closed request", logged for a
// request whose client left before its answer.
const statusClientClosed = 499

// Status is the HTTP status of err.
func Status(err error) int { return errTable[asError(err).Kind].status }

// isOllamaPath tells the Ollama API's paths (Ollama's envelope) from the
// rest (OpenAI's).
func isOllamaPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }

// openAIError is OpenAI's error object.
type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// openAIErrorBody is the object of an OpenAI error, for both a response body
// and an SSE error event.
func openAIErrorBody(err error) any {
	e := asError(err)
	t := errTable[e.Kind]
	o := openAIError{Message: e.Msg, Type: t.typ}
	if e.Param != "" {
		o.Param = &e.Param
	}
	code := e.Code
	if code == "" {
		code = t.code
	}
	if code != "" {
		o.Code = &code
	}
	return struct {
		Error openAIError `json:"error"`
	}{o}
}

// ollamaErrorBody is Ollama's error object.
func ollamaErrorBody(err error) any {
	return struct {
		Error string `json:"error"`
	}{asError(err).Msg}
}

// WriteError answers r with err: its status and the envelope of r's API
// (Ollama's under /api, OpenAI's elsewhere). Only before anything else has
// been written; a stream reports errors as events instead.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away: nobody reads this, but the log line and
		// the metrics say so (nginx's 499) rather than blaming the server.
		w.WriteHeader(statusClientClosed)
		return
	}
	e := asError(err)
	var body any
	if isOllamaPath(r.URL.Path) {
		body = ollamaErrorBody(e)
	} else {
		body = openAIErrorBody(e)
	}
	if e.Kind == KindAuth {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gptgo"`)
	}
	if e.Kind == KindUnavailable {
		w.Header().Set("Retry-After", "1") // a full queue, a model that does not fit now: worth retrying
	}
	writeJSON(w, errTable[e.Kind].status, body)
}

// writeJSON writes v as the whole response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"server: encoding the response failed","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
