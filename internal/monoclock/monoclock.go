// Package monoclock is gobee's stand-in for CLOCK_MONOTONIC and
// CLOCK_BOOTTIME on hosts other than Linux, where Go has no boot-relative
// clock: nanoseconds since a base taken when the process started, read
// through Go's monotonic clock so they never step back. The ktime helpers
// and bpf_timer's absolute deadlines share it, so a deadline computed
// from bpf_ktime_get_ns means the same instant to both.
package monoclock

import "time"

// base is the clock's zero. One second is added to readings so that no
// reading is 0 (programs often treat a zero timestamp as "unset").
var base = time.Now()

// Now returns the clock's time in nanoseconds.
func Now() uint64 { return uint64(time.Since(base) + time.Second) }
