package maps

//go:generate clang-19 -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -c ../testdata/maps/lock.c -o ../testdata/maps/lock.o
