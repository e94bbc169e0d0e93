//go:build !linux

package tracefs

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

// errOS is why tracefs cannot be used here.
var errOS = fmt.Errorf("%w: tracefs is not supported on %s", ErrUnavailable, runtime.GOOS)

// Mount fails with ErrUnavailable: tracefs is Linux's.
func Mount() (string, error) { return "", errOS }

// OpenPipe fails with ErrUnavailable: tracefs is Linux's.
func OpenPipe(dir string) (*Pipe, error) { return nil, errOS }

// ReadAvailable fails: no Pipe is ever opened on this host.
func (p *Pipe) ReadAvailable() ([]string, error) { return nil, errOS }

func (p *Pipe) wait(deadline time.Time) {}

// Close does nothing: no Pipe is ever opened on this host.
func (p *Pipe) Close() error { return nil }

// Comm returns "": there are no per-thread comms to read on this host.
func Comm() string { return "" }

// Gettid returns the process id: there are no kernel thread ids in
// trace lines to match on this host.
func Gettid() int { return os.Getpid() }
