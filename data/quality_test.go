package data

import (
	"os"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func TestQualityCS336Pages(t *testing.T) {
	o := DefaultQualityOptions()
	low, err := os.ReadFile(testkit.Shared(t, "data", "9-cleaning", "cs336_a4_fixtures", "low_quality_cc.txt"))
	if err != nil {
		t.Fatal(err)
	}
	high, err := os.ReadFile(testkit.Shared(t, "data", "9-cleaning", "cs336_a4_fixtures", "high_quality_wiki_reference.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r := o.Check(Measure(string(low), o))
	if !strings.HasPrefix(r, "punct_words") {
		t.Fatalf("low-quality forum page: reason %q, want punct_words (menu lines without sentences)", r)
	}
	t.Logf("low_quality_cc.txt dropped: %s", r)
	if r := o.Check(Measure(string(high), o)); r != "" {
		t.Fatalf("high-quality page dropped: %s", r)
	}
}

// prose is an English paragraph that passes every default rule.
const prose = "The committee met on Tuesday to review the plans for the new library. " +
	"Members agreed that the building should have more space for children and that the reading rooms must stay quiet. " +
	"They also discussed the budget, which has grown since last year, and asked the architect to prepare two cheaper designs. " +
	"A final decision will be made at the next meeting, after the public has had a chance to comment on the proposals.\n"

func TestQualityRules(t *testing.T) {
	o := DefaultQualityOptions()
	if r := o.Check(Measure(prose, o)); r != "" {
		t.Fatalf("clean prose dropped: %s", r)
	}
	cases := []struct{ name, text, reason string }{
		{"short", "Too short to be a document.", "min_words"},
		{"long words", strings.Repeat("Incomprehensibilities notwithstanding extraordinarily. ", 20), "mean_word_length"},
		{"hashtags", strings.Repeat("the #tag and #more to be of #it. ", 10), "symbol_word_ratio"},
		{"bullets", strings.Repeat("• The members of the committee agreed with that.\n", 12), "bullet_lines"},
		{"ellipses", strings.Repeat("and the story of the long journey home goes on and on to be...\n", 12), "ellipsis_lines"},
		{"numbers", strings.Repeat("12345 67890 24680 13579 11223 the and with that.\n", 8), "alpha_words"},
		{"no stop words", strings.Repeat("Quick brown foxes jump over lazy dogs daily. ", 10), "stop_words"},
		{"repeated lines", prose + strings.Repeat("Click here to subscribe to the newsletter and win.\n", 6), "dup_line_frac"},
		{"repeated phrase", strings.Repeat("buy the cheap pills now and be happy with that. ", 12), "top_3gram_chars"},
	}
	for _, c := range cases {
		r := o.Check(Measure(c.text, o))
		if !strings.HasPrefix(r, c.reason) {
			t.Errorf("%s: reason %q, want %s", c.name, r, c.reason)
		}
	}
	o.Blocklist = []string{"casino", "free money"}
	if r := o.Check(Measure(prose+"Visit our casino for free money.\n", o)); !strings.HasPrefix(r, "blocklist (2 hits") {
		t.Fatalf("blocklist: %q", r)
	}
	if r := o.Check(Measure(prose+"Casinos are not words on the list.\n", o)); r != "" {
		t.Fatalf("blocklist matched inside a word: %q", r)
	}
}

func TestQualityNgramMeasures(t *testing.T) {
	ws := strings.Fields("a b a b a b c")
	hw, wl := make([]uint64, len(ws)), make([]int, len(ws))
	for i, w := range ws {
		hw[i], wl[i] = hashString(w), len(w)
	}
	// "a b" occurs 3 times: 6 of 7 characters.
	if got := topNgramChars(newHashCounts(7), hw, wl, 2, 7); !testkit.Close(got, 6.0/7, 1e-12, 0) {
		t.Fatalf("top 2-gram fraction %v", got)
	}
	// 3-grams "a b a" and "b a b" repeat, covering a b a b a b: 6 of 7.
	if got := dupNgramChars(newHashCounts(7), hw, wl, 3, 7); !testkit.Close(got, 6.0/7, 1e-12, 0) {
		t.Fatalf("dup 3-gram fraction %v", got)
	}
	if f, c := dupFractions([]string{"x", "yy", "x", "x"}); f != 0.5 || c != 2.0/5 {
		t.Fatalf("dup fractions %v %v", f, c)
	}
}

func TestQualityChinese(t *testing.T) {
	o := DefaultQualityOptions()
	good := "今天我们在学校的图书馆里读了一本很有意思的书。这本书讲的是一个小女孩和她的狗一起去旅行的故事，" +
		"她们走过了很多地方，也认识了很多新朋友。我觉得这个故事非常感人，也让我明白了友谊的重要。\n"
	s := Measure(good, o)
	if !s.Chinese || s.Words < 80 {
		t.Fatalf("Chinese text measured as %+v", s)
	}
	if r := o.Check(s); r != "" {
		t.Fatalf("good Chinese prose dropped: %s", r)
	}
	if r := o.Check(Measure("这家店很好吃。", o)); !strings.HasPrefix(r, "min_words") {
		t.Fatalf("short Chinese: %q", r)
	}
	menu := strings.Repeat("首页 新闻 体育 财经 娱乐 科技 汽车 房产\n", 3) + "版权所有 联系我们 关于本站 网站地图 广告服务 友情链接 帮助中心\n"
	if r := o.Check(Measure(menu, o)); r == "" {
		t.Fatal("Chinese navigation menu kept")
	}
	if r := o.Check(Measure(strings.Repeat("好评好评好评好评好评，", 10), o)); r == "" {
		t.Fatal("repeated Chinese phrase kept")
	}
}

func TestWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"  Hello,  world!\n", "Hello,|world!"},
		{"我爱Go语言 ok", "我|爱|Go|语|言|ok"},
		{"a\u00a0b\u3000c", "a|b|c"},
		{"", ""},
	} {
		got := strings.Join(words(c.in), "|")
		if got != c.want {
			t.Errorf("words(%q) = %q, want %q", c.in, got, c.want)
		}
		if n := countWords(c.in); n != len(words(c.in)) {
			t.Errorf("countWords(%q) = %d, words has %d", c.in, n, len(words(c.in)))
		}
	}
}
