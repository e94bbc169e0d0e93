package kfuncs

//go:generate make -C ../testdata/kfuncs
