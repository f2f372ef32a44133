package testkit

import "testing"

func TestClose(t *testing.T) {
	if !Close(1.0, 1.0005, 0, 1e-3) || Close(1.0, 1.01, 0, 1e-3) || Close(0, 1e-3, 1e-4, 0) {
		t.Fatal("Close gives the wrong verdict")
	}
}

func TestNMSE(t *testing.T) {
	if got := NMSE([]float32{1, 2}, []float32{1, 2}); got != 0 {
		t.Fatalf("NMSE of equal = %v", got)
	}
	if got := NMSE([]float64{0, 3}, []float64{0, 4}); got != 1.0/16 {
		t.Fatalf("NMSE = %v, want 1/16", got)
	}
}

func TestGuards(t *testing.T) {
	s, full := Guarded(5, 3)
	s[0], s[4] = 1, 2
	CheckGuards(t, full, 5, 3)
	if len(s) != 5 || cap(s) != 5 {
		t.Fatalf("len %d cap %d", len(s), cap(s))
	}
}
