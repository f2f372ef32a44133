package kernel

import (
	"math"
	"testing"
	"unsafe"
)

// F32Bytes and BytesF32 are views of the same memory, in GGUF's byte order.
func TestF32BytesView(t *testing.T) {
	if F32Bytes(nil) != nil || BytesF32(nil) != nil {
		t.Fatal("empty input should give a nil view")
	}
	x := []float32{1, -2.5, 3e-8}
	b := F32Bytes(x)
	if len(b) != 12 {
		t.Fatalf("len = %d, want 12", len(b))
	}
	for i, v := range x {
		if got := f32at(b, 4*i); got != v {
			t.Errorf("byte view of x[%d] reads %v, want %v", i, got, v)
		}
	}
	y := BytesF32(b)
	y[1] = 7
	if x[1] != 7 {
		t.Error("BytesF32 copied instead of aliasing")
	}
	if math.Float32bits(x[0]) != uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24 {
		t.Error("view is not little-endian")
	}
}

func TestBytesF32Misaligned(t *testing.T) {
	b := make([]byte, 16)
	off := 1
	if uintptr(unsafe.Pointer(&b[0]))%4 == 3 {
		off = 2
	}
	defer func() {
		if recover() == nil {
			t.Error("misaligned view did not panic")
		}
	}()
	BytesF32(b[off : off+8])
}
