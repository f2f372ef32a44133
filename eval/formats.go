// Reference: llama.cpp tools/perplexity/perplexity.cpp (the --hellaswag text layout: 6 lines per task;
// the --winogrande CSV "index,sentence with _,choice1,choice2,answer" parsed by its comma scan; the
// --multiple-choice binary: u32 task count, u32 offsets, then per task a string question and two answer
// sets mc1/mc2 of u32 count, strings, i32 labels, strings as u32 length + bytes, little-endian);
// the MMLU CSV of hendrycks/test (question,A,B,C,D,answer, no header) and C-Eval's (id,question,A,B,C,D,
// answer[,explanation] with a header); lm-evaluation-harness's MMLU prompt.

package eval

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ReadHellaSwag reads llama-perplexity's HellaSwag file: per task the
// context ("activity_label: ctx"), the gold ending's index (0–3) and the
// four endings, one per line.
func ReadHellaSwag(r io.Reader) ([]Item, error) {
	lines, err := readLines(r)
	if err != nil {
		return nil, err
	}
	if len(lines)%6 != 0 {
		return nil, fmt.Errorf("hellaswag: %d lines, not a multiple of 6 (context, gold index, 4 endings per task)", len(lines))
	}
	items := make([]Item, 0, len(lines)/6)
	for i := 0; i < len(lines); i += 6 {
		g, err := strconv.Atoi(strings.TrimSpace(lines[i+1]))
		if err != nil || g < 0 || g > 3 {
			return nil, fmt.Errorf("hellaswag: line %d: gold index %q is not 0…3", i+2, lines[i+1])
		}
		items = append(items, Item{Context: lines[i], Choices: append([]string(nil), lines[i+2:i+6]...), Gold: g, Style: StyleLlama})
	}
	return items, nil
}

// ReadWinogrande reads llama-perplexity's Winogrande CSV. Its parser finds
// the first four commas outside double quotes; the sentence loses its
// surrounding quotes; the answer is 1 or 2. A first line that does not
// parse is taken for a header; blank lines are skipped (a file for
// llama-perplexity ends with one: its -f drops the last newline, and its
// reader then drops a last line that has none).
func ReadWinogrande(r io.Reader) ([]Item, error) {
	lines, err := readLines(r)
	if err != nil {
		return nil, err
	}
	var items []Item
	for n, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		it, err := winograndeLine(line)
		if err != nil {
			if n == 0 {
				continue
			}
			return nil, fmt.Errorf("winogrande: line %d: %w", n+1, err)
		}
		items = append(items, it)
	}
	return items, nil
}

func winograndeLine(line string) (Item, error) {
	var commas []int
	quoted := false
	for i := 0; i < len(line) && len(commas) < 4; i++ {
		switch {
		case line[i] == '"':
			quoted = !quoted
		case line[i] == ',' && !quoted:
			commas = append(commas, i)
		}
	}
	if len(commas) != 4 {
		return Item{}, errors.New("want 5 comma-separated fields (index, sentence, choice 1, choice 2, answer)")
	}
	sentence := line[commas[0]+1 : commas[1]]
	if strings.HasPrefix(sentence, `"`) && len(sentence) >= 2 {
		sentence = sentence[1 : len(sentence)-1]
	}
	blank := strings.IndexByte(sentence, '_')
	if blank < 0 {
		return Item{}, fmt.Errorf("no _ in %q", sentence)
	}
	ans, err := strconv.Atoi(strings.TrimSpace(line[commas[3]+1:]))
	if err != nil || ans < 1 || ans > 2 {
		return Item{}, fmt.Errorf("answer %q is not 1 or 2", line[commas[3]+1:])
	}
	return Item{
		Context: sentence[:blank], Suffix: sentence[blank+1:],
		Choices: []string{line[commas[1]+1 : commas[2]], line[commas[2]+1 : commas[3]]},
		Gold:    ans - 1, Style: StyleWinogrande,
	}, nil
}

// The --multiple-choice format has no magic: a file is taken for one when
// its task count and offsets are consistent (LooksLikeMultipleChoice).
const mcMaxAnswers = 100 // llama.cpp's bound on one task's answers

// ReadMultipleChoice reads llama-perplexity's --multiple-choice binary
// file. The gold option is the first mc1 answer labelled 1; mc2 (several
// correct answers) is read and, as in llama.cpp, not scored.
func ReadMultipleChoice(b []byte) ([]Item, error) {
	rd := &binReader{b: b}
	n := rd.u32()
	if rd.err != nil || n == 0 {
		return nil, errors.New("multiple-choice: no tasks")
	}
	if uint64(n)*4 > uint64(len(b)) {
		return nil, fmt.Errorf("multiple-choice: %d tasks claimed in %d bytes", n, len(b))
	}
	pos := make([]uint32, n)
	for i := range pos {
		pos[i] = rd.u32()
	}
	items := make([]Item, 0, n)
	for i := range n {
		if int64(pos[i]) != int64(rd.off) {
			// llama.cpp reads all tasks in sequence; the offsets are for its
			// random subsets. They must agree with the sequence here.
			return nil, fmt.Errorf("multiple-choice: task %d: offset %d, but the task starts at %d", i+1, pos[i], rd.off)
		}
		q := rd.str()
		ans, labels := rd.answers()
		rd.answers() // mc2
		if rd.err != nil {
			return nil, fmt.Errorf("multiple-choice: task %d of %d: %w", i+1, n, rd.err)
		}
		if q == "" || len(ans) < 2 {
			return nil, fmt.Errorf("multiple-choice: task %d: empty question or fewer than 2 answers", i+1)
		}
		gold := -1
		for j, l := range labels {
			if ans[j] == "" {
				return nil, fmt.Errorf("multiple-choice: task %d: answer %d is empty", i+1, j+1)
			}
			if l == 1 && gold < 0 {
				gold = j
			}
		}
		if gold < 0 {
			return nil, fmt.Errorf("multiple-choice: task %d: no answer labelled 1", i+1)
		}
		items = append(items, Item{Context: q, Choices: ans, Gold: gold, Style: StyleLlama})
	}
	return items, nil
}

// WriteMultipleChoice writes items in llama-perplexity's --multiple-choice
// binary format (mc1 = the choices with the gold one labelled 1, mc2
// empty), so that both tools can run the same file.
func WriteMultipleChoice(w io.Writer, items []Item) error {
	var body bytes.Buffer
	pos := make([]uint32, len(items))
	head := 4 + 4*len(items)
	le := binary.LittleEndian
	putStr := func(s string) {
		body.Write(le.AppendUint32(nil, uint32(len(s))))
		body.WriteString(s)
	}
	for i, it := range items {
		pos[i] = uint32(head + body.Len())
		putStr(it.Context)
		body.Write(le.AppendUint32(nil, uint32(len(it.Choices))))
		for _, c := range it.Choices {
			putStr(c)
		}
		for j := range it.Choices {
			l := int32(0)
			if j == it.Gold {
				l = 1
			}
			body.Write(le.AppendUint32(nil, uint32(l)))
		}
		body.Write(le.AppendUint32(nil, 0)) // mc2: no answers
	}
	out := le.AppendUint32(nil, uint32(len(items)))
	for _, p := range pos {
		out = le.AppendUint32(out, p)
	}
	if _, err := w.Write(out); err != nil {
		return err
	}
	_, err := w.Write(body.Bytes())
	return err
}

// LooksLikeMultipleChoice says whether b starts as a --multiple-choice
// binary file: a task count and that many offsets, the first just after
// them and all increasing within the file.
func LooksLikeMultipleChoice(b []byte) bool {
	rd := &binReader{b: b}
	n := rd.u32()
	if rd.err != nil || n == 0 || uint64(4+4*uint64(n)) > uint64(len(b)) {
		return false
	}
	prev := uint32(0)
	for i := range n {
		p := rd.u32()
		if (i == 0 && p != 4+4*n) || p <= prev || int64(p) >= int64(len(b)) {
			return false
		}
		prev = p
	}
	return true
}

type binReader struct {
	b   []byte
	off int
	err error
}

func (r *binReader) u32() uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.off < 4 {
		r.err = fmt.Errorf("truncated at byte %d", r.off)
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *binReader) str() string {
	n := r.u32()
	if r.err != nil {
		return ""
	}
	if uint64(len(r.b)-r.off) < uint64(n) {
		r.err = fmt.Errorf("a string of %d bytes at byte %d runs past the end", n, r.off)
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s
}

func (r *binReader) answers() ([]string, []int32) {
	n := r.u32()
	if r.err == nil && n > mcMaxAnswers {
		r.err = fmt.Errorf("%d answers (llama.cpp's limit is %d)", n, mcMaxAnswers)
	}
	if r.err != nil {
		return nil, nil
	}
	ans := make([]string, n)
	for i := range ans {
		ans[i] = r.str()
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(r.u32())
	}
	return ans, labels
}

// readLines splits r into lines without their "\n" (and a "\r" before it),
// as std::getline does on a file opened in text mode; a last empty line is
// dropped.
func readLines(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	return lines, sc.Err()
}

// MMLUOptions shape an MMLU/C-Eval prompt.
type MMLUOptions struct {
	Subject string // "high school physics": named in the prompt's first line
	Shots   []Item // solved examples shown before each question (from the dev file)
}

// ReadMMLU reads an MMLU (hendrycks/test layout: question,A,B,C,D,answer,
// no header) or C-Eval (header id,question,A,B,C,D,answer[,explanation])
// CSV file. The items hold the bare question and the option texts in
// Choices; MMLUItem turns one into lm-eval's prompt.
func ReadMMLU(r io.Reader) ([]Item, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("mmlu: %w", err)
	}
	qcol := 0
	if len(rows) > 0 && len(rows[0]) > 0 && strings.EqualFold(strings.TrimPrefix(rows[0][0], "\ufeff"), "id") {
		qcol = 1 // C-Eval: an id column, and the header row
		rows = rows[1:]
	}
	var items []Item
	for n, row := range rows {
		if len(row) < qcol+6 {
			return nil, fmt.Errorf("mmlu: row %d has %d fields, want question, A, B, C, D, answer", n+1, len(row))
		}
		ans := strings.TrimSpace(row[qcol+5])
		if len(ans) != 1 || ans[0] < 'A' || ans[0] > 'D' {
			return nil, fmt.Errorf("mmlu: row %d: answer %q is not A, B, C or D", n+1, ans)
		}
		items = append(items, Item{Context: row[qcol], Choices: append([]string(nil), row[qcol+1:qcol+5]...), Gold: int(ans[0] - 'A')})
	}
	return items, nil
}

var mmluLetters = []string{"A", "B", "C", "D"}

// MMLUItem returns it as lm-eval's MMLU prompt: a header naming the
// subject, the shots with their answers, the question, and the letters
// as the options after "Answer:".
func MMLUItem(it Item, o MMLUOptions) Item {
	var b strings.Builder
	subject := o.Subject
	if subject == "" {
		b.WriteString("The following are multiple choice questions (with answers).\n\n")
	} else {
		fmt.Fprintf(&b, "The following are multiple choice questions (with answers) about %s.\n\n", subject)
	}
	for _, s := range o.Shots {
		writeMMLUQuestion(&b, s)
		fmt.Fprintf(&b, " %s\n\n", mmluLetters[s.Gold])
	}
	writeMMLUQuestion(&b, it)
	return Item{Context: b.String(), Choices: mmluLetters, Gold: it.Gold, Delim: " ", Style: StyleHarness}
}

func writeMMLUQuestion(b *strings.Builder, it Item) {
	b.WriteString(strings.TrimSpace(it.Context))
	for i, c := range it.Choices {
		fmt.Fprintf(b, "\n%s. %s", mmluLetters[i], c)
	}
	b.WriteString("\nAnswer:")
}
