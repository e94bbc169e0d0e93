package helpers

import (
	"time"

	"golang.org/x/sys/unix"
)

// The clocks the ktime helpers read.
const (
	ClockMonotonic       ClockID = unix.CLOCK_MONOTONIC
	ClockMonotonicCoarse ClockID = unix.CLOCK_MONOTONIC_COARSE
	ClockBoottime        ClockID = unix.CLOCK_BOOTTIME
	ClockTAI             ClockID = unix.CLOCK_TAI
)

var start = time.Now()

// Now returns the clock's time in nanoseconds.
func (SystemClock) Now(id ClockID) uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(id), &ts); err != nil {
		return uint64(time.Since(start))
	}
	return uint64(ts.Sec)*1e9 + uint64(ts.Nsec)
}
