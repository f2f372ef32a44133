package eval

import (
	"bytes"
	"testing"
)

// Any bytes through every task reader and the verdict parser: an
// error or items, never a panic; items read are well-formed (a gold
// index inside the options).
func FuzzReadTasks(f *testing.F) {
	var mc bytes.Buffer
	WriteMultipleChoice(&mc, []Item{{Context: "q", Choices: []string{"a", "b"}, Gold: 1}})
	f.Add(mc.Bytes())
	f.Add([]byte(hellaswagFile))
	f.Add([]byte("0,A _ b.,x,y,1\n1,\"q, _\",x,y,2\n"))
	f.Add([]byte("id,question,A,B,C,D,answer\n1,q,a,b,c,d,C\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(items []Item, err error) {
			if err != nil {
				return
			}
			for _, it := range items {
				if it.Gold < 0 || it.Gold >= len(it.Choices) {
					t.Fatalf("gold %d of %d options", it.Gold, len(it.Choices))
				}
			}
		}
		check(ReadMultipleChoice(b))
		LooksLikeMultipleChoice(b)
		check(ReadHellaSwag(bytes.NewReader(b)))
		check(ReadWinogrande(bytes.NewReader(b)))
		check(ReadMMLU(bytes.NewReader(b)))
		check(readJSONLChoices(b))
		readJSONLGen(b)
		Sniff("x.txt", b)
		Sniff("x.csv", b)
		Sniff("x.jsonl", b)
		ParseVerdict(string(b))
		FinalNumber(string(b))
	})
}
