package gguf

import "sort"

func sortByOffset(order []int, ts []TensorInfo) {
	sort.Slice(order, func(i, j int) bool { return ts[order[i]].Offset < ts[order[j]].Offset })
}
