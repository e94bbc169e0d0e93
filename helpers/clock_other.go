//go:build !linux

package helpers

import (
	"time"

	"github.com/gobee-dev/gobee/internal/monoclock"
)

// The clocks the ktime helpers read, numbered as Linux numbers them
// (programs pass these ids, whatever the host).
const (
	ClockMonotonic       ClockID = 1  // CLOCK_MONOTONIC
	ClockMonotonicCoarse ClockID = 6  // CLOCK_MONOTONIC_COARSE
	ClockBoottime        ClockID = 7  // CLOCK_BOOTTIME
	ClockTAI             ClockID = 11 // CLOCK_TAI
)

// taiOffset is TAI − UTC (37 s since 2017).
const taiOffset = 37 * time.Second

// Now returns the clock's time in nanoseconds. Away from Linux there is
// no boot-relative clock in Go's API: the monotonic clocks (coarse and
// boot time alike) are internal/monoclock's, counting from process start,
// so they never step back; TAI is the wall clock plus the TAI − UTC
// offset. Unknown ids read the monotonic clock.
func (SystemClock) Now(id ClockID) uint64 {
	if id == ClockTAI {
		return uint64(time.Now().Add(taiOffset).UnixNano())
	}
	return monoclock.Now()
}
