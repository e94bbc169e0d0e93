package difftest

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobee-dev/gobee/kernel"
)

var (
	flagN    = flag.Int("difftest.n", 10000, "number of generated programs TestDifferential runs")
	flagSeed = flag.Uint64("difftest.seed", 1, "seed of the first program; program i uses seed+i")
)

// maxRejectedFraction is how many generated programs the verifier may
// reject before the generator counts as broken.
const maxRejectedFraction = 0.005

// Reporting limits.
const (
	maxReportedMismatches = 3
	maxReportedRejections = 3
)

func requireKernel(t testing.TB) {
	t.Helper()
	if err := kernel.Supported(); err != nil {
		t.Skipf("differential tests need the kernel engine: %v", err)
	}
}

// result is one case as both engines ran it.
type result struct {
	c      testCase
	kernel outcome
	gobee  outcome
}

// runCases runs n cases from seed on all CPUs and returns them in seed
// order.
func runCases(n int, seed uint64) []result {
	results := make([]result, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				c := newCase(seed + uint64(i))
				results[i] = result{c: c, kernel: c.runKernel()}
				if results[i].kernel.err == nil {
					results[i].gobee = c.runInterp()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// TestDifferential runs generated programs in the kernel and in gobee and
// compares r0 and the memory. Programs the verifier rejects are generator
// bugs; a few are tolerated, more fail the test.
func TestDifferential(t *testing.T) {
	requireKernel(t)
	n, seed := *flagN, *flagSeed
	start := time.Now()
	results := runCases(n, seed)
	elapsed := time.Since(start)

	var compared, mismatched, rejected int
	var reasons []string
	for _, r := range results {
		if ve, ok := r.kernel.rejected(); ok {
			rejected++
			if rejected <= maxReportedRejections {
				reasons = append(reasons, fmt.Sprintf("%v\n%s", ve, r.c.report()))
			}
			continue
		}
		if r.kernel.err != nil {
			t.Errorf("kernel could not run seed %d: %v", r.c.seed, r.kernel.err)
			continue
		}
		compared++
		if d := diff(r.kernel, r.gobee); d != "" {
			mismatched++
			if mismatched <= maxReportedMismatches {
				t.Errorf("gobee and the kernel disagree:\n%s%s", d, r.c.report())
			}
		}
	}
	msg := fmt.Sprintf("differential: compared %d programs against the kernel (seeds %d..%d, %d mismatched, %d rejected by the verifier, %v)",
		compared, seed, seed+uint64(n)-1, mismatched, rejected, elapsed.Round(time.Millisecond))
	t.Log(msg)
	fmt.Println(msg)
	if mismatched > maxReportedMismatches {
		t.Errorf("%d mismatches in all, %d shown", mismatched, maxReportedMismatches)
	}
	if float64(rejected) > maxRejectedFraction*float64(n) {
		t.Errorf("the verifier rejected %d of %d generated programs (more than %.1f%%); first ones:\n%s",
			rejected, n, 100*maxRejectedFraction, strings.Join(reasons, "\n"))
	} else if rejected > 0 {
		t.Logf("the verifier rejected %d generated programs; first ones:\n%s", rejected, strings.Join(reasons, "\n"))
	}
}

// FuzzDifferential compares gobee with the kernel on the program a seed
// generates. A program the verifier rejects is a generator bug and fails.
func FuzzDifferential(f *testing.F) {
	requireKernel(f)
	for _, s := range []uint64{0, 1, 2, 3, 42, 1 << 32} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		c := newCase(seed)
		want := c.runKernel()
		if want.err != nil {
			t.Fatalf("kernel: %v\n%s", want.err, c.report())
		}
		if d := diff(want, c.runInterp()); d != "" {
			t.Fatalf("gobee and the kernel disagree:\n%s%s", d, c.report())
		}
	})
}
