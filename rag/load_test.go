package rag

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// writePDF is a tiny PDF writer for the tests: one page per content
// stream, Helvetica, an optional ToUnicode font for two-byte text, an
// optional Flate compression, and a correct xref table.
func writePDF(pages []string, flate bool, image bool) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(pages)
	// 1 catalog, 2 pages, 3 font, then per page: page, content
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, n)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, p := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		var content string
		if image {
			content = "q 612 0 0 792 0 0 cm /Im1 Do Q"
		} else {
			var cs strings.Builder
			cs.WriteString("BT /F1 12 Tf 72 720 Td ")
			for j, line := range strings.Split(p, "\n") {
				if j > 0 {
					cs.WriteString("0 -14 Td ")
				}
				esc := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(line)
				fmt.Fprintf(&cs, "(%s) Tj ", esc)
			}
			cs.WriteString("ET")
			content = cs.String()
		}
		data := []byte(content)
		filter := ""
		if flate {
			var z bytes.Buffer
			w := zlib.NewWriter(&z)
			w.Write(data)
			w.Close()
			data, filter = z.Bytes(), " /Filter /FlateDecode"
		}
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d%s >>\nstream\n", len(offs), len(data), filter)
		b.Write(data)
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

func TestLoadPDF(t *testing.T) {
	pages := []string{"The Eiffel Tower is in Paris.\nIt was built in 1889.", "Page two (with parentheses) and a back\\slash."}
	for _, flate := range []bool{false, true} {
		secs, err := Load("doc.pdf", writePDF(pages, flate, false))
		if err != nil {
			t.Fatal(err)
		}
		if len(secs) != 2 || secs[0].Page != 1 || secs[1].Page != 2 {
			t.Fatalf("flate %v: %+v", flate, secs)
		}
		if secs[0].Text != "The Eiffel Tower is in Paris.\nIt was built in 1889." || secs[1].Text != pages[1] {
			t.Errorf("flate %v: text %q / %q", flate, secs[0].Text, secs[1].Text)
		}
	}
	// a page of ToUnicode two-byte text: the CMap maps codes to characters
	cm := "/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 2 beginbfchar <0001> <674E> <0002> <767D> endbfchar 1 beginbfrange <0010> <0012> <0041> endbfrange endcmap end end"
	cid := strings.Replace(string(writePDF([]string{"x"}, false, false)), "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		"<< /Type /Font /Subtype /Type0 /BaseFont /X /ToUnicode 99 0 R >>", 1)
	cid = strings.Replace(cid, "(x) Tj", "<000100020010001100120000> Tj", 1)
	cid = strings.Replace(cid, "xref", fmt.Sprintf("99 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\nxref", len(cm), cm), 1)
	secs, err := LoadPDF([]byte(cid))
	if err != nil || len(secs) != 1 || secs[0].Text != "李白ABC" {
		t.Fatalf("ToUnicode: %+v %v", secs, err)
	}
}

func TestLoadPDFErrors(t *testing.T) {
	_, err := Load("scan.pdf", writePDF([]string{"", ""}, true, true))
	if !errors.Is(err, ErrNoText) || !strings.Contains(err.Error(), "scan.pdf") || !strings.Contains(err.Error(), "OCR") {
		t.Errorf("image-only PDF: %v", err)
	}
	for name, b := range map[string][]byte{
		"not a pdf":      []byte("hello"),
		"header only":    []byte("%PDF-1.7\n"),
		"truncated":      writePDF([]string{"some text"}, true, false)[:40],
		"bad flate":      bytes.Replace(writePDF([]string{"text"}, true, false), []byte("stream\nx"), []byte("stream\n\x00"), 1),
		"encrypted":      append(writePDF([]string{"text"}, false, false), []byte("trailer << /Encrypt 9 0 R >>")...),
		"unknown filter": bytes.Replace(writePDF([]string{"text"}, true, false), []byte("/FlateDecode"), []byte("/JBIG2Decode"), 1),
	} {
		if _, err := Load("bad.pdf", b); err == nil || !strings.Contains(err.Error(), "bad.pdf") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// makeDOCX zips a word/document.xml with the given paragraphs; a
// paragraph "#2 Title" has style Heading2.
func makeDOCX(paras []string) []byte {
	var x strings.Builder
	x.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for _, p := range paras {
		style, tail := "", `<w:r><w:tab/><w:t>end</w:t></w:r>`
		if strings.HasPrefix(p, "#") {
			style, tail = fmt.Sprintf(`<w:pPr><w:pStyle w:val="Heading%c"/></w:pPr>`, p[1]), ""
			p = p[3:]
		}
		fmt.Fprintf(&x, `<w:p>%s<w:r><w:t xml:space="preserve">%s</w:t></w:r>%s</w:p>`, style, p, tail)
	}
	x.WriteString(`</w:body></w:document>`)
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, _ := z.Create("[Content_Types].xml")
	w.Write([]byte(`<Types/>`))
	w, _ = z.Create("word/document.xml")
	w.Write([]byte(x.String()))
	z.Close()
	return b.Bytes()
}

func TestLoadDOCX(t *testing.T) {
	secs, err := Load("r.docx", makeDOCX([]string{"#1 Report", "Intro text.", "#2 Results", "Sales rose &amp; fell.", "#2 Outlook", "Good."}))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ heading, text string }{{"Report", "Report\n\nIntro text.\tend"}, {"Report > Results", "Results\n\nSales rose & fell.\tend"}, {"Report > Outlook", "Outlook\n\nGood.\tend"}}
	if len(secs) != len(want) {
		t.Fatalf("%d sections: %+v", len(secs), secs)
	}
	for i, w := range want {
		if secs[i].Heading != w.heading || strings.TrimSpace(secs[i].Text) != w.text {
			t.Errorf("section %d: %q %q, want %q %q", i, secs[i].Heading, secs[i].Text, w.heading, w.text)
		}
	}
	if _, err := Load("bad.docx", []byte("PK\x03\x04 not really")); err == nil || !strings.Contains(err.Error(), "bad.docx") {
		t.Errorf("malformed docx: %v", err)
	}
}

func TestLoadTextFormats(t *testing.T) {
	md := "# Guide\nintro\n## Install\n```sh\n# not a heading\nmake\n```\n### From source\nbuild it\n# Other\nx\n"
	secs, _ := Load("g.md", []byte(md))
	var heads []string
	for _, s := range secs {
		heads = append(heads, s.Heading)
		if md[s.Offset:s.Offset+len(s.Text)] != s.Text {
			t.Errorf("offset %d does not locate %q", s.Offset, s.Text)
		}
	}
	if got := strings.Join(heads, "|"); got != "Guide|Guide > Install|Guide > Install > From source|Other" {
		t.Errorf("markdown headings %q", got)
	}
	secs, _ = Load("p.html", []byte(`<html><head><script>var x=1</script></head><body><nav>Home | About</nav><p>The real text.</p></body></html>`))
	if len(secs) != 1 || strings.Contains(secs[0].Text, "var x") || strings.Contains(secs[0].Text, "About") || !strings.Contains(secs[0].Text, "The real text.") {
		t.Errorf("html: %+v", secs)
	}
	secs, _ = Load("t.csv", []byte("name,capital\nFrance,Paris\nJapan,Tokyo\n"))
	if len(secs) != 2 || secs[1].Text != "name: Japan\ncapital: Tokyo\n" || secs[1].Heading != "row 3" {
		t.Errorf("csv: %+v", secs)
	}
	secs, _ = Load("d.jsonl", []byte(`{"title":"A","text":"alpha"}`+"\n\n"+`{"x":1}`+"\n"))
	if len(secs) != 2 || secs[0].Text != "alpha" || secs[0].Heading != "A" || secs[1].Text != `{"x":1}` {
		t.Errorf("jsonl: %+v", secs)
	}
	if _, err := Load("d.jsonl", []byte("{bad\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad jsonl: %v", err)
	}
	secs, _ = Load("m.go", []byte("package m\n\n// Add adds.\nfunc Add(a, b int) int {\n\treturn a + b\n\n}\n\nfunc Sub() {}\n"))
	if len(secs) != 3 || secs[1].Heading != "func Add(a, b int) int" || secs[2].Heading != "func Sub() {}" {
		t.Errorf("code: %+v", secs)
	}
	if _, err := Load("x.bin", []byte{0, 1, 2}); err == nil || !strings.Contains(err.Error(), "x.bin") {
		t.Errorf("binary: %v", err)
	}
	if _, err := Load("e.txt", []byte("  \n")); !errors.Is(err, ErrNoText) {
		t.Errorf("empty: %v", err)
	}
}

// TestIngestGoesOn: a batch with malformed and image-only files stores the
// good ones and reports the bad ones by name.
func TestIngestGoesOn(t *testing.T) {
	s, in := newTestStore(t, t.TempDir(), nil)
	ctx := context.Background()
	files := map[string][]byte{
		"good.pdf":  writePDF([]string{"Lighthouses warn ships."}, true, false),
		"scan.pdf":  writePDF([]string{""}, false, true),
		"bad.pdf":   []byte("%PDF-1.4 garbage"),
		"good.docx": makeDOCX([]string{"Windmills grind grain."}),
		"bad.docx":  []byte("nope"),
	}
	failed := 0
	for _, name := range []string{"bad.docx", "bad.pdf", "good.docx", "good.pdf", "scan.pdf"} {
		r := in.IngestBytes(ctx, name, files[name])
		if r.Err != nil {
			failed++
			if !strings.Contains(r.Err.Error(), name) {
				t.Errorf("error without the file name: %v", r.Err)
			}
		}
	}
	if failed != 3 || len(s.List()) != 2 {
		t.Fatalf("%d failed, %d stored", failed, len(s.List()))
	}
	res, _ := s.Search(ctx, Query{Text: "ships", K: 1})
	if len(res) != 1 || res[0].Chunk.Source != "good.pdf" || res[0].Chunk.Page != 1 {
		t.Errorf("%+v", res)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("a.pdf", writePDF([]string{"hello (world)"}, true, false))
	f.Add("a.pdf", writePDF([]string{"x"}, false, false))
	f.Add("a.docx", makeDOCX([]string{"#1 T", "body"}))
	f.Add("a.md", []byte("# h\n```\ncode\n```\n## g\ntext"))
	f.Add("a.csv", []byte("a,b\n1,\"2\"\n"))
	f.Add("a.jsonl", []byte(`{"text":"x"}`))
	f.Add("a.go", []byte("package x\n\nfunc F() {}\n"))
	f.Add("a.html", []byte("<p>x<script>y</script></p>"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		secs, err := Load(name, b)
		if err == nil && len(secs) == 0 {
			t.Fatal("no sections and no error")
		}
		for _, s := range secs {
			for _, sp := range (Splitter{Max: 8}).Split(s.Text) {
				if sp.Start < 0 || sp.End > len(s.Text) || sp.Start >= sp.End {
					t.Fatalf("span %v of %d", sp, len(s.Text))
				}
			}
		}
	})
}
