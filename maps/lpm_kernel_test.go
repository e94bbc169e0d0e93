//go:build linux

package maps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// Differential tests of LPM_TRIE against kernel tries: random prefixes of
// random lengths inserted with every flag, exact deletes, longest-prefix
// lookups of random addresses, get_next_key walks (compared in order: the
// trie has the kernel's shape, so the post-order walk is the same) and the
// generic batch operations.

type lpmPair struct {
	*pair
	bases [][]byte // data that keys and addresses are variations of
	used  [][]byte // keys inserted so far, to delete and walk from
}

func (l *lpmPair) dataSize() int { return int(l.spec.KeySize) - 4 }

// data returns a variation of a base: a few bits flipped, mostly near the
// end, so that prefixes share long runs of leading bits.
func (l *lpmPair) data() []byte {
	d := bytes.Clone(l.bases[l.rng.Intn(len(l.bases))])
	for range l.rng.Intn(3) {
		i := l.rng.Intn(len(d) * 8)
		if l.rng.Intn(2) == 0 {
			i = len(d)*8 - 1 - l.rng.Intn(min(len(d)*8, 12))
		}
		d[i/8] ^= 0x80 >> (i % 8)
	}
	return d
}

func (l *lpmPair) mkKey(plen uint32, data []byte) []byte {
	k := binary.NativeEndian.AppendUint32(nil, plen)
	return append(k, data...)
}

// prefix returns a key with a random prefix length (rarely too long).
func (l *lpmPair) prefix() []byte {
	if len(l.used) > 0 && l.rng.Intn(3) == 0 {
		return l.used[l.rng.Intn(len(l.used))]
	}
	max := l.dataSize() * 8
	plen := uint32(l.rng.Intn(max + 1))
	if l.rng.Intn(60) == 0 {
		plen = uint32(max + 1 + l.rng.Intn(100))
	}
	return l.mkKey(plen, l.data())
}

// address returns a lookup key: a full-length address, sometimes with a
// shorter or longer prefix length.
func (l *lpmPair) address() []byte {
	plen := uint32(l.dataSize() * 8)
	switch l.rng.Intn(10) {
	case 0:
		plen = uint32(l.rng.Intn(int(plen) + 1))
	case 1:
		plen += uint32(l.rng.Intn(1000))
	}
	return l.mkKey(plen, l.data())
}

func (l *lpmPair) update() {
	l.t.Helper()
	k := l.prefix()
	f, v := l.randFlags(), l.randValue()
	gerr := l.g.Update(k, v, f)
	l.sameErr(fmt.Sprintf("update %x flags %d", k, f), gerr, l.k.update(k, v, f))
	if gerr == nil && !slices.ContainsFunc(l.used, func(u []byte) bool { return bytes.Equal(u, k) }) {
		l.used = append(l.used, k)
	}
}

func (l *lpmPair) step() {
	l.t.Helper()
	l.ops++
	switch r := l.rng.Intn(100); {
	case r < 30:
		l.update()
	case r < 55:
		l.lookup(l.address())
	case r < 60:
		l.lookup(l.prefix())
	case r < 75:
		// Mostly keys that are in the trie, so that it drains and
		// refills rather than staying full.
		k := l.prefix()
		if len(l.used) > 0 && l.rng.Intn(3) > 0 {
			k = l.used[l.rng.Intn(len(l.used))]
		}
		gerr := l.g.Delete(k)
		l.sameErr(fmt.Sprintf("delete %x", k), gerr, l.k.delete(k))
		if gerr == nil {
			l.used = slices.DeleteFunc(l.used, func(u []byte) bool { return bytes.Equal(u, k) })
		}
	case r < 76:
		l.lookupAndDelete(l.prefix())
	case r < 83:
		switch l.rng.Intn(4) {
		case 0:
			l.nextKey(nil)
		case 1:
			l.nextKey(l.address())
		default:
			l.nextKey(l.prefix())
		}
	case r < 86:
		l.compareAll()
	case r < 92:
		l.batchLookup(1 + l.rng.Intn(int(l.spec.MaxEntries)+2))
	case r < 95:
		n := l.rng.Intn(5)
		ks, vs := int(l.spec.KeySize), int(l.spec.ValueSize)
		keys, vals := make([]byte, 0, n*ks), make([]byte, 0, n*vs)
		for range n {
			keys = append(keys, l.prefix()...)
			vals = append(vals, l.randValue()...)
		}
		gn, gerr := l.g.BatchUpdate(keys, vals, 0)
		kn, _, kerr := l.k.batch(sysMapUpdateBatch, nil, ks, keys, vals, n, 0)
		l.sameErr("update_batch", gerr, kerr)
		if Errno(gerr) != unix.EPERM && gn != kn {
			l.fail("update_batch: gobee %d, kernel %d", gn, kn)
		}
	case r < 98:
		n := l.rng.Intn(4)
		keys := make([]byte, 0, n*int(l.spec.KeySize))
		for range n {
			keys = append(keys, l.prefix()...)
		}
		gn, gerr := l.g.BatchDelete(keys, 0)
		kn, _, kerr := l.k.batch(sysMapDeleteBatch, nil, int(l.spec.KeySize), keys, nil, n, 0)
		l.sameErr("delete_batch", gerr, kerr)
		if Errno(gerr) != unix.EPERM && gn != kn {
			l.fail("delete_batch: gobee %d, kernel %d", gn, kn)
		}
	default:
		ks, vs := int(l.spec.KeySize), int(l.spec.ValueSize)
		_, _, gerr := l.g.BatchLookupAndDelete(nil, make([]byte, ks), make([]byte, vs), 0)
		_, _, kerr := l.k.batch(sysMapLookupDelBatch, nil, ks, make([]byte, ks), make([]byte, vs), 1, 0)
		l.sameErr("lookup_and_delete_batch", gerr, kerr)
	}
}

// batchLookup walks the trie with generic batch lookups of count elements
// (the cursor is the last key returned) and compares every batch.
func (l *lpmPair) batchLookup(count int) {
	l.t.Helper()
	ks, vs := int(l.spec.KeySize), int(l.spec.ValueSize)
	var gcur, kcur []byte
	for range int(l.spec.MaxEntries) + 2 {
		l.ops++
		gK, gV := make([]byte, count*ks), make([]byte, count*vs)
		kK, kV := make([]byte, count*ks), make([]byte, count*vs)
		gn, gnext, gerr := l.g.BatchLookup(gcur, gK, gV, 0)
		kn, knext, kerr := l.k.batch(sysMapLookupBatch, kcur, ks, kK, kV, count, 0)
		l.sameErr(fmt.Sprintf("lookup_batch count %d cursor %x", count, gcur), gerr, kerr)
		if e := Errno(gerr); e != 0 && e != unix.ENOENT {
			return
		}
		if gn != kn || !bytes.Equal(gK[:gn*ks], kK[:kn*ks]) || !bytes.Equal(gV[:gn*vs], kV[:kn*vs]) {
			l.fail("lookup_batch cursor %x: gobee %d %x/%x, kernel %d %x/%x", gcur, gn, gK[:gn*ks], gV[:gn*vs], kn, kK[:kn*ks], kV[:kn*vs])
		}
		if gerr != nil || gn == 0 {
			return
		}
		if !bytes.Equal(gnext, knext) {
			l.fail("lookup_batch: next cursor gobee %x, kernel %x", gnext, knext)
		}
		gcur, kcur = gnext, knext
	}
}

var lpmSpecs = []struct {
	spec  Spec
	ops   int
	bases int
}{
	{Spec{Name: "lpm_v4", Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 40, Flags: FlagNoPrealloc}, 9000, 3},
	{Spec{Name: "lpm_byte", Type: LPMTrie, KeySize: 5, ValueSize: 3, MaxEntries: 300, Flags: FlagNoPrealloc}, 3000, 1},
	{Spec{Name: "lpm_v6", Type: LPMTrie, KeySize: 20, ValueSize: 12, MaxEntries: 24, Flags: FlagNoPrealloc}, 4000, 4},
	{Spec{Name: "lpm_small", Type: LPMTrie, KeySize: 6, ValueSize: 4, MaxEntries: 5, Flags: FlagNoPrealloc}, 2000, 2},
	{Spec{Name: "lpm_wronly", Type: LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 8, Flags: FlagNoPrealloc | FlagWronly}, 500, 2},
}

func TestKernelDifferentialLPM(t *testing.T) {
	ncpu := requireBPF(t)
	total := 0
	for i, d := range lpmSpecs {
		spec := d.spec
		spec.NumCPU = ncpu
		t.Run(spec.Name, func(t *testing.T) {
			l := &lpmPair{pair: newPair(t, spec, int64(200+i))}
			l.exact = true
			for range d.bases {
				b := make([]byte, l.dataSize())
				l.rng.Read(b)
				l.bases = append(l.bases, b)
			}
			for l.ops < d.ops {
				l.step()
			}
			l.compareAll()
			l.sameErr("freeze", l.g.Freeze(), l.k.freeze())
			for range 300 {
				l.step()
			}
			l.compareAll()
			total += l.ops
		})
	}
	fmt.Printf("maps: compared %d operations on %v against the kernel\n", total, LPMTrie)
}
