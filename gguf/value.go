// Reference: GGUF specification (ggml/docs/gguf.md), "Metadata value types".

package gguf

import "fmt"

// Type is the on-disk type of a metadata value (gguf_metadata_value_type).
type Type uint32

const (
	TypeUint8   Type = 0
	TypeInt8    Type = 1
	TypeUint16  Type = 2
	TypeInt16   Type = 3
	TypeUint32  Type = 4
	TypeInt32   Type = 5
	TypeFloat32 Type = 6
	TypeBool    Type = 7
	TypeString  Type = 8
	TypeArray   Type = 9
	TypeUint64  Type = 10
	TypeInt64   Type = 11
	TypeFloat64 Type = 12
)

var typeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint32(t))
}

// Value is one metadata value. Scalars hold the Go type of the same width
// (uint8 … float64, bool, string). Arrays hold a typed slice: []uint8 …
// []float64, []bool, []string, or []Value for arrays of arrays; Elem is the
// element type.
type Value struct {
	Type Type
	Elem Type // element type when Type == TypeArray
	X    any
}

// KV is one metadata entry, in file order.
type KV struct {
	Key   string
	Value Value
}

// Uint returns an integer value (of any integer type) that is >= 0.
func (v Value) Uint() (uint64, bool) {
	switch x := v.X.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Int returns an integer value of any integer type that fits in int64.
func (v Value) Int() (int64, bool) {
	switch x := v.X.(type) {
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), x <= 1<<63-1
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// Float returns a float (or integer) value as float64.
func (v Value) Float() (float64, bool) {
	switch x := v.X.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := v.Int(); ok {
		return float64(i), true
	}
	return 0, false
}

// Bool returns a boolean value.
func (v Value) Bool() (bool, bool) { b, ok := v.X.(bool); return b, ok }

// String returns a string value.
func (v Value) String() (string, bool) { s, ok := v.X.(string); return s, ok }

// Strings returns an array of strings.
func (v Value) Strings() ([]string, bool) { s, ok := v.X.([]string); return s, ok }

// Float32s returns an array of float32 (f32 arrays only).
func (v Value) Float32s() ([]float32, bool) { s, ok := v.X.([]float32); return s, ok }

// Int32s returns an array of int32 (i32 arrays only, as token types are stored).
func (v Value) Int32s() ([]int32, bool) { s, ok := v.X.([]int32); return s, ok }

// Len returns the number of elements of an array value, or 0.
func (v Value) Len() int {
	switch x := v.X.(type) {
	case []uint8:
		return len(x)
	case []int8:
		return len(x)
	case []uint16:
		return len(x)
	case []int16:
		return len(x)
	case []uint32:
		return len(x)
	case []int32:
		return len(x)
	case []float32:
		return len(x)
	case []bool:
		return len(x)
	case []string:
		return len(x)
	case []uint64:
		return len(x)
	case []int64:
		return len(x)
	case []float64:
		return len(x)
	case []Value:
		return len(x)
	}
	return 0
}
