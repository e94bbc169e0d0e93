package main

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/objects"
)

// coreBTF is `--btf FILE` of run and test-run: a vmlinux BTF file that
// CO-RE relocations resolve against (after gobee's own context types),
// instead of the running kernel's /sys/kernel/btf/vmlinux.
var coreBTF string

// loadObject loads an ELF object for the interpreter, honouring --btf.
func loadObject(path string) (*objects.CollectionSpec, error) {
	return objects.LoadCollectionSpecWith(path, &loader.Options{KernelBTFPath: coreBTF})
}

// kernelCollectionOptions are the kernel engine's options, honouring --btf.
func kernelCollectionOptions() (ebpf.CollectionOptions, error) {
	if coreBTF == "" {
		return ebpf.CollectionOptions{}, nil
	}
	spec, err := btf.LoadSpec(coreBTF)
	if err != nil {
		return ebpf.CollectionOptions{}, fmt.Errorf("--btf %s: %w", coreBTF, err)
	}
	return ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: spec}}, nil
}
