// Reference: RFC 3339 (the time format) and the IANA time zone database (time.LoadLocation).

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// TimeTool tells the current time; now is the clock (time.Now when nil),
// a field so tests can fix it.
func TimeTool(now func() time.Time) Tool {
	if now == nil {
		now = time.Now
	}
	return &FuncTool{
		ToolSpec: ToolSpec{
			Name:        "time",
			Description: "The current date and time, in UTC or an IANA zone such as Europe/Paris.",
			Parameters:  schema(map[string]map[string]any{"zone": prop("string", "IANA time zone name; default UTC")}),
		},
		Fn: func(_ context.Context, args json.RawMessage) (string, error) {
			var a struct{ Zone string }
			if err := decodeArgs("time", args, &a); err != nil {
				return "", err
			}
			loc := time.UTC
			if a.Zone != "" {
				l, err := time.LoadLocation(a.Zone)
				if err != nil {
					return "", fmt.Errorf("time: zone %q: %v", a.Zone, err)
				}
				loc = l
			}
			t := now().In(loc)
			return t.Format(time.RFC3339) + " (" + t.Weekday().String() + ")", nil
		},
	}
}
