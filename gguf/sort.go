// Reference: ggml/src/gguf.cpp (tensor data is laid out by offset).

package gguf

import "sort"

// sortByOffset orders tensor indices by data offset, keeping file order on ties.
func sortByOffset(order []int, ts []TensorInfo) {
	sort.SliceStable(order, func(i, j int) bool { return ts[order[i]].Offset < ts[order[j]].Offset })
}
