//go:build !linux

package main

import "errors"

func sendFromNetns(ns, dev string, frames [][]byte, stop <-chan struct{}, errc chan<- error) {
	errc <- errors.New("network namespaces need Linux")
}
