// Reference: lm-evaluation-harness api/metrics.py (mean_stderr: the sample standard deviation over
// √n, i.e. √(p(1−p)/(n−1)) for accuracies; the aggregate of several tasks as the mean of their scores,
// its error √Σse²/k); llama.cpp perplexity.cpp (the same √(p(1−p)/(n−1)) after its scores).

package eval

import "math"

// Metric is one score of a task with its standard error.
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	StdErr float64 `json:"stderr"`
}

// MeanStdErr is the mean of xs and its standard error: the sample
// standard deviation (n−1) over √n; 0 for fewer than two values.
func MeanStdErr(xs []float64) (mean, se float64) {
	n := float64(len(xs))
	if n == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= n
	if n < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss/(n-1)) / math.Sqrt(n)
}

// Aggregate is the unweighted mean of the tasks' values of one metric,
// with the error of a mean of independent estimates, √(Σ se²)/k.
func Aggregate(name string, ms []Metric) Metric {
	a := Metric{Name: name}
	if len(ms) == 0 {
		return a
	}
	var v2 float64
	for _, m := range ms {
		a.Value += m.Value
		v2 += m.StdErr * m.StdErr
	}
	k := float64(len(ms))
	a.Value /= k
	a.StdErr = math.Sqrt(v2) / k
	return a
}
