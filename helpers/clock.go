package helpers

import (
	"time"

	"golang.org/x/sys/unix"
)

// ClockID names a kernel clock.
type ClockID int

// The clocks the ktime helpers read.
const (
	ClockMonotonic       ClockID = unix.CLOCK_MONOTONIC
	ClockMonotonicCoarse ClockID = unix.CLOCK_MONOTONIC_COARSE
	ClockBoottime        ClockID = unix.CLOCK_BOOTTIME
	ClockTAI             ClockID = unix.CLOCK_TAI
)

// Clock gives the time of a clock in nanoseconds.
type Clock interface {
	Now(id ClockID) uint64
}

// SystemClock reads the host's clocks with clock_gettime.
type SystemClock struct{}

var start = time.Now()

// Now returns the clock's time in nanoseconds.
func (SystemClock) Now(id ClockID) uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(id), &ts); err != nil {
		return uint64(time.Since(start))
	}
	return uint64(ts.Sec)*1e9 + uint64(ts.Nsec)
}

// FixedClock is a clock for tests: every clock reads T plus the clock's
// offset in Offsets.
type FixedClock struct {
	T       uint64
	Offsets map[ClockID]uint64
}

// Now returns T plus the offset of id.
func (c *FixedClock) Now(id ClockID) uint64 { return c.T + c.Offsets[id] }
