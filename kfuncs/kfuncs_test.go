package kfuncs

import (
	"fmt"
	"testing"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/progtype"
)

func run(t *testing.T, src string) (uint64, error) {
	t.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := interp.Load(insns, &interp.Options{Kfuncs: Table(progtype.XDP)})
	if err != nil {
		t.Fatal(err)
	}
	return p.Run(&interp.Input{})
}

// TestIterNum counts the values a numeric iterator yields and checks the
// constructor's errors.
func TestIterNum(t *testing.T) {
	for _, c := range []struct {
		start, end int32
		ret        int64
		n          int64
	}{{0, 5, 0, 5}, {-3, 2, 0, 5}, {4, 4, 0, 0}, {5, 4, -22, 0}, {-1 << 31, 1<<31 - 1, -7, 0}, {0, maxLoops, 0, maxLoops}} {
		src := fmt.Sprintf(`r1 = r10
r1 += -8
r2 = %d
r3 = %d
call kfunc(%d)
r6 = r0
r7 = 0
loop:
r1 = r10
r1 += -8
call kfunc(%d)
if r0 == 0 goto done
r7 += 1
goto loop
done:
r1 = r10
r1 += -8
call kfunc(%d)
r0 = r7
r6 <<= 32
r0 |= r6
exit
`, c.start, c.end, IDIterNumNew, IDIterNumNext, IDIterNumDestroy)
		got, err := run(t, src)
		if err != nil {
			t.Fatal(err)
		}
		if ret, n := int64(int32(got>>32)), int64(uint32(got)); ret != c.ret || n != c.n {
			t.Errorf("[%d, %d): ret %d, %d values; want %d, %d", c.start, c.end, ret, n, c.ret, c.n)
		}
	}
}

// TestRCU: sections are no-ops that leave no state behind.
func TestRCU(t *testing.T) {
	lock := fmt.Sprintf("call kfunc(%d)\n", IDRCUReadLock)
	unlock := fmt.Sprintf("call kfunc(%d)\n", IDRCUReadUnlock)
	for _, src := range []string{lock + unlock, lock + lock + unlock + unlock, unlock} {
		if _, err := run(t, src+"r0 = 0\nexit\n"); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	rcuDepth.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d runs left in RCU sections", n)
	}
}

func TestTable(t *testing.T) {
	for _, k := range All() {
		if ByName(k.Name) != k || ByID(k.ID) != k || k.Fn == nil || k.Proto == "" || k.Doc == "" {
			t.Errorf("%s: incomplete entry", k.Name)
		}
	}
	if ByName("bpf_dynptr_from_xdp").Allows(progtype.SchedCLS) || !ByName("bpf_dynptr_from_skb").Allows(progtype.SchedCLS) ||
		!ByName("bpf_iter_num_new").Allows(progtype.Kprobe) || ByName("bpf_dynptr_from_skb").Allows(progtype.XDP) {
		t.Error("wrong id sets")
	}
	if got := (IterNext | RetNull).String(); got != "KF_RET_NULL|KF_ITER_NEXT" {
		t.Errorf("flags %q", got)
	}
}
