package kfuncs

import (
	"sync"

	"github.com/gobee-dev/gobee/interp"
)

// rcuDepth holds the RCU read-side nesting depth of the runs inside a
// section. An entry lives only while its depth is above zero, so a run of
// a balanced program (the only kind the verifier accepts) leaves nothing.
//
// The kernel's verifier refuses at load time what gobee cannot see then:
// an unlock without a lock ("unmatched rcu read unlock"), a missing unlock
// at exit, and on Linux 6.18 a nested lock ("nested rcu read lock"). gobee
// runs such programs with the depth kept at zero or above: the section is
// a no-op either way, since memory a run can reach is never reused while
// the run holds it.
var rcuDepth sync.Map // *interp.Run → int

var rcuMu sync.Mutex

// RCUDepth returns how deep in RCU read-side sections run r is.
func RCUDepth(r *interp.Run) int {
	if v, ok := rcuDepth.Load(r); ok {
		return v.(int)
	}
	return 0
}

func rcuReadLock(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	rcuMu.Lock()
	rcuDepth.Store(r, RCUDepth(r)+1)
	rcuMu.Unlock()
	return 0, nil
}

func rcuReadUnlock(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	rcuMu.Lock()
	defer rcuMu.Unlock()
	if d := RCUDepth(r); d > 1 {
		rcuDepth.Store(r, d-1)
	} else {
		rcuDepth.Delete(r)
	}
	return 0, nil
}
