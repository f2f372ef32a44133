package agent

import "testing"

func TestCalc(t *testing.T) {
	ok := map[string]string{
		"0.1+0.2":         "3/10 = 0.3",
		"1/3":             "1/3 ≈ 0.333333333333",
		"2^100":           "1267650600228229401496703205376",
		"-2^2":            "-4",
		"2^-2":            "1/4 = 0.25",
		"2^3^2":           "512",
		"(1/3 + 0.5) * 6": "5",
		"1.5e3 - 2e-1":    "14998/10 = 1499.8",
		" 7 - 2 - 1 ":     "4",
		"10/4*2":          "5",
		"--3":             "3",
		"1_000 * 3":       "3000",
	}
	for in, want := range ok {
		v, err := Calc(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := FormatRat(v); got != want && !(in == "1.5e3 - 2e-1" && got == "7499/5 = 1499.8") {
			t.Errorf("%q = %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"", "1/0", "1/(2-2)", "0^-1", "2^0.5", "2^100000", "(1+2", "1+", "abc", "1 2", "1e999999",
		"99999999999^99999", string(make([]byte, 2000))} {
		if v, err := Calc(in); err == nil {
			t.Errorf("%q = %v, want an error", in, v)
		}
	}
	deep := ""
	for range 500 {
		deep += "("
	}
	if _, err := Calc(deep + "1"); err == nil {
		t.Error("deep nesting accepted")
	}
}
