package helpers

// The C programs of the kernel differential test; the objects are committed.
//go:generate clang-19 -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -c ../testdata/helpers/helpers.c -o ../testdata/helpers/helpers.o
