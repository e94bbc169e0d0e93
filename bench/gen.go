// Package bench measures gobee's interpreter against the kernel's JIT on the
// benchmark programs of testdata/bench (architecture decision 7): the same
// program, built from one C source, runs on the same packet under both in
// one `go test -bench` run.
//
// The objects in testdata/bench are committed; `go generate ./bench`
// rebuilds them with clang-19 (needs -I/usr/include/x86_64-linux-gnu for
// asm/types.h, see testdata/bench/Makefile).
package bench

//go:generate make -B -C ../testdata/bench
