module github.com/gptgo/gptgo

go 1.26.0

require golang.org/x/sys v0.50.0

require (
	github.com/abadojack/whatlanggo v1.0.1 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
