package kfuncs

import (
	"fmt"
	"testing"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/progtype"
)

type xdpCtx struct{ x *progtype.XDPBuff }

func (c xdpCtx) XDPBuff() *progtype.XDPBuff { return c.x }

// TestDynptrXDP slices a multi-buffer frame: in the linear part the slice
// points into the packet (and rdwr writes it), across the fragments it is
// a copy into the buffer, beyond the frame NULL.
func TestDynptrXDP(t *testing.T) {
	x := &progtype.XDPBuff{Buf: make([]byte, 64), Data: 16, End: 48, Frags: []byte{0xaa, 0xbb, 0xcc, 0xdd}}
	for i := x.Data; i < x.End; i++ {
		x.Buf[i] = byte(i - x.Data)
	}
	// r6 = the result of each step, combined.
	src := fmt.Sprintf(`r1 = 0
r2 = 0
r3 = r10
r3 += -16
call kfunc(%[1]d)
r1 = r10
r1 += -16
r2 = 4
r3 = r10
r3 += -24
r4 = 4
call kfunc(%[2]d)
if r0 == 0 goto fail
r6 = *(u32 *)(r0 + 0)
*(u8 *)(r0 + 0) = 0x77
r1 = r10
r1 += -16
r2 = 30
r3 = r10
r3 += -24
r4 = 4
call kfunc(%[3]d)
if r0 == 0 goto fail
r7 = *(u32 *)(r0 + 0)
r1 = r10
r1 += -16
r2 = 33
r3 = r10
r3 += -24
r4 = 4
call kfunc(%[3]d)
if r0 != 0 goto fail
r1 = r10
r1 += -16
call kfunc(%[4]d)
r7 <<= 32
r6 |= r7
r0 = r6
exit
fail:
r0 = 0
exit
`, IDDynptrFromXDP, IDDynptrSliceRdwr, IDDynptrSlice, IDDynptrSize)
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := interp.Load(insns, &interp.Options{Kfuncs: Table(progtype.XDP)})
	if err != nil {
		t.Fatal(err)
	}
	ret, err := p.Run(&interp.Input{Regions: []interp.Region{{Mem: x.Buf, Writable: true}}, Context: xdpCtx{x}})
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := uint32(ret), uint32(ret>>32); lo != 0x07060504 || hi != 0xbbaa1f1e {
		t.Errorf("got %#x %#x", lo, hi)
	}
	if x.Buf[x.Data+4] != 0x77 {
		t.Error("write through the rdwr slice did not reach the packet")
	}
}
