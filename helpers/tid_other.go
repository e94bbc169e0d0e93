//go:build !linux

package helpers

import "os"

// currentThreadID falls back to the process id where threads have no ids
// of their own in the API.
func currentThreadID() uint32 { return uint32(os.Getpid()) }
