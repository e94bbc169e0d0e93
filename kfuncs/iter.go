package kfuncs

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
)

// maxLoops is BPF_MAX_LOOPS, the most iterations of one numeric iterator.
const maxLoops = 8 * 1024 * 1024

// iterNumSize is sizeof(struct bpf_iter_num): the kernel keeps
// struct bpf_iter_num_kern { int cur; int end; } in it, and so does gobee.
const iterNumSize = 8

func errno(e syscall.Errno) uint64 { return uint64(-int64(e)) }

// iterState returns the iterator's 8 bytes on the program's stack.
func iterState(r *interp.Run, name string, addr uint64) ([]byte, error) {
	b, err := r.Mem(addr, iterNumSize, true)
	if err != nil {
		return nil, fmt.Errorf("%s: iterator argument: %w", name, err)
	}
	return b, nil
}

func putIter(b []byte, cur, end int32) {
	binary.NativeEndian.PutUint32(b[0:], uint32(cur))
	binary.NativeEndian.PutUint32(b[4:], uint32(end))
}

// iterNumNew is bpf_iter_num_new(it, start, end).
func iterNumNew(r *interp.Run, it, start, end, _, _ uint64) (uint64, error) {
	b, err := iterState(r, "bpf_iter_num_new", it)
	if err != nil {
		return 0, err
	}
	s, e := int32(start), int32(end)
	if s > e {
		putIter(b, 0, 0)
		return errno(syscall.EINVAL), nil
	}
	if int64(e)-int64(s) > maxLoops {
		putIter(b, 0, 0)
		return errno(syscall.E2BIG), nil
	}
	putIter(b, s-1, e)
	return 0, nil
}

// iterNumNext is bpf_iter_num_next(it): a pointer to the current value
// (the iterator's cur field) or NULL.
func iterNumNext(r *interp.Run, it, _, _, _, _ uint64) (uint64, error) {
	b, err := iterState(r, "bpf_iter_num_next", it)
	if err != nil {
		return 0, err
	}
	cur := int32(binary.NativeEndian.Uint32(b[0:]))
	end := int32(binary.NativeEndian.Uint32(b[4:]))
	if cur+1 >= end {
		putIter(b, 0, 0)
		return 0, nil
	}
	binary.NativeEndian.PutUint32(b[0:], uint32(cur+1))
	return it, nil
}

// iterNumDestroy is bpf_iter_num_destroy(it).
func iterNumDestroy(r *interp.Run, it, _, _, _, _ uint64) (uint64, error) {
	b, err := iterState(r, "bpf_iter_num_destroy", it)
	if err != nil {
		return 0, err
	}
	putIter(b, 0, 0)
	return 0, nil
}
