package objects

import (
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/progtype"
)

// ProgramType is a program type (enum bpf_prog_type), as in cilium/ebpf.
type ProgramType = loader.ProgType

// AttachType is an attach type (enum bpf_attach_type), as in cilium/ebpf.
type AttachType = loader.AttachType

// Program types, named as in cilium/ebpf.
const (
	UnspecifiedProgram    = loader.ProgUnspec
	SocketFilter          = loader.ProgSocketFilter
	Kprobe                = loader.ProgKprobe
	SchedCLS              = loader.ProgSchedCLS
	SchedACT              = loader.ProgSchedACT
	TracePoint            = loader.ProgTracepoint
	XDP                   = loader.ProgXDP
	PerfEvent             = loader.ProgPerfEvent
	CGroupSKB             = loader.ProgCgroupSKB
	CGroupSock            = loader.ProgCgroupSock
	LWTIn                 = loader.ProgLWTIn
	LWTOut                = loader.ProgLWTOut
	LWTXmit               = loader.ProgLWTXmit
	SockOps               = loader.ProgSockOps
	SkSKB                 = loader.ProgSKSKB
	CGroupDevice          = loader.ProgCgroupDevice
	SkMsg                 = loader.ProgSKMsg
	RawTracepoint         = loader.ProgRawTracepoint
	CGroupSockAddr        = loader.ProgCgroupSockAddr
	LWTSeg6Local          = loader.ProgLWTSeg6Local
	LircMode2             = loader.ProgLircMode2
	SkReuseport           = loader.ProgSKReuseport
	FlowDissector         = loader.ProgFlowDissector
	CGroupSysctl          = loader.ProgCgroupSysctl
	RawTracepointWritable = loader.ProgRawTracepointWritable
	CGroupSockopt         = loader.ProgCgroupSockopt
	Tracing               = loader.ProgTracing
	StructOps             = loader.ProgStructOps
	Extension             = loader.ProgExt
	LSM                   = loader.ProgLSM
	SkLookup              = loader.ProgSKLookup
	Syscall               = loader.ProgSyscall
	Netfilter             = loader.ProgNetfilter
)

// ProgTypeOf maps the loader's program type to package progtype's. Both
// use the kernel's numbering (enum bpf_prog_type), so the mapping is the
// identity on the number; it exists so that the two packages need not
// import each other.
func ProgTypeOf(t loader.ProgType) progtype.Type { return progtype.Type(uint32(t)) }

// AttachTypeOf maps the loader's attach type to package progtype's (both
// numbered as the kernel's enum bpf_attach_type).
func AttachTypeOf(t loader.AttachType) progtype.AttachType { return progtype.AttachType(uint32(t)) }
