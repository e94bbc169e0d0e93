package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gobee-dev/gobee/conformance"
)

func init() {
	register("conformance", "run bpf_conformance .data files", runConformance)
}

// runConformance implements `gobee conformance [--engine interp|kernel]
// [-v] FILE...`: one line per failing file, then "N passed, M failed". The exit
// status is 1 if any file failed, 2 on a usage error.
func runConformance(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	engineName := fs.String("engine", "interp", "engine to run the tests on: interp or kernel")
	verbose := fs.Bool("v", false, "print the full error (such as the verifier log) under each failure")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gobee conformance [--engine interp|kernel] [-v] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	engine, err := conformance.EngineByName(*engineName)
	if err != nil {
		fmt.Fprintln(stderr, "gobee:", err)
		return 2
	}
	passed, failed := 0, 0
	for _, path := range fs.Args() {
		res := conformance.RunFile(engine, path)
		if res.Passed {
			passed++
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL %s: %s\n", res.Name, res.Reason)
		if *verbose && res.Err != nil {
			fmt.Fprintf(stdout, "\t%s\n", strings.ReplaceAll(res.Err.Error(), "\n", "\n\t"))
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
