// Package difftest holds the differential tests: programs from
// internal/progen run in the Linux kernel (the kernel package) and in
// gobee's interpreter, which must agree on r0 and on the memory the
// program leaves. The tests skip when bpf() is unavailable.
//
// Run more programs or other seeds with
//
//	go test ./difftest -difftest.n=100000 -difftest.seed=12345
//
// and a single failing program with -difftest.seed=S -difftest.n=1.
package difftest
