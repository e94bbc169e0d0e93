package maps

// The C program of the ring buffer kernel differential test; the object is
// committed.
//go:generate clang-19 -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -c ../testdata/maps/ringbuf.c -o ../testdata/maps/ringbuf.o
//go:generate clang-19 -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -c ../testdata/maps/perf.c -o ../testdata/maps/perf.o
