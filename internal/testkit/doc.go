// Package testkit holds helpers shared by gptgo's tests: tolerance checks,
// normalised error, guarded slices that catch out-of-bounds writes, and the
// location of the read-only reference material in ../shared.
package testkit
