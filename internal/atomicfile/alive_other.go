// Reference: none; without kill(2) a leftover cannot be told from a live writer's file.

//go:build !unix

package atomicfile

// processAlive answers true: leftovers are kept rather than risking the
// pending file of a live writer.
func processAlive(pid int) bool { return true }
