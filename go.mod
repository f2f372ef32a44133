module github.com/gptgo/gptgo

go 1.26.0

require (
	github.com/abadojack/whatlanggo v1.0.1
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.50.0
	golang.org/x/text v0.43.0
)
