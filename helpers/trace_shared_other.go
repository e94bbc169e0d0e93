//go:build !unix

package helpers

import (
	"errors"
	"os"
	"runtime"
)

// ErrSharedTraceUnsupported is OpenSharedTrace's error where the host has
// no FIFOs.
var ErrSharedTraceUnsupported = errors.New("helpers: the shared trace pipe (a FIFO in the pin root) is not supported on " + runtime.GOOS)

// Write drops the line: without FIFOs there is no shared trace pipe, as
// with no reader on a Unix host. It never fails.
func (w *SharedTraceWriter) Write(b []byte) (int, error) { return len(b), nil }

// Close does nothing: no descriptor was opened.
func (w *SharedTraceWriter) Close() error { return nil }

// OpenSharedTrace fails with ErrSharedTraceUnsupported: the shared trace
// pipe is a FIFO, which this host does not have.
func OpenSharedTrace(pinRoot string) (*os.File, error) {
	return nil, &os.PathError{Op: "mkfifo", Path: SharedTracePath(pinRoot), Err: ErrSharedTraceUnsupported}
}
