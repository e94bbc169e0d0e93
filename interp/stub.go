package interp

import (
	"errors"

	"github.com/gobee-dev/gobee/isa"
)

// Program is a loaded program, safe for concurrent runs.
type Program struct{}

// Run is the state of one run, handed to helpers.
type Run struct{}

// Load validates and decodes a program.
func Load(insns isa.Instructions, opts *Options) (*Program, error) {
	return nil, errors.New("interp: not implemented yet")
}

// Run executes the program once and returns r0.
func (p *Program) Run(in *Input) (uint64, error) { return 0, errors.New("interp: not implemented yet") }

// Addr returns the host address of b[0] as a program sees it (0 for an
// empty slice).
func Addr(b []byte) uint64 { return 0 }
