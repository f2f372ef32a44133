// Reference: Bradley & Terry (1952); Hunter, "MM algorithms for generalized Bradley–Terry models"
// (Ann. Statist. 2004), the minorize–maximize update p_i ← W_i / Σ_j n_ij/(p_i+p_j); Chatbot Arena
// (Chiang et al. 2024, §4 and its notebook's conventions): ratings on the Elo scale 400·log10 p, ties
// counted as half a win each way, online Elo with K = 4, bootstrap confidence intervals over resampled
// battles.

package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Outcome of one battle, from A's side.
type Outcome int

const (
	WinA Outcome = iota
	WinB
	Tie
)

// Battle is one judged comparison of two models' answers.
type Battle struct {
	A       string  `json:"a"`
	B       string  `json:"b"`
	Outcome Outcome `json:"outcome"` // 0: A won, 1: B won, 2: tie
}

// Elo scale conventions of Chatbot Arena.
const (
	EloScale = 400.0
	EloBase  = 10.0
	EloInit  = 1000.0
	EloK     = 4.0
)

// OnlineElo replays the battles in order with the classic update
// R_A += K·(S_A − E_A), E_A = 1/(1+10^((R_B−R_A)/400)), a tie scoring ½.
// The result depends on the order, which is why Bradley–Terry is fitted too.
func OnlineElo(battles []Battle, k float64) map[string]float64 {
	r := map[string]float64{}
	get := func(m string) float64 {
		if v, ok := r[m]; ok {
			return v
		}
		return EloInit
	}
	for _, b := range battles {
		ra, rb := get(b.A), get(b.B)
		ea := 1 / (1 + math.Pow(EloBase, (rb-ra)/EloScale))
		sa := 0.5
		switch b.Outcome {
		case WinA:
			sa = 1
		case WinB:
			sa = 0
		}
		r[b.A] = ra + k*(sa-ea)
		r[b.B] = rb - k*(sa-ea)
	}
	return r
}

// FitBT fits the Bradley–Terry strengths of the models by maximum
// likelihood (MM iterations until the ratings move less than 1e-9) and
// returns them on the Elo scale with the mean rating at EloInit. A tie
// counts as half a win for each side. Models appear in sorted order.
func FitBT(battles []Battle) (names []string, ratings []float64, err error) {
	idx := map[string]int{}
	for _, b := range battles {
		if b.A == b.B {
			return nil, nil, fmt.Errorf("eval: a battle of %q against itself", b.A)
		}
		idx[b.A], idx[b.B] = 0, 0
	}
	for m := range idx {
		names = append(names, m)
	}
	slices.Sort(names)
	for i, m := range names {
		idx[m] = i
	}
	n := len(names)
	if n < 2 {
		return nil, nil, fmt.Errorf("eval: Bradley–Terry needs battles between at least 2 models, got %d", n)
	}
	games := make([][]float64, n) // games[i][j]: battles between i and j
	for i := range games {
		games[i] = make([]float64, n)
	}
	wins := make([]float64, n)
	for _, b := range battles {
		i, j := idx[b.A], idx[b.B]
		games[i][j]++
		games[j][i]++
		switch b.Outcome {
		case WinA:
			wins[i]++
		case WinB:
			wins[j]++
		default:
			wins[i] += 0.5
			wins[j] += 0.5
		}
	}
	// A model that never wins (or never loses) has its MLE at 0 (or ∞).
	// Only then, a pseudo-count of 1e-3 of a tie against every opponent
	// met keeps the fit finite; data with a finite MLE are fitted exactly.
	degenerate := false
	for i := range n {
		var g float64
		for j := range n {
			g += games[i][j]
		}
		degenerate = degenerate || wins[i] == 0 || wins[i] == g
	}
	if degenerate {
		const prior = 1e-3
		for i := range n {
			for j := range n {
				if games[i][j] > 0 {
					wins[i] += prior / 2
					games[i][j] += prior
				}
			}
		}
	}
	p := make([]float64, n)
	for i := range p {
		p[i] = 1
	}
	next := make([]float64, n)
	for range 100000 {
		for i := range n {
			var den float64
			for j := range n {
				if games[i][j] > 0 {
					den += games[i][j] / (p[i] + p[j])
				}
			}
			if den == 0 {
				next[i] = p[i]
				continue
			}
			next[i] = wins[i] / den
		}
		// Fix the scale: geometric mean 1.
		var lg float64
		for _, v := range next {
			lg += math.Log(v)
		}
		g := math.Exp(lg / float64(n))
		moved := 0.0
		for i := range n {
			v := next[i] / g
			moved = max(moved, math.Abs(math.Log(v)-math.Log(p[i])))
			p[i] = v
		}
		if moved < 1e-12 {
			break
		}
	}
	ratings = make([]float64, n)
	for i, v := range p {
		ratings[i] = EloInit + EloScale*math.Log(v)/math.Log(EloBase)
	}
	return names, ratings, nil
}

// Rating is one model's row of the leaderboard.
type Rating struct {
	Model   string  `json:"model"`
	BT      float64 `json:"bt"`    // Bradley–Terry rating, Elo scale
	Lo      float64 `json:"ci_lo"` // 95% bootstrap interval of BT
	Hi      float64 `json:"ci_hi"`
	Elo     float64 `json:"elo"`      // online Elo after the battles in their order
	Battles int     `json:"battles"`  // battles the model took part in
	WinRate float64 `json:"win_rate"` // wins (ties ½) over battles
}

// Leaderboard fits Bradley–Terry on the battles and on rounds bootstrap
// resamples of them (seeded), and returns the models by rating, best first.
func Leaderboard(battles []Battle, rounds int, seed uint64) ([]Rating, error) {
	names, bt, err := FitBT(battles)
	if err != nil {
		return nil, err
	}
	elo := OnlineElo(battles, EloK)
	rows := make([]Rating, len(names))
	pos := map[string]int{}
	for i, m := range names {
		rows[i] = Rating{Model: m, BT: bt[i], Lo: bt[i], Hi: bt[i], Elo: elo[m]}
		pos[m] = i
	}
	for _, b := range battles {
		for _, m := range []string{b.A, b.B} {
			rows[pos[m]].Battles++
		}
		switch b.Outcome {
		case WinA:
			rows[pos[b.A]].WinRate++
		case WinB:
			rows[pos[b.B]].WinRate++
		default:
			rows[pos[b.A]].WinRate += 0.5
			rows[pos[b.B]].WinRate += 0.5
		}
	}
	for i := range rows {
		rows[i].WinRate /= float64(rows[i].Battles)
	}
	if rounds > 0 {
		rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
		samples := make([][]float64, len(names))
		re := make([]Battle, len(battles))
		for range rounds {
			for i := range re {
				re[i] = battles[rng.IntN(len(battles))]
			}
			rn, rr, err := FitBT(re)
			if err != nil {
				continue // a resample with one model only
			}
			for k, m := range rn {
				samples[pos[m]] = append(samples[pos[m]], rr[k])
			}
		}
		for i, s := range samples {
			if len(s) == 0 {
				continue
			}
			slices.Sort(s)
			rows[i].Lo, rows[i].Hi = percentile(s, 0.025), percentile(s, 0.975)
		}
	}
	slices.SortStableFunc(rows, func(a, b Rating) int {
		switch {
		case a.BT > b.BT:
			return -1
		case a.BT < b.BT:
			return 1
		}
		return 0
	})
	return rows, nil
}
