// Reference: Ollama's `ollama list` (NAME, SIZE, MODIFIED columns; sizes in
// decimal units, times relative to now).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"
)

func init() {
	register(&command{
		name:    "list",
		summary: "list the models of the models directory (name, size, type, parameters, modified)",
		usage:   "[--models DIR] [--json]",
		run:     runList,
	})
}

// listItem is one model in `gptgo list --json`.
type listItem struct {
	Name         string    `json:"name"`
	Path         string    `json:"path,omitempty"`
	Embedded     bool      `json:"embedded,omitempty"`
	Size         int64     `json:"size"`
	Modified     time.Time `json:"modified"`
	Family       string    `json:"family,omitempty"`
	Parameters   string    `json:"parameter_size,omitempty"`
	Quantization string    `json:"quantization_level,omitempty"`
	Error        string    `json:"error,omitempty"`
}

func runList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "list", "[--models DIR] [--json]")
	dir := modelsFlag(fs)
	asJSON := fs.Bool("json", false, "print a JSON array (for scripts)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errUsage
	}
	s, err := openModels(*dir)
	if err != nil {
		return err
	}
	entries, err := s.List()
	if err != nil {
		return err
	}
	items := make([]listItem, len(entries))
	for i, m := range entries {
		items[i] = listItem{Name: m.Name, Path: m.Path, Embedded: m.Embedded, Size: m.Size, Modified: m.Modified,
			Family: m.Details.Family, Quantization: m.Details.QuantizationLevel}
		if m.Details.ParameterCount > 0 {
			items[i].Parameters = m.Details.ParameterSize()
		}
		if m.Err != nil {
			items[i].Error = m.Err.Error()
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tTYPE\tPARAMETERS\tARCH\tMODIFIED")
	now := time.Now()
	for _, it := range items {
		if it.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t%s\t(unreadable: %s)\n", it.Name, decimalSize(it.Size), ago(now, it.Modified), it.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.Name, decimalSize(it.Size), dash(it.Quantization), dash(it.Parameters), dash(it.Family), ago(now, it.Modified))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// decimalSize writes a size as Ollama's list does ("6.5 MB", "4.7 GB").
func decimalSize(n int64) string {
	f := float64(n)
	switch {
	case f >= 1e9:
		return fmt.Sprintf("%.1f GB", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.1f MB", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.1f KB", f/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// ago writes t relative to now ("3 minutes ago"); "-" for the zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	unit := func(n int64, u string) string {
		if n == 1 {
			return "1 " + u + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, u)
	}
	switch {
	case d < 0:
		return t.Format("2006-01-02 15:04")
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return unit(int64(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return unit(int64(d/time.Hour), "hour")
	case d < 30*24*time.Hour:
		return unit(int64(d/(24*time.Hour)), "day")
	}
	return t.Format("2006-01-02")
}
