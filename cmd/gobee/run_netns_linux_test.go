//go:build linux

package main

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobee-dev/gobee/iface"
)

// sendFromNetns opens an AF_PACKET socket on dev inside the network
// namespace ns and sends frames over and over until stop is closed. The
// goroutine's thread enters the namespace and is never handed back to
// the scheduler (it exits with the goroutine, still locked).
func sendFromNetns(ns, dev string, frames [][]byte, stop <-chan struct{}, errc chan<- error) {
	runtime.LockOSThread()
	fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		errc <- err
		return
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		errc <- err
		return
	}
	conn, err := iface.Open(dev)
	if err != nil {
		errc <- err
		return
	}
	defer conn.Close()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if err := conn.Write(frames[i%len(frames)]); err != nil {
			errc <- err
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
