// Reference: GGUF specification (ggml/docs/gguf.md); output modelled on gguf-py's gguf_dump.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/gptgo/gptgo/gguf"
)

func init() {
	register(&command{
		name:    "inspect",
		summary: "show a GGUF file's metadata, tensors and totals",
		usage:   "[FILE] [--json] [--full]   (FILE defaults to the embedded default model)",
		run:     runInspect,
	})
}

// arrayHead is how many elements of a long array inspect shows.
const arrayHead = 8

func runInspect(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "inspect", "[FILE] [--json] [--full]\n\nShows FILE's metadata, tensors and totals; without FILE, the embedded default model's.")
	asJSON := fs.Bool("json", false, "print one JSON object (for scripts)")
	full := fs.Bool("full", false, "print arrays whole instead of their first elements")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return errUsage
	}
	path := ""
	if len(pos) == 1 {
		path = pos[0]
	}
	f, err := openGGUF(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rep := inspectFile(displayName(path), f, *full)
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.print(e.stdout)
}

// inspectReport is what inspect shows; its JSON form is the --json output.
type inspectReport struct {
	Path       string          `json:"path"`
	Size       int             `json:"size"`
	Version    uint32          `json:"version"`
	Alignment  int             `json:"alignment"`
	DataOffset int64           `json:"data_offset"`
	Metadata   []inspectKV     `json:"metadata"`
	Tensors    []inspectTensor `json:"tensors"`
	Totals     inspectTotals   `json:"totals"`
}

type inspectKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`           // "u32", "string", "array"
	Elem  string `json:"elem,omitempty"` // element type of an array
	Len   int    `json:"len,omitempty"`  // length of an array
	Value any    `json:"value"`          // scalar, or the (first elements of the) array
}

type inspectTensor struct {
	Name   string  `json:"name"`
	DType  string  `json:"dtype"`
	Shape  []int64 `json:"shape"`
	Bytes  int64   `json:"bytes"`
	Offset uint64  `json:"offset"` // relative to the data section
}

type inspectTotals struct {
	Tensors    int                   `json:"tensors"`
	Parameters int64                 `json:"parameters"`
	Bytes      int64                 `json:"bytes"`
	ByDType    map[string]dtypeTotal `json:"by_dtype"`
}

type dtypeTotal struct {
	Tensors    int   `json:"tensors"`
	Parameters int64 `json:"parameters"`
	Bytes      int64 `json:"bytes"`
}

func inspectFile(path string, f *gguf.File, full bool) *inspectReport {
	rep := &inspectReport{Path: path, Size: len(f.Bytes()), Version: f.Version, Alignment: f.Alignment, DataOffset: f.DataOffset}
	for _, kv := range f.KV {
		rep.Metadata = append(rep.Metadata, summarise(kv, full))
	}
	rep.Totals.ByDType = map[string]dtypeTotal{}
	for _, ti := range f.Tensors {
		rep.Tensors = append(rep.Tensors, inspectTensor{ti.Name, ti.DType.String(), ti.Shape, ti.Size, ti.Offset})
		n := ti.Elements()
		rep.Totals.Tensors++
		rep.Totals.Parameters += n
		rep.Totals.Bytes += ti.Size
		d := rep.Totals.ByDType[ti.DType.String()]
		d.Tensors++
		d.Parameters += n
		d.Bytes += ti.Size
		rep.Totals.ByDType[ti.DType.String()] = d
	}
	return rep
}

func summarise(kv gguf.KV, full bool) inspectKV {
	v := kv.Value
	out := inspectKV{Key: kv.Key, Type: v.Type.String(), Value: jsonSafe(v.X)}
	if v.Type != gguf.TypeArray {
		return out
	}
	out.Elem, out.Len = v.Elem.String(), v.Len()
	n := out.Len
	if !full {
		n = min(n, arrayHead)
	}
	out.Value = head(v, n, full)
	return out
}

// head returns the first n elements of an array value as []any.
func head(v gguf.Value, n int, full bool) []any {
	out := make([]any, 0, n)
	switch x := v.X.(type) {
	case []gguf.Value:
		for _, e := range x[:n] {
			s := summarise(gguf.KV{Value: e}, full)
			out = append(out, map[string]any{"elem": s.Elem, "len": s.Len, "value": s.Value})
		}
	default:
		for i := range n {
			out = append(out, jsonSafe(index(x, i)))
		}
	}
	return out
}

// index returns element i of one of gguf's typed array slices.
func index(x any, i int) any {
	switch s := x.(type) {
	case []uint8:
		return s[i]
	case []int8:
		return s[i]
	case []uint16:
		return s[i]
	case []int16:
		return s[i]
	case []uint32:
		return s[i]
	case []int32:
		return s[i]
	case []float32:
		return s[i]
	case []bool:
		return s[i]
	case []string:
		return s[i]
	case []uint64:
		return s[i]
	case []int64:
		return s[i]
	case []float64:
		return s[i]
	}
	return nil
}

// jsonSafe turns NaN and ±Inf, which JSON cannot hold, into strings.
func jsonSafe(x any) any {
	switch f := x.(type) {
	case float32:
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Sprint(f)
		}
	case float64:
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f)
		}
	case []float32, []float64, []uint8:
		// Whole arrays (--full): encode element by element.
		n := gguf.Value{X: x}.Len()
		out := make([]any, n)
		for i := range out {
			out[i] = jsonSafe(index(x, i))
		}
		return out
	}
	return x
}

func (r *inspectReport) print(w io.Writer) error {
	fmt.Fprintf(w, "%s: GGUF v%d, %s, alignment %d, data at offset %d\n", r.Path, r.Version, humanBytes(int64(r.Size)), r.Alignment, r.DataOffset)
	fmt.Fprintf(w, "\nmetadata (%s):\n", plural(len(r.Metadata), "1 key", "%d keys"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range r.Metadata {
		typ := kv.Type
		if kv.Type == "array" {
			typ = fmt.Sprintf("[%s × %d]", kv.Elem, kv.Len)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", kv.Key, typ, formatValue(kv))
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntensors (%d):\n", len(r.Tensors))
	// Numbers align right; names are padded by hand to stay on the left.
	nw := len("name")
	for _, t := range r.Tensors {
		nw = max(nw, len(t.Name))
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %-*s\tdtype\tshape\tbytes\toffset\t\n", nw, "name")
	for _, t := range r.Tensors {
		fmt.Fprintf(tw, "  %-*s\t%s\t%s\t%d\t%d\t\n", nw, t.Name, t.DType, shapeString(t.Shape), t.Bytes, t.Offset)
	}
	tw.Flush()
	tot := r.Totals
	fmt.Fprintf(w, "\ntotals: %s, %s parameters, %s of tensor data\n", plural(tot.Tensors, "1 tensor", "%d tensors"), humanCount(tot.Parameters), humanBytes(tot.Bytes))
	names := make([]string, 0, len(tot.ByDType))
	for n := range tot.ByDType {
		names = append(names, n)
	}
	// Largest share first: that is what a reader looks for.
	sort.Slice(names, func(i, j int) bool { return tot.ByDType[names[i]].Bytes > tot.ByDType[names[j]].Bytes })
	for _, n := range names {
		d := tot.ByDType[n]
		fmt.Fprintf(w, "  %-7s %12s  %10s parameters  %10s\n", n, plural(d.Tensors, "1 tensor", "%d tensors"), humanCount(d.Parameters), humanBytes(d.Bytes))
	}
	return nil
}

func formatValue(kv inspectKV) string {
	if kv.Type != "array" {
		return formatScalar(kv.Value)
	}
	items := kv.Value.([]any)
	parts := make([]string, len(items))
	for i, x := range items {
		if m, ok := x.(map[string]any); ok {
			parts[i] = fmt.Sprintf("[%v × %v]", m["elem"], m["len"])
			continue
		}
		parts[i] = formatScalar(x)
	}
	s := "[" + strings.Join(parts, ", ")
	if len(items) < kv.Len {
		s += ", …"
	}
	return s + "]"
}

// formatScalar quotes strings (cut at 60 characters: chat templates are long).
func formatScalar(x any) string {
	if s, ok := x.(string); ok {
		if r := []rune(s); len(r) > 60 {
			return fmt.Sprintf("%q… (%d bytes)", string(r[:60]), len(s))
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(x)
}

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
