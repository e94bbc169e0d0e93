//go:build !linux

package maps

import (
	"time"

	"github.com/gobee-dev/gobee/internal/monoclock"
)

// The clocks bpf_timer_init accepts, numbered as Linux numbers them.
const (
	clockMonotonic = 1 // CLOCK_MONOTONIC
	clockRealtime  = 0 // CLOCK_REALTIME
	clockBoottime  = 7 // CLOCK_BOOTTIME
)

// clockNow reads a clock in nanoseconds: the wall clock for
// CLOCK_REALTIME, else internal/monoclock, which the ktime helpers read
// too on this host.
func clockNow(clock int32) (int64, bool) {
	switch clock {
	case clockRealtime:
		return time.Now().UnixNano(), true
	case clockMonotonic, clockBoottime:
		return int64(monoclock.Now()), true
	}
	return 0, false
}
