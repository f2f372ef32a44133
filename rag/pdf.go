package rag

import "fmt"

func LoadPDF(b []byte) ([]Section, error) { return nil, fmt.Errorf("pdf: not yet") }
