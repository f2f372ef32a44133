// HTML → main text, in the manner of Resiliparse's extract_plain_text
// (Bevendorff et al. 2018, "Elastic ChatNoir"): block elements become
// paragraphs, list items become "• " lines, and boilerplate containers
// (navigation, headers, footers, forms, scripts) are skipped.

package data

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLOptions tune text extraction.
type HTMLOptions struct {
	// DropBoilerplate skips <nav>, <header>, <footer>, <aside>, <form> and
	// elements whose id or class names a menu, sidebar, cookie banner and the like.
	DropBoilerplate bool `json:"drop_boilerplate"`
	// KeepAltText includes <img alt="…"> text.
	KeepAltText bool `json:"keep_alt_text"`
}

// DefaultHTMLOptions are the documented defaults.
func DefaultHTMLOptions() HTMLOptions { return HTMLOptions{DropBoilerplate: true} }

// skipAlways holds elements whose content is never prose.
var skipAlways = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Head: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true, atom.Canvas: true,
	atom.Select: true, atom.Button: true, atom.Textarea: true,
}

var skipBoilerplate = map[atom.Atom]bool{
	atom.Nav: true, atom.Header: true, atom.Footer: true, atom.Aside: true, atom.Form: true, atom.Menu: true,
}

// boilerplateWords in an id or class mark a container as page furniture.
var boilerplateWords = []string{"nav", "menu", "footer", "sidebar", "breadcrumb", "cookie", "banner",
	"social", "share", "pagination", "skip-link", "advert"}

// blocks start and end a paragraph.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Ul: true, atom.Ol: true, atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Table: true,
	atom.Tr: true, atom.Blockquote: true, atom.Pre: true, atom.Section: true, atom.Article: true,
	atom.Main: true, atom.Figure: true, atom.Figcaption: true, atom.Address: true, atom.Hr: true,
	atom.Body: true, atom.Li: true, atom.Caption: true, atom.Details: true, atom.Summary: true,
}

// HTMLToText extracts the readable text of an HTML page: paragraphs are
// separated by a blank line, list items are "  • item" lines, inline
// whitespace is collapsed, and text inside <pre> is kept as is.
func HTMLToText(page []byte, o HTMLOptions) (string, error) {
	root, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return "", fmt.Errorf("html: %w", err)
	}
	x := &extractor{o: o}
	x.walk(root, 0, false)
	x.endBlock()
	if len(x.paras) == 0 && o.DropBoilerplate {
		// Everything looked like furniture: a misjudged page keeps all its text
		// rather than vanishing; the quality filters judge it next.
		x = &extractor{}
		x.walk(root, 0, false)
		x.endBlock()
	}
	if len(x.paras) == 0 {
		return "", nil
	}
	return strings.Join(x.paras, "\n\n") + "\n", nil
}

type extractor struct {
	o      HTMLOptions
	paras  []string        // finished paragraphs
	cur    strings.Builder // the paragraph being built
	lines  []string        // finished lines of a list block
	prefix string          // indentation and bullet of the list item being built
	space  bool            // a collapsed space is pending
}

func (x *extractor) text(s string, pre bool) {
	if pre {
		x.cur.WriteString(s)
		return
	}
	// Collapse each whitespace run to one space, and drop it at the start of a line.
	if s != "" && isHTMLSpace(rune(s[0])) {
		x.space = true
	}
	for _, f := range strings.FieldsFunc(s, isHTMLSpace) {
		if x.space && x.cur.Len() > 0 {
			x.cur.WriteByte(' ')
		}
		x.cur.WriteString(f)
		x.space = true
	}
	x.space = s != "" && isHTMLSpace(rune(s[len(s)-1]))
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}

// endLine finishes the current line, with the pending list-item prefix.
func (x *extractor) endLine() {
	if s := strings.TrimSpace(x.cur.String()); s != "" {
		x.lines = append(x.lines, x.prefix+s)
	}
	x.cur.Reset()
	x.space = false
	x.prefix = ""
}

// endBlock finishes the current paragraph (and any pending list lines).
func (x *extractor) endBlock() {
	x.endLine()
	if len(x.lines) > 0 {
		x.paras = append(x.paras, strings.Join(x.lines, "\n"))
		x.lines = x.lines[:0]
	}
}

func (x *extractor) boilerplate(n *html.Node) bool {
	if skipBoilerplate[n.DataAtom] {
		return true
	}
	switch n.DataAtom {
	case atom.Html, atom.Body, atom.Main, atom.Article:
		// Page-level classes list feature flags ("vector-feature-main-menu-pinned"),
		// not what the element is.
		return false
	}
	for _, a := range n.Attr {
		if a.Key != "id" && a.Key != "class" && a.Key != "role" {
			continue
		}
		v := strings.ToLower(a.Val)
		if a.Key == "role" && (v == "navigation" || v == "banner" || v == "contentinfo") {
			return true
		}
		for _, w := range boilerplateWords {
			if strings.Contains(v, w) {
				return true
			}
		}
	}
	return false
}

// walk appends n's text; depth counts enclosing lists for indentation.
func (x *extractor) walk(n *html.Node, depth int, pre bool) {
	switch n.Type {
	case html.TextNode:
		x.text(n.Data, pre)
		return
	case html.CommentNode, html.DoctypeNode:
		return
	case html.ElementNode:
		if skipAlways[n.DataAtom] || (x.o.DropBoilerplate && x.boilerplate(n)) {
			return
		}
		switch n.DataAtom {
		case atom.Br:
			x.endLine()
			return
		case atom.Img:
			if x.o.KeepAltText {
				for _, a := range n.Attr {
					if a.Key == "alt" {
						x.text(" "+a.Val+" ", false)
					}
				}
			}
			return
		case atom.Li:
			x.endLine()
			x.prefix = strings.Repeat("  ", depth) + "• "
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				x.walk(c, depth, pre)
			}
			x.endLine()
			return
		case atom.Ul, atom.Ol:
			// A top-level list is its own paragraph; a nested one continues its item's.
			if depth == 0 {
				x.endBlock()
				defer x.endBlock()
			} else {
				x.endLine()
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				x.walk(c, depth+1, pre)
			}
			return
		case atom.Td, atom.Th:
			x.text(" ", false)
		case atom.Pre:
			pre = true
		}
		if blocks[n.DataAtom] && depth == 0 {
			x.endBlock()
			defer x.endBlock()
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		x.walk(c, depth, pre)
	}
}
