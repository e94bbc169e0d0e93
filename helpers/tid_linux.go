package helpers

import "golang.org/x/sys/unix"

// currentThreadID is the OS thread the calling goroutine runs on.
func currentThreadID() uint32 { return uint32(unix.Gettid()) }
