// Reference: encoding/json (Decoder.DisallowUnknownFields, SyntaxError, UnmarshalTypeError) and
// OpenAI's error objects for invalid requests (param names the field at fault).

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// decodeBody reads r's JSON body into v strictly: one JSON value, known
// fields only. Its errors are *Error values that say what is wrong and
// where (a 413 for a body over the limit).
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		return Errorf(KindBadRequest, "", "reading the request body: %v", err)
	}
	return decodeJSON(b, v)
}

// decodeJSON is decodeBody on bytes (the fuzz targets call it directly).
func decodeJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return Errorf(KindBadRequest, "", "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(KindBadRequest, "", "invalid JSON: more data after the request object")
	}
	return nil
}

// jsonError turns encoding/json's errors into client errors.
func jsonError(err error) error {
	var e *Error
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &syn):
		return Errorf(KindBadRequest, "", "invalid JSON at byte %d: %v", syn.Offset, syn)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(KindBadRequest, "", "invalid JSON: the body ends in the middle of a value")
	case errors.As(err, &typ):
		field := jsonPath(typ.Field)
		if field == "" {
			return Errorf(KindBadRequest, "", "the request must be a JSON object, not a %s", typ.Value)
		}
		return Errorf(KindBadRequest, field, "%s: expected %s, got a JSON %s", field, jsonTypeName(typ.Type.String()), typ.Value)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return Errorf(KindBadRequest, name, "unknown field %q (gptgo rejects fields it would otherwise ignore)", name)
	}
	return Errorf(KindBadRequest, "", "invalid request: %s", strings.TrimPrefix(msg, "json: "))
}

// embedded names the Go structs embedded in the wire types, which
// encoding/json puts in an error's field path though JSON has no such level.
var embedded = map[string]bool{"samplingExtensions": true, "ignoredFields": true, "unsupported": true}

// jsonPath is a field path as the client wrote it.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	keep := parts[:0]
	for _, p := range parts {
		if !embedded[p] {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ".")
}

// jsonTypeName says a Go type the way a JSON client thinks of it.
func jsonTypeName(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["):
		return "an object"
	}
	return fmt.Sprintf("a %s", strings.TrimPrefix(t, "server."))
}
