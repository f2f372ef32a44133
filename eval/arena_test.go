package eval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// battlesOf expands "A beats B n times" into battles.
func battlesOf(wins map[[2]string]int) []Battle {
	var out []Battle
	for k, n := range wins {
		for range n {
			out = append(out, Battle{A: k[0], B: k[1], Outcome: WinA})
		}
	}
	return out
}

// A hand-computed example. With strengths p = (4, 2, 1) for x, y, z the
// Bradley–Terry MLE equations W_i = Σ_j n_ij·p_i/(p_i+p_j) hold for
// x–y 2:1, y–z 2:1, x–z 4:1:
//
//	x: 6 wins = 3·4/6 + 5·4/5 = 2 + 4;  y: 3 = 3·2/6 + 3·2/3 = 1 + 2;
//	z: 2 = 3·1/3 + 5·1/5 = 1 + 1.
//
// So the fit is p ∝ (4, 2, 1): on the Elo scale 400·log10 2 = 120.412
// points apart, centred on 1000: 1120.412, 1000, 879.588.
func TestFitBTHandComputed(t *testing.T) {
	b := battlesOf(map[[2]string]int{
		{"x", "y"}: 2, {"y", "x"}: 1,
		{"y", "z"}: 2, {"z", "y"}: 1,
		{"x", "z"}: 4, {"z", "x"}: 1,
	})
	names, r, err := FitBT(b)
	if err != nil {
		t.Fatal(err)
	}
	step := 400 * math.Log10(2)
	want := map[string]float64{"x": 1000 + step, "y": 1000, "z": 1000 - step}
	for i, n := range names {
		if math.Abs(r[i]-want[n]) > 1e-6 {
			t.Errorf("%s: %.6f, want %.6f", n, r[i], want[n])
		}
	}
	// Two models, 3:1: 400·log10 3 = 190.849 apart. A tie is half a win
	// each way, so 2 wins + 2 ties : 0 wins + 2 ties is 3:1 too.
	two := []Battle{{"a", "b", WinA}, {"a", "b", WinA}, {"b", "a", Tie}, {"a", "b", Tie}}
	names, r, _ = FitBT(two)
	if d := r[0] - r[1]; names[0] != "a" || math.Abs(d-400*math.Log10(3)) > 1e-6 {
		t.Errorf("%v %v: difference %.6f, want %.6f", names, r, d, 400*math.Log10(3))
	}
	// A model that never wins stays finite and last.
	names, r, err = FitBT([]Battle{{"a", "b", WinA}, {"a", "b", WinA}})
	if err != nil || math.IsInf(r[1], 0) || math.IsNaN(r[1]) || r[1] >= r[0] {
		t.Errorf("all wins: %v %v %v", names, r, err)
	}
	if _, _, err := FitBT([]Battle{{"a", "a", Tie}}); err == nil {
		t.Error("self battle accepted")
	}
}

// Online Elo, one battle by hand: equal ratings expect ½, so the winner
// gains K/2.
func TestOnlineElo(t *testing.T) {
	r := OnlineElo([]Battle{{"a", "b", WinA}}, 4)
	if r["a"] != 1002 || r["b"] != 998 {
		t.Errorf("%v", r)
	}
	r = OnlineElo([]Battle{{"a", "b", WinA}, {"a", "b", WinB}}, 4)
	// Second battle: E_a = 1/(1+10^(-4/400)), a loses K·E_a.
	ea := 1 / (1 + math.Pow(10, -4.0/400))
	if math.Abs(r["a"]-(1002-4*ea)) > 1e-9 {
		t.Errorf("%v", r)
	}
}

func TestLeaderboardBootstrap(t *testing.T) {
	b := battlesOf(map[[2]string]int{{"strong", "weak"}: 30, {"weak", "strong"}: 10, {"strong", "mid"}: 20, {"mid", "strong"}: 20, {"mid", "weak"}: 25, {"weak", "mid"}: 15})
	rows, err := Leaderboard(b, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Model != "strong" || rows[2].Model != "weak" {
		t.Fatalf("%+v", rows)
	}
	for _, r := range rows {
		if !(r.Lo < r.BT && r.BT < r.Hi) || r.Hi-r.Lo > 300 || r.Battles != 80 {
			t.Errorf("%+v", r)
		}
	}
	again, _ := Leaderboard(b, 200, 1)
	if again[0] != rows[0] {
		t.Error("the same seed gave another interval")
	}
	var svg bytes.Buffer
	if err := WriteRatingsSVG(&svg, rows); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg.Bytes(), new(struct{})); err != nil || strings.Count(svg.String(), "<circle") != 3 {
		t.Errorf("svg: %v", err)
	}
}

type fixedAnswer string

func (f fixedAnswer) Answer(_ context.Context, p string) (string, error) {
	return string(f) + " " + p, nil
}

// The order shown to the judge is random, and the verdict maps back to
// the models: a judge that always picks A gives each model wins when it
// was shown first only.
func TestRunArenaOrder(t *testing.T) {
	cs := []Contestant{{"one", fixedAnswer("a")}, {"two", fixedAnswer("b b")}, {"three", fixedAnswer("c c c")}}
	prompts := make([]string, 20)
	for i := range prompts {
		prompts[i] = fmt.Sprint("p", i)
	}
	recs, err := RunArena(context.Background(), prompts, cs, alwaysA{}, ArenaOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 60 {
		t.Fatalf("%d battles", len(recs))
	}
	firsts := map[string]int{}
	for _, r := range recs {
		if r.Battle.Outcome != WinA || r.Battle.A != r.ShownA {
			t.Fatalf("%+v", r)
		}
		firsts[r.ShownA]++
	}
	for _, c := range cs {
		if firsts[c.Name] < 8 || firsts[c.Name] > 32 {
			t.Errorf("%s shown first %d of 40 times", c.Name, firsts[c.Name])
		}
	}
	// The length judge ranks by words: three > two > one.
	recs, _ = RunArena(context.Background(), prompts, cs, LengthJudge{}, ArenaOptions{Seed: 3})
	rows, err := Leaderboard(Battles(recs), 50, 1)
	if err != nil || rows[0].Model != "three" || rows[2].Model != "one" {
		t.Errorf("%+v %v", rows, err)
	}
	if _, err := RunArena(context.Background(), prompts, cs[:1], LengthJudge{}, ArenaOptions{}); err == nil {
		t.Error("one model accepted")
	}
}

type mute struct{}

func (mute) Judge(context.Context, string, string, string) (Outcome, error) {
	return ParseVerdict("no idea")
}

type alwaysA struct{}

func (alwaysA) Judge(context.Context, string, string, string) (Outcome, error) { return WinA, nil }

func TestParseVerdictAndHuman(t *testing.T) {
	for reply, want := range map[string]Outcome{"A is clearer. [[A]]": WinA, "At first [[A]] but no: [[B]]": WinB, "equal [[C]]": Tie} {
		if got, err := ParseVerdict(reply); err != nil || got != want {
			t.Errorf("%q: %v %v", reply, got, err)
		}
	}
	if _, err := ParseVerdict("I cannot decide"); !errors.Is(err, ErrNoVerdict) {
		t.Errorf("no tag: %v", err)
	}
	cs := []Contestant{{"one", fixedAnswer("a")}, {"two", fixedAnswer("b")}}
	recs, err := RunArena(context.Background(), []string{"p", "q"}, cs, mute{}, ArenaOptions{})
	if err != nil || len(recs) != 2 || !recs[0].Skipped || len(Battles(recs)) != 0 {
		t.Errorf("a judge with no verdicts: %+v %v", recs, err)
	}
	var out bytes.Buffer
	h := &HumanJudge{In: bufio.NewReader(strings.NewReader("maybe\nB\n")), Out: &out}
	if o, err := h.Judge(context.Background(), "p", "x", "y"); err != nil || o != WinB || strings.Count(out.String(), "Which is better") != 2 {
		t.Errorf("%v %v %q", o, err, out.String())
	}
	h = &HumanJudge{In: bufio.NewReader(strings.NewReader("")), Out: &out}
	if _, err := h.Judge(context.Background(), "p", "x", "y"); err == nil {
		t.Error("end of input accepted")
	}
}
