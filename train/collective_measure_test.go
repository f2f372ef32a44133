// Reference: the target (#28): step-time overhead of the collective on loopback and across network
// namespaces; the buffer is a shape's whole gradient, as one ZeRO step reduce-scatters and all-gathers it.

//go:build linux

package train_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/collectivetest"
)

// TestMeasureCollectives times 2-rank all-reduces of each length in
// GPTGO_COLLECTIVE_MEASURE (comma-separated float counts; the 15M shape's
// gradient is 15191712) over the transport GPTGO_COLLECTIVE_MEASURE_MODE:
// local (in-process, two goroutines), tcp (two processes over loopback) or
// netns (two processes in two network namespaces joined by veth). It
// prints one line per length, for docs/distributed.md:
//
//	GPTGO_COLLECTIVE_MEASURE=15191712 GPTGO_COLLECTIVE_MEASURE_MODE=tcp go test ./train/ -run TestMeasureCollectives -v
func TestMeasureCollectives(t *testing.T) {
	spec := os.Getenv("GPTGO_COLLECTIVE_MEASURE")
	if spec == "" {
		t.Skip("set GPTGO_COLLECTIVE_MEASURE (and _MODE, _REPS) to measure")
	}
	mode := os.Getenv("GPTGO_COLLECTIVE_MEASURE_MODE")
	reps, err := strconv.Atoi(os.Getenv("GPTGO_COLLECTIVE_MEASURE_REPS"))
	if err != nil {
		reps = 5
	}
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("GPTGO_COLLECTIVE_MEASURE: %q", f)
		}
		var ds []time.Duration
		switch mode {
		case "local":
			cs, _ := train.NewLocalGroup(2)
			res := make([][]time.Duration, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for r, c := range cs {
				wg.Go(func() { res[r], errs[r] = collectivetest.Time(c, n, reps) })
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatal(errs)
			}
			ds = res[0]
		case "tcp", "netns":
			host, port := "127.0.0.1", freePort(t)
			var wrap func(int) []string
			if mode == "netns" {
				ns, addr, _ := netnsHosts(t)
				host, port = addr[0], 29519
				wrap = func(r int) []string { return []string{"ip", "netns", "exec", ns[r]} }
			}
			ks := startRanks(t, 2, "bench", host, port, wrap, "GPTGO_BENCH_N="+f, "GPTGO_BENCH_REPS="+strconv.Itoa(reps))
			for r, err := range waitAll(t, ks, 10*time.Minute) {
				if err != nil {
					t.Fatalf("rank %d: %v: %s", r, err, ks[r].out.String())
				}
			}
			for _, l := range ks[0].lines {
				if s, ok := strings.CutPrefix(l, "time "); ok {
					v, _ := strconv.ParseFloat(s, 64)
					ds = append(ds, time.Duration(v*float64(time.Second)))
				}
			}
		default:
			t.Fatalf("GPTGO_COLLECTIVE_MEASURE_MODE %q: want local, tcp or netns", mode)
		}
		fmt.Println(summary(mode, n, ds))
	}
}

// summary is one measurement line: the median and the fastest of the reps,
// and the rate in gradient bytes per second.
func summary(mode string, n int, ds []time.Duration) string {
	slices.Sort(ds)
	med := ds[len(ds)/2]
	return fmt.Sprintf("measure %s n=%d reps=%d median=%.6fs min=%.6fs (%.2f GB/s of gradient)", mode, n, len(ds), med.Seconds(), ds[0].Seconds(), 4*float64(n)/med.Seconds()/1e9)
}
