// Reference: golang.org/x/crypto's purego build tag (the assembly kernels when it is absent).

//go:build !purego

package eval

// pureGo: see purego_on_test.go.
const pureGo = false
