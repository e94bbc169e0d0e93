// Package examples holds the example eBPF programs that `gobee run`
// runs over their captures: an XDP firewall, a TC byte counter and a
// socket filter, each in C with its object (built by clang-19) and a
// capture made by gobee's own packet builder (gencap).
package examples

//go:generate make
//go:generate go run ./gencap -dir .
