// Reference: SVG 1.1 (W3C), basic shapes and text; Chatbot Arena's leaderboard figure (a rating per model
// with its bootstrap confidence interval).

package eval

import (
	"fmt"
	"html"
	"io"
	"math"
)

// WriteRatingsSVG draws the leaderboard: one row per model, best on top,
// its Bradley–Terry rating as a dot with the 95% interval as a bar, and
// the online Elo as a hollow diamond.
func WriteRatingsSVG(w io.Writer, rows []Rating) error {
	const (
		left, right, top, rowH = 170.0, 30.0, 40.0, 28.0
		width                  = 640.0
	)
	h := top + rowH*float64(len(rows)) + 40
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		lo = min(lo, r.Lo, r.BT, r.Elo)
		hi = max(hi, r.Hi, r.BT, r.Elo)
	}
	if !(hi > lo) {
		lo, hi = lo-50, hi+50
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	x := func(v float64) float64 { return left + (v-lo)/(hi-lo)*(width-left-right) }
	b := fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, h)
	b = fmt.Appendf(b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	b = fmt.Appendf(b, `<text x="%.0f" y="20" font-size="14">Bradley–Terry rating, 95%% bootstrap interval (●); online Elo (◇)</text>`+"\n", left-150)
	// Grid: five ticks.
	for k := 0; k <= 4; k++ {
		v := lo + (hi-lo)*float64(k)/4
		b = fmt.Appendf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/>`+"\n", x(v), top-10, x(v), h-30)
		b = fmt.Appendf(b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%.0f</text>`+"\n", x(v), h-14, v)
	}
	for i, r := range rows {
		y := top + rowH*float64(i) + rowH/2
		b = fmt.Appendf(b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-10, y+4, html.EscapeString(r.Model))
		b = fmt.Appendf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1f77b4" stroke-width="3"/>`+"\n", x(r.Lo), y, x(r.Hi), y)
		b = fmt.Appendf(b, `<circle cx="%.1f" cy="%.1f" r="5" fill="#1f77b4"/>`+"\n", x(r.BT), y)
		ex := x(r.Elo)
		b = fmt.Appendf(b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" stroke="#d62728" stroke-width="1.5"/>`+"\n",
			ex, y-6, ex+6, y, ex, y+6, ex-6, y)
	}
	b = append(b, "</svg>\n"...)
	_, err := w.Write(b)
	return err
}
