//go:build !linux

package loader

// hostRelease reports no release: the host runs no Linux kernel to ask.
func hostRelease() (string, bool) { return "", false }
