package data

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/gptgo/gptgo/internal/testkit"
)

func collect(t *testing.T, path string, o ReadOptions) []*Doc {
	t.Helper()
	var docs []*Doc
	if err := ReadFile(path, o, func(d *Doc) error { docs = append(docs, d); return nil }); err != nil {
		t.Fatal(err)
	}
	return docs
}

func writeTemp(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadTextUnits(t *testing.T) {
	src := "first block\nstill first\n\n\nsecond block\n  \nthird\n"
	p := writeTemp(t, "a.txt", []byte(src))
	if d := collect(t, p, ReadOptions{}); len(d) != 1 || d[0].Text != src || d[0].ID != p || d[0].Source != p {
		t.Fatalf("file unit: %+v", d)
	}
	d := collect(t, p, ReadOptions{TextUnit: "blank"})
	if len(d) != 3 || d[0].Text != "first block\nstill first\n" || d[2].Text != "third\n" || d[1].ID != p+"#1" {
		t.Fatalf("blank unit: %q", texts(d))
	}
	d = collect(t, p, ReadOptions{TextUnit: "line"})
	if len(d) != 4 || d[3].Text != "third" {
		t.Fatalf("line unit: %q", texts(d))
	}
	if err := ReadFile(p, ReadOptions{TextUnit: "page"}, func(*Doc) error { return nil }); err == nil {
		t.Fatal("unknown text unit accepted")
	}
}

func texts(ds []*Doc) []string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Text)
	}
	return s
}

func TestReadJSONForms(t *testing.T) {
	jsonl := `{"id":"a","text":"alpha","url":"http://x/"}
{"text":"beta","id":7}
`
	p := writeTemp(t, "c.jsonl.gz", gz(t, []byte(jsonl)))
	d := collect(t, p, ReadOptions{})
	if len(d) != 2 || d[0].ID != "a" || d[0].URL != "http://x/" || d[1].ID != "7" || d[1].Text != "beta" {
		t.Fatalf("jsonl: %+v", d)
	}
	arr := `[{"title":"x","paragraphs":["床前明月光，","疑是地上霜。"]},{"paragraphs":["举头望明月。"]}]`
	p = writeTemp(t, "poems.json", []byte(arr))
	d = collect(t, p, ReadOptions{TextField: "paragraphs"})
	if len(d) != 2 || d[0].Text != "床前明月光，\n疑是地上霜。" || d[1].ID != p+"#1" {
		t.Fatalf("json array: %+v", d)
	}
	bad := writeTemp(t, "bad.jsonl", []byte("{\"text\":\"ok\"}\n{\"body\":\"no text\"}\n"))
	err := ReadFile(bad, ReadOptions{}, func(*Doc) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "record 2") || !strings.Contains(err.Error(), bad) {
		t.Fatalf("missing field: err %v", err)
	}
	trunc := writeTemp(t, "t.jsonl", []byte("{\"text\":\"ok\"}\n{\"text\":\"unterminated\n"))
	if err := ReadFile(trunc, ReadOptions{}, func(*Doc) error { return nil }); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("truncated record: err %v", err)
	}
}

const tinyWARC = "WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n" +
	"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:1>\r\nWARC-Target-URI: http://example.com/\r\n" +
	"Content-Type: application/http; msgtype=response\r\nContent-Length: 111\r\n\r\n" +
	"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><nav>Home</nav><p>Real   text here.</p></body></html>\r\n\r\n"

func TestReadWARCTiny(t *testing.T) {
	// Each record gzipped on its own, as Common Crawl writes them.
	parts := strings.SplitAfter(tinyWARC, "\r\n\r\nWARC")
	var buf []byte
	for i, p := range parts {
		if i > 0 {
			p = "WARC" + p
		}
		if i < len(parts)-1 {
			p = strings.TrimSuffix(p, "WARC")
		}
		buf = append(buf, gz(t, []byte(p))...)
	}
	p := writeTemp(t, "x.warc.gz", buf)
	d := collect(t, p, ReadOptions{})
	if len(d) != 1 || d[0].ID != "<urn:uuid:1>" || d[0].URL != "http://example.com/" || d[0].Text != "Real text here.\n" {
		t.Fatalf("warc: %+v", d)
	}
	bad := writeTemp(t, "bad.warc", []byte("WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 999\r\n\r\nshort"))
	if err := ReadFile(bad, ReadOptions{}, func(*Doc) error { return nil }); err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Fatalf("short block: err %v", err)
	}
}

func TestReadSharedWARCAndWET(t *testing.T) {
	warc := testkit.Shared(t, "data", "9-cleaning", "cc_whirlwind.warc.gz")
	d := collect(t, warc, ReadOptions{})
	if len(d) != 1 || d[0].URL != "https://an.wikipedia.org/wiki/Escopete" || !strings.Contains(d[0].Text, "Escopete") {
		t.Fatalf("whirlwind warc: %d docs", len(d))
	}
	wet := testkit.Shared(t, "data", "9-cleaning", "cc_whirlwind.warc.wet")
	d = collect(t, wet, ReadOptions{})
	if len(d) != 1 || d[0].URL != "https://an.wikipedia.org/wiki/Escopete" || !strings.HasPrefix(d[0].Text, "Escopete - Biquipedia") {
		t.Fatalf("whirlwind wet: %+v", d)
	}
	dolma := testkit.Shared(t, "data", "9-cleaning", "dolma_tests", "warc_sample-0000.warc.gz")
	d = collect(t, dolma, ReadOptions{})
	if len(d) < 15 || len(d) > 24 {
		t.Fatalf("dolma warc: %d documents from 22 responses + 2 resources", len(d))
	}
	for _, doc := range d {
		if strings.Contains(doc.Text, "<script") || strings.Contains(doc.Text, "</div>") {
			t.Fatalf("%s: markup left in text", doc.URL)
		}
	}
}

func TestHTMLMoby(t *testing.T) {
	page, err := os.ReadFile(testkit.Shared(t, "data", "9-cleaning", "cs336_a4_fixtures", "moby.html"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(testkit.Shared(t, "data", "9-cleaning", "cs336_a4_fixtures", "moby_extracted.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := HTMLToText(page, DefaultHTMLOptions())
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestHTMLBoilerplate(t *testing.T) {
	page := `<html><head><title>T</title><script>var x=1;</script></head><body>
<header>Site header</header><div class="main-menu">Home | About</div>
<article><h2>Title</h2><p>One <b>bold</b>
 word.</p><ul><li>a<ul><li>b</li></ul></li></ul><pre>  keep
   this</pre></article><footer>© me</footer></body></html>`
	got, err := HTMLToText([]byte(page), DefaultHTMLOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := "Title\n\nOne bold word.\n\n  • a\n    • b\n\nkeep\n   this\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	all, _ := HTMLToText([]byte(page), HTMLOptions{})
	if !strings.Contains(all, "Site header") || !strings.Contains(all, "Home | About") {
		t.Fatalf("boilerplate dropped with DropBoilerplate off: %q", all)
	}
}

// warcResponse wraps an HTTP response in one WARC record.
func warcResponse(http string) string {
	return "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:2>\r\nContent-Type: application/http; msgtype=response\r\n" +
		"Content-Length: " + itoa(len(http)) + "\r\n\r\n" + http + "\r\n\r\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestWARCEncodings(t *testing.T) {
	// GBK-encoded Chinese page, charset named in the HTTP header.
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("<html><body><p>你好，世界。</p></body></html>")
	if err != nil {
		t.Fatal(err)
	}
	// gzip content coding and chunked transfer coding together.
	zipped := string(gz(t, []byte("<html><body><p>Compressed page.</p></body></html>")))
	chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(zipped), zipped)
	warc := warcResponse("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\n\r\n"+gbk) +
		warcResponse("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"+chunked) +
		warcResponse("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG")
	d := collect(t, writeTemp(t, "enc.warc", []byte(warc)), ReadOptions{})
	if len(d) != 2 || d[0].Text != "你好，世界。\n" || d[1].Text != "Compressed page.\n" {
		t.Fatalf("got %q", texts(d))
	}
	// A GBK .html file with only a <meta charset>.
	page, _ := simplifiedchinese.GBK.NewEncoder().String(`<html><head><meta charset="gbk"></head><body><p>中文网页</p></body></html>`)
	d = collect(t, writeTemp(t, "p.html", []byte(page)), ReadOptions{})
	if len(d) != 1 || d[0].Text != "中文网页\n" {
		t.Fatalf("gbk html file: %q", texts(d))
	}
}

func TestReadSkipBadRecords(t *testing.T) {
	p := writeTemp(t, "mixed.jsonl", []byte("{\"text\":\"one\"}\n{broken\n\n{\"body\":\"no text\"}\n{\"text\":\"two\"}\n"))
	if err := ReadFile(p, ReadOptions{}, func(*Doc) error { return nil }); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("without skipping: %v", err)
	}
	var skipped []string
	d := collect(t, p, ReadOptions{SkipBadRecords: true, OnSkip: func(err error) { skipped = append(skipped, err.Error()) }})
	if len(d) != 2 || d[0].Text != "one" || d[1].Text != "two" || d[1].ID != p+"#3" {
		t.Fatalf("kept %q ids %v", texts(d), ids(d))
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0], "line 2") || !strings.Contains(skipped[1], "record 3") {
		t.Fatalf("skipped %q", skipped)
	}
	bad := warcResponse("not an HTTP response at all") + warcResponse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfine")
	d = collect(t, writeTemp(t, "b.warc", []byte(bad)), ReadOptions{SkipBadRecords: true})
	if len(d) != 1 || d[0].Text != "fine" {
		t.Fatalf("warc skip: %q", texts(d))
	}
}

func TestReadCSV(t *testing.T) {
	p := writeTemp(t, "r.csv", []byte("label,review\n1,\"好吃, 送餐快\"\n0,\"太慢了\n下次不点\"\n1\n"))
	o := ReadOptions{TextField: "review", IDField: "label"}
	if err := ReadFile(p, o, func(*Doc) error { return nil }); err == nil || !strings.Contains(err.Error(), "record 3") {
		t.Fatalf("short row: %v", err)
	}
	o.SkipBadRecords = true
	d := collect(t, p, o)
	if len(d) != 2 || d[0].Text != "好吃, 送餐快" || d[1].Text != "太慢了\n下次不点" || d[0].ID != "1" {
		t.Fatalf("csv: %+v", d)
	}
	if err := ReadFile(p, ReadOptions{TextField: "body"}, func(*Doc) error { return nil }); err == nil || !strings.Contains(err.Error(), "no column") {
		t.Fatalf("missing column: %v", err)
	}
	tsv := writeTemp(t, "r.tsv", []byte("text\tid\nhello world\tx1\n"))
	if d := collect(t, tsv, ReadOptions{}); len(d) != 1 || d[0].Text != "hello world" || d[0].ID != "x1" {
		t.Fatalf("tsv: %+v", d)
	}
}

// TestReadWaimaiCSV reads the Chinese review corpus: 11,987 rows.
func TestReadWaimaiCSV(t *testing.T) {
	d := collect(t, testkit.Shared(t, "data", "9-cleaning", "waimai_10k.csv"), ReadOptions{TextField: "review"})
	if len(d) != 11987 || d[0].Text == "" {
		t.Fatalf("%d reviews", len(d))
	}
}
