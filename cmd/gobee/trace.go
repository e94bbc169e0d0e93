package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/gobee-dev/gobee/helpers"
)

func init() {
	register("trace", "read trace_printk output of gobee processes (trace pipe)", runTrace)
}

const traceUsage = `Usage: gobee [--pin-root DIR] trace pipe [count N]
       gobee trace help

       'trace pipe' prints the bpf_trace_printk / bpf_trace_vprintk lines of
       every gobee process that uses the same pin root, in the kernel's
       trace_pipe format, as they are written (the FIFO PIN_ROOT/.trace_pipe).
       Lines written while nobody reads are dropped. 'count N' exits after
       N lines.
`

func runTrace(args []string, stdout, stderr io.Writer) int {
	g := global
	args, err := stripGlobalFlags(args, &g)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	root := g.pinRoot
	if root == "" {
		root = pinRoot()
	}
	if len(args) == 0 || isPrefix(args[0], "help") {
		fmt.Fprint(stdout, traceUsage)
		return 0
	}
	if !isPrefix(args[0], "pipe") {
		fmt.Fprintf(stderr, "Error: unknown command '%s'\n", args[0])
		fmt.Fprint(stderr, traceUsage)
		return 1
	}
	limit := -1
	switch rest := args[1:]; {
	case len(rest) == 0:
	case len(rest) == 2 && isPrefix(rest[0], "count"):
		n, err := strconv.Atoi(rest[1])
		if err != nil || n < 0 {
			fmt.Fprintf(stderr, "Error: can't parse count %s\n", rest[1])
			return 1
		}
		limit = n
	default:
		fmt.Fprintf(stderr, "Error: unexpected argument '%s'\n", rest[0])
		return 1
	}
	f, err := helpers.OpenSharedTrace(root)
	if err != nil {
		fmt.Fprintf(stderr, "Error: can't open the trace pipe: %v\n", err)
		return 1
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for n := 0; limit < 0 || n < limit; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := stdout.Write(line); werr != nil {
				return 1
			}
			if fl, ok := stdout.(interface{ Flush() error }); ok {
				fl.Flush()
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "Error: reading the trace pipe: %v\n", err)
			return 1
		}
	}
	return 0
}
