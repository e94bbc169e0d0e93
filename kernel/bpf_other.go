//go:build !linux

package kernel

import "unsafe"

func progLoadWith(code []byte, o LoadOptions) (int, error) {
	return -1, ErrNotSupported
}

func testRun(fd int, data, ctx []byte, repeat uint32) (uint32, []byte, uint32, error) {
	return 0, nil, 0, ErrNotSupported
}

func testRunWith(fd int, o TestRunOptions) (TestRunResult, error) {
	return TestRunResult{}, ErrNotSupported
}

func closeFD(fd int) error { return ErrNotSupported }

func mapCmd(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	return -1, ErrNotSupported
}
