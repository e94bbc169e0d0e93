package helpers

import (
	"syscall"

	"github.com/gobee-dev/gobee/interp"
)

// userTop is where x86-64 user space ends (TASK_SIZE_MAX + PAGE_SIZE).
const userTop = 1 << 47

// kernelAddr is x86-64's copy_from_kernel_nofault_allowed: an address
// above user space, canonical (48-bit) and not the vsyscall page. The
// kernel's probe_read_kernel refuses other addresses with -ERANGE
// before trying them.
func kernelAddr(addr uint64) bool {
	return addr >= userTop && addr >= 0xffff_8000_0000_0000 && addr>>12 != 0xffff_ffff_ff600
}

// probeErr is the errno of a failed probe read of addr: -ERANGE for an
// address probe_read_kernel may not try, else -EFAULT.
func probeErr(kernel bool, addr uint64) uint64 {
	if kernel && !kernelAddr(addr) {
		return errno(syscall.ERANGE)
	}
	return errno(syscall.EFAULT)
}

// granted reports whether addr lies in memory the run may read (gobee's
// stand-in for kernel memory).
func granted(r *interp.Run, addr uint64) bool {
	_, ok := readable(r, addr)
	return ok
}

func probeRead(r *interp.Run, name string, kernel bool, dst, size, src uint64) (uint64, error) {
	size = uint64(uint32(size))
	d, err := mem(r, name, "dst", dst, size, true)
	if err != nil {
		return 0, err
	}
	s, err := r.Mem(src, size, false)
	if err != nil || (size == 0 && kernel && !granted(r, src) && !kernelAddr(src)) {
		clear(d)
		return probeErr(kernel, src), nil
	}
	copy(d, s)
	return 0, nil
}

func probeReadStr(r *interp.Run, name string, kernel bool, dst, size, src uint64) (uint64, error) {
	size = uint64(uint32(size))
	d, err := mem(r, name, "dst", dst, size, true)
	if err != nil {
		return 0, err
	}
	if size == 0 {
		return 0, nil
	}
	var n uint64
	for n < size {
		c, ok := readable(r, src+n)
		if !ok {
			clear(d)
			return probeErr(kernel, src), nil
		}
		d[n] = c
		n++
		if c == 0 {
			return n, nil
		}
	}
	d[size-1] = 0
	return size, nil
}

// ProbeReadKernel is bpf_probe_read_kernel(dst, size, unsafe_ptr): 0, or a
// negative errno with dst zeroed when the run may not read unsafe_ptr.
func ProbeReadKernel(r *interp.Run, dst, size, src, _, _ uint64) (uint64, error) {
	return probeRead(r, "bpf_probe_read_kernel", true, dst, size, src)
}

// ProbeReadUser is bpf_probe_read_user(dst, size, unsafe_ptr).
func ProbeReadUser(r *interp.Run, dst, size, src, _, _ uint64) (uint64, error) {
	return probeRead(r, "bpf_probe_read_user", false, dst, size, src)
}

// ProbeReadKernelStr is bpf_probe_read_kernel_str(dst, size, unsafe_ptr):
// the string's length including the NUL (size if it was cut, the last
// byte then being NUL), or a negative errno with dst zeroed.
func ProbeReadKernelStr(r *interp.Run, dst, size, src, _, _ uint64) (uint64, error) {
	return probeReadStr(r, "bpf_probe_read_kernel_str", true, dst, size, src)
}

// ProbeReadUserStr is bpf_probe_read_user_str(dst, size, unsafe_ptr).
func ProbeReadUserStr(r *interp.Run, dst, size, src, _, _ uint64) (uint64, error) {
	return probeReadStr(r, "bpf_probe_read_user_str", false, dst, size, src)
}
