package helpers

// ClockID names a kernel clock.
type ClockID int

// Clock gives the time of a clock in nanoseconds.
type Clock interface {
	Now(id ClockID) uint64
}

// SystemClock reads the host's clocks: with clock_gettime on Linux
// (clock_linux.go), from Go's monotonic and wall clocks elsewhere
// (clock_other.go).
type SystemClock struct{}

// FixedClock is a clock for tests: every clock reads T plus the clock's
// offset in Offsets.
type FixedClock struct {
	T       uint64
	Offsets map[ClockID]uint64
}

// Now returns T plus the offset of id.
func (c *FixedClock) Now(id ClockID) uint64 { return c.T + c.Offsets[id] }
