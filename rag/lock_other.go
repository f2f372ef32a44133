// Reference: lock_unix.go; without flock the store is not locked (one process at a time
// remains the rule, unenforced).

//go:build !unix

package rag

import "os"

func lockDir(string) (*os.File, error) { return nil, nil }
