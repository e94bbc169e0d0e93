package maps

import "golang.org/x/sys/unix"

// The clocks bpf_timer_init accepts.
const (
	clockMonotonic = unix.CLOCK_MONOTONIC
	clockRealtime  = unix.CLOCK_REALTIME
	clockBoottime  = unix.CLOCK_BOOTTIME
)

// clockNow reads a clock in nanoseconds.
func clockNow(clock int32) (int64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, false
	}
	return ts.Nano(), true
}
