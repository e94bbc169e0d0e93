package loader

//go:generate make -C ../testdata/loader
