// Reference: CommonMark 0.31 (ATX headings, fenced code blocks, list items,
// block quotes, emphasis, links) and GitHub Flavored Markdown tables; the
// HTML elements of the WHATWG HTML standard. Vicuna's ShareGPT cleaning turns
// the scraped pages' HTML back into Markdown the same way.

package data

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlMarkupRE finds the block and inline tags chat pages wrap messages in;
// text without any is left alone (a message that merely mentions "<T>" is
// not HTML).
var htmlMarkupRE = regexp.MustCompile(`(?i)<(p|div|pre|code|br|ol|ul|li|h[1-6]|table|span|strong|em|b|i|a|blockquote)(\s[^>]*)?/?>`)

// LooksLikeHTML reports whether s holds HTML markup worth converting.
func LooksLikeHTML(s string) bool { return htmlMarkupRE.MatchString(s) }

// HTMLToMarkdown converts an HTML fragment to Markdown: headings, fenced
// code (the language from a "language-X" class), lists (nested), tables,
// quotes, emphasis and links kept; scripts, styles and buttons (the "Copy
// code" buttons of chat pages) dropped.
func HTMLToMarkdown(fragment string) (string, error) {
	nodes, err := html.ParseFragment(strings.NewReader(fragment), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return "", fmt.Errorf("data: html to markdown: %w", err)
	}
	var m mdWriter
	for _, n := range nodes {
		m.node(n, 0)
	}
	return m.result(), nil
}

// mdWriter collects blocks; inline text accumulates in cur until a block ends.
type mdWriter struct {
	blocks []string
	cur    strings.Builder
}

func (m *mdWriter) flush() {
	if s := strings.TrimSpace(m.cur.String()); s != "" {
		m.blocks = append(m.blocks, s)
	}
	m.cur.Reset()
}

func (m *mdWriter) result() string {
	m.flush()
	return strings.Join(m.blocks, "\n\n")
}

func (m *mdWriter) node(n *html.Node, depth int) {
	if depth > 200 {
		return // hostile nesting: the text below is dropped, the stack kept small
	}
	switch n.Type {
	case html.TextNode:
		m.cur.WriteString(collapseSpace(n.Data))
		return
	case html.ElementNode:
	default:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			m.node(c, depth+1)
		}
		return
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Button, atom.Svg, atom.Noscript, atom.Template:
		return
	case atom.Br:
		m.cur.WriteString("\n")
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		m.flush()
		level := int(n.Data[1] - '0')
		m.blocks = append(m.blocks, strings.Repeat("#", level)+" "+inline(n, depth))
	case atom.Pre:
		m.flush()
		m.blocks = append(m.blocks, fence(n))
	case atom.Ul, atom.Ol:
		m.flush()
		if s := list(n, 0, depth); s != "" {
			m.blocks = append(m.blocks, s)
		}
	case atom.Table:
		m.flush()
		if s := table(n, depth); s != "" {
			m.blocks = append(m.blocks, s)
		}
	case atom.Blockquote:
		m.flush()
		var q mdWriter
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			q.node(c, depth+1)
		}
		if s := q.result(); s != "" {
			m.blocks = append(m.blocks, "> "+strings.ReplaceAll(s, "\n", "\n> "))
		}
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Li, atom.Dl, atom.Dt, atom.Dd, atom.Hr:
		m.flush()
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			m.node(c, depth+1)
		}
		m.flush()
	default:
		m.cur.WriteString(inlineElement(n, depth))
	}
}

// inline renders n's children as one line of inline Markdown.
func inline(n *html.Node, depth int) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			b.WriteString(collapseSpace(c.Data))
		case html.ElementNode:
			b.WriteString(inlineElement(c, depth+1))
		}
	}
	return strings.TrimSpace(b.String())
}

// inlineElement renders one inline element (or any element met inline).
func inlineElement(n *html.Node, depth int) string {
	if depth > 200 {
		return ""
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Button, atom.Svg, atom.Noscript, atom.Template:
		return ""
	case atom.Br:
		return "\n"
	case atom.Code, atom.Kbd, atom.Samp:
		t := textOf(n)
		if t == "" {
			return ""
		}
		tick := "`"
		if strings.Contains(t, "`") {
			tick = "``"
		}
		return tick + t + tick
	case atom.Strong, atom.B:
		return wrap("**", inline(n, depth))
	case atom.Em, atom.I:
		return wrap("*", inline(n, depth))
	case atom.A:
		t, href := inline(n, depth), attr(n, "href")
		if href == "" || href == t || strings.HasPrefix(strings.ToLower(href), "javascript:") {
			return t
		}
		return "[" + t + "](" + href + ")"
	case atom.Img:
		return attr(n, "alt")
	}
	return inline(n, depth)
}

func wrap(mark, s string) string {
	if s == "" {
		return ""
	}
	return mark + s + mark
}

// fence renders a <pre> as a fenced code block, its text verbatim.
func fence(n *html.Node) string {
	lang := codeLanguage(n)
	for c := n.FirstChild; c != nil && lang == ""; c = c.NextSibling {
		if c.Type == html.ElementNode && c.DataAtom == atom.Code {
			lang = codeLanguage(c)
		}
	}
	code := strings.Trim(textOf(n), "\n")
	ticks := "```"
	for strings.Contains(code, ticks) {
		ticks += "`"
	}
	return ticks + lang + "\n" + code + "\n" + ticks
}

// codeLanguage reads "language-go" / "lang-go" from an element's classes.
func codeLanguage(n *html.Node) string {
	for _, c := range strings.Fields(attr(n, "class")) {
		for _, p := range []string{"language-", "lang-"} {
			if l, ok := strings.CutPrefix(c, p); ok && l != "" {
				return l
			}
		}
	}
	return ""
}

// list renders <ul>/<ol> items, nested lists indented under their item.
func list(n *html.Node, indent, depth int) string {
	if depth > 200 {
		return ""
	}
	var lines []string
	num := 1
	for li := n.FirstChild; li != nil; li = li.NextSibling {
		if li.Type != html.ElementNode || li.DataAtom != atom.Li {
			continue
		}
		marker := "- "
		if n.DataAtom == atom.Ol {
			marker = fmt.Sprintf("%d. ", num)
			num++
		}
		var text strings.Builder
		var nested []string
		for c := li.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case c.Type == html.ElementNode && (c.DataAtom == atom.Ul || c.DataAtom == atom.Ol):
				if s := list(c, indent+len(marker), depth+1); s != "" {
					nested = append(nested, s)
				}
			case c.Type == html.TextNode:
				text.WriteString(collapseSpace(c.Data))
			case c.Type == html.ElementNode && c.DataAtom == atom.P:
				text.WriteString(inline(c, depth+1) + " ")
			case c.Type == html.ElementNode:
				text.WriteString(inlineElement(c, depth+1))
			}
		}
		pad := strings.Repeat(" ", indent)
		lines = append(lines, pad+marker+strings.TrimSpace(text.String()))
		lines = append(lines, nested...)
	}
	return strings.Join(lines, "\n")
}

// table renders a GFM table; the first row is the header.
func table(n *html.Node, depth int) string {
	var rows [][]string
	var walk func(*html.Node, int)
	walk = func(x *html.Node, d int) {
		if d > 200 {
			return
		}
		for c := x.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			if c.DataAtom == atom.Tr {
				var row []string
				for cell := c.FirstChild; cell != nil; cell = cell.NextSibling {
					if cell.Type == html.ElementNode && (cell.DataAtom == atom.Td || cell.DataAtom == atom.Th) {
						row = append(row, strings.ReplaceAll(strings.ReplaceAll(inline(cell, d+1), "|", `\|`), "\n", " "))
					}
				}
				rows = append(rows, row)
				continue
			}
			walk(c, d+1)
		}
	}
	walk(n, depth)
	if len(rows) == 0 {
		return ""
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r))
	}
	var b strings.Builder
	for i, r := range rows {
		for len(r) < width {
			r = append(r, "")
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		if i == 0 {
			b.WriteString("|" + strings.Repeat(" --- |", width) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// textOf is the raw text under n (code keeps its spacing).
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node, int)
	walk = func(x *html.Node, d int) {
		if d > 200 {
			return
		}
		for c := x.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case c.Type == html.TextNode:
				b.WriteString(c.Data)
			case c.Type == html.ElementNode && c.DataAtom == atom.Br:
				b.WriteString("\n")
			case c.Type == html.ElementNode && c.DataAtom != atom.Button:
				walk(c, d+1)
			}
		}
	}
	walk(n, 0)
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// collapseSpace turns runs of white space into one space, as HTML renders them.
func collapseSpace(s string) string {
	if !strings.ContainsAny(s, " \t\n\r\f") {
		return s
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}
