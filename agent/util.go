// Reference: none (small helpers shared by the tools).

package agent

import (
	"bytes"
	"io"
	"strconv"
	"unicode/utf8"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// capText cuts s to at most n bytes on a rune boundary, saying how much
// was cut, so that one large observation cannot fill the context.
func capText(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "\n[… " + strconv.Itoa(len(s)-cut) + " more bytes cut]"
}
