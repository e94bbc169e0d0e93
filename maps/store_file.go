package maps

// File-backed storage for pinned maps (see docs/pinning.md).
//
// A pinned map of a type with fixed storage (ARRAY, PERCPU_ARRAY, QUEUE,
// STACK, BLOOM_FILTER) or a preallocated element pool (HASH, PERCPU_HASH,
// LRU_HASH, LRU_PERCPU_HASH, LPM_TRIE's nodes) lives in a file: a 4 KiB header (magic, version, the spec, the layout, a
// CRC of all that, and the shared mutable words: the lock, frozen, the
// element count and the free list) followed by the map's storage. Every
// process that uses the map mmaps the file MAP_SHARED; operations are
// serialised by a process-local mutex plus a spinlock word in the header
// (the holder's pid, taken with CAS, stolen if that pid no longer exists).

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// File kinds.
const (
	// FileKindStorage: the file holds the map's storage.
	FileKindStorage = 1
	// FileKindLocal: the file only marks a pin of a map whose storage is
	// private to the process that pinned it.
	FileKindLocal = 2
)

const (
	fileMagic   = "GOBEEMAP"
	fileVersion = 1
	// fileHeaderSize is where the storage starts: a page, so values are
	// aligned as in memory.
	fileHeaderSize = 4096
	// localFileSize is the size of a FileKindLocal file.
	localFileSize = 128

	// Immutable header fields, covered by the CRC at hCRC.
	hMagic      = 0
	hVersion    = 8
	hKind       = 12
	hType       = 16
	hKeySize    = 20
	hValueSize  = 24
	hMaxEntries = 28
	hFlags      = 32
	hNumCPU     = 36
	hMapExtra   = 40
	hName       = 48 // 16 bytes
	hNBuckets   = 64
	hSeed       = 68
	hElemSize   = 72
	hNLists     = 76
	hDataSize   = 80 // uint64
	hOwnerPID   = 88
	hCRC        = 92
	// Mutable shared words (4-byte aligned, accessed atomically or under
	// the lock).
	hLock   = 128 // pid of the holder, 0 when free
	hFrozen = 132 // 1 once frozen
	hCount  = 136 // elements in a hash map
	hFree   = 140 // head of the free element list (index+1, 0: empty)
	hFresh  = 144 // elements never used yet: indexes >= hFresh
	hSteals = 148 // times a dead holder's lock was taken over
	// QUEUE / STACK: the ring's head (next push) and tail (oldest
	// element) slot indexes; hCount is the number of elements.
	hQHead = 152
	hQTail = 156
	// LPM_TRIE: the root node (index+1, 0: empty); hCount is the number
	// of elements, hFree the free node list, hFresh the first node never
	// used.
	hLPMRoot = 160
)

// Errors of file-backed maps.
var (
	errCorrupt = &Error{unix.EIO, "pinned map file is corrupt"}
	errClosed  = &Error{unix.EBADF, "map storage is closed"}
)

// FileHeader is what a pinned map file's header says.
type FileHeader struct {
	Kind     uint32
	Spec     Spec
	NBuckets uint32
	Seed     uint32
	ElemSize uint32
	NLists   uint32
	DataSize uint64
	OwnerPID uint32
}

// FileBacked reports whether a map of this type can live in a file and so
// be opened by other processes.
func FileBacked(t Type) bool {
	switch t {
	case Array, PerCPUArray, Hash, PerCPUHash, LRUHash, LRUPerCPUHash,
		Queue, Stack, BloomFilter, LPMTrie:
		return true
	}
	return false
}

// layout computes the storage layout of a (validated) spec.
func layout(s *Spec) (nbuckets, elemSize, nlists uint32, dataSize uint64) {
	stride := uint64(roundUp8(int(s.ValueSize)))
	valueBytes := stride
	if s.Type.PerCPU() {
		valueBytes *= uint64(s.NumCPU)
	}
	switch s.Type {
	case Array, PerCPUArray:
		return 0, uint32(valueBytes), 0, uint64(s.MaxEntries) * valueBytes
	case Queue, Stack:
		return 0, uint32(valueBytes), 0, uint64(s.MaxEntries) * valueBytes
	case BloomFilter:
		_, nbits := bloomGeometry(s)
		return 0, 0, 0, nbits / 8
	case LPMTrie:
		es := lpmFileNodeSize(s)
		return 0, uint32(es), 0, lpmFilePool(s) * es
	}
	nbuckets = 1
	if s.MaxEntries > 1 {
		nbuckets = 1 << bits.Len32(s.MaxEntries-1)
	}
	es := uint64(elemHdr) + uint64(roundUp8(int(s.KeySize))) + valueBytes
	if s.Type == LRUHash || s.Type == LRUPerCPUHash {
		nlists = 1
		if s.Flags&FlagNoCommonLRU != 0 {
			nlists = uint32(s.NumCPU)
		}
	}
	dataSize = uint64(nlists)*16 + uint64(roundUp8(int(nbuckets)*4)) + uint64(s.MaxEntries)*es
	return nbuckets, uint32(es), nlists, dataSize
}

// ParseFileHeader checks a pinned map file's header against the file's
// size and returns what it says. Any inconsistency is an error (EINVAL),
// never a panic.
func ParseFileHeader(b []byte, fileSize int64) (*FileHeader, error) {
	bad := func(format string, args ...any) error {
		return errorf(unix.EINVAL, "not a valid gobee pinned map: "+format, args...)
	}
	if len(b) < hCRC+4 || fileSize < hCRC+4 {
		return nil, bad("file is %d bytes, shorter than the header", fileSize)
	}
	if string(b[hMagic:hMagic+8]) != fileMagic {
		return nil, bad("bad magic %q", b[hMagic:hMagic+8])
	}
	ne := binary.NativeEndian
	if v := ne.Uint32(b[hVersion:]); v != fileVersion {
		return nil, bad("version %d, gobee reads version %d", v, fileVersion)
	}
	if got, want := ne.Uint32(b[hCRC:]), crc32.ChecksumIEEE(b[:hCRC]); got != want {
		return nil, bad("header checksum %#x, want %#x", got, want)
	}
	h := &FileHeader{Kind: ne.Uint32(b[hKind:]), OwnerPID: ne.Uint32(b[hOwnerPID:])}
	s := &h.Spec
	s.Type = Type(ne.Uint32(b[hType:]))
	s.KeySize = ne.Uint32(b[hKeySize:])
	s.ValueSize = ne.Uint32(b[hValueSize:])
	s.MaxEntries = ne.Uint32(b[hMaxEntries:])
	s.Flags = ne.Uint32(b[hFlags:])
	s.NumCPU = int(ne.Uint32(b[hNumCPU:]))
	s.MapExtra = ne.Uint64(b[hMapExtra:])
	s.Name = string(bytes.TrimRight(b[hName:hName+16], "\x00"))
	h.NBuckets = ne.Uint32(b[hNBuckets:])
	h.Seed = ne.Uint32(b[hSeed:])
	h.ElemSize = ne.Uint32(b[hElemSize:])
	h.NLists = ne.Uint32(b[hNLists:])
	h.DataSize = ne.Uint64(b[hDataSize:])
	switch h.Kind {
	case FileKindLocal:
		return h, nil
	case FileKindStorage:
	default:
		return nil, bad("unknown kind %d", h.Kind)
	}
	if !FileBacked(s.Type) {
		return nil, bad("map type %v cannot be file-backed", s.Type)
	}
	if s.NumCPU <= 0 || s.NumCPU > maxNumCPU {
		return nil, bad("NumCPU %d", s.NumCPU)
	}
	if err := checkName(s.Name); err != nil {
		return nil, bad("%v", err)
	}
	chk := *s
	if err := rules[s.Type].check(&chk); err != nil {
		return nil, bad("spec: %v", err)
	}
	if chk != *s {
		return nil, bad("spec not in canonical form")
	}
	nb, es, nl, ds := layout(s)
	if nb != h.NBuckets || es != h.ElemSize || nl != h.NLists || ds != h.DataSize {
		return nil, bad("layout (%d buckets, %d-byte elements, %d lists, %d bytes) does not match the spec's (%d, %d, %d, %d)",
			h.NBuckets, h.ElemSize, h.NLists, h.DataSize, nb, es, nl, ds)
	}
	if ds > maxPrealloc {
		return nil, bad("storage of %d bytes", ds)
	}
	if want := int64(fileHeaderSize) + int64(ds); fileSize != want {
		return nil, bad("file is %d bytes, the header says %d (truncated?)", fileSize, want)
	}
	return h, nil
}

// encodeHeader writes the immutable header fields and the CRC.
func encodeHeader(b []byte, h *FileHeader) {
	ne := binary.NativeEndian
	copy(b[hMagic:], fileMagic)
	ne.PutUint32(b[hVersion:], fileVersion)
	ne.PutUint32(b[hKind:], h.Kind)
	s := &h.Spec
	ne.PutUint32(b[hType:], uint32(s.Type))
	ne.PutUint32(b[hKeySize:], s.KeySize)
	ne.PutUint32(b[hValueSize:], s.ValueSize)
	ne.PutUint32(b[hMaxEntries:], s.MaxEntries)
	ne.PutUint32(b[hFlags:], s.Flags)
	ne.PutUint32(b[hNumCPU:], uint32(s.NumCPU))
	ne.PutUint64(b[hMapExtra:], s.MapExtra)
	copy(b[hName:hName+16], s.Name)
	ne.PutUint32(b[hNBuckets:], h.NBuckets)
	ne.PutUint32(b[hSeed:], h.Seed)
	ne.PutUint32(b[hElemSize:], h.ElemSize)
	ne.PutUint32(b[hNLists:], h.NLists)
	ne.PutUint64(b[hDataSize:], h.DataSize)
	ne.PutUint32(b[hOwnerPID:], h.OwnerPID)
	ne.PutUint32(b[hCRC:], crc32.ChecksumIEEE(b[:hCRC]))
}

// fileID identifies a file across paths: the process-local lock is per
// file, so two mappings of one file in one process exclude each other.
type fileID struct{ dev, ino uint64 }

type localLock struct {
	mu   sync.Mutex
	refs int
}

var localLocks = struct {
	sync.Mutex
	m map[fileID]*localLock
}{m: map[fileID]*localLock{}}

func acquireLocal(id fileID) *localLock {
	localLocks.Lock()
	defer localLocks.Unlock()
	l := localLocks.m[id]
	if l == nil {
		l = &localLock{}
		localLocks.m[id] = l
	}
	l.refs++
	return l
}

func releaseLocal(id fileID) {
	localLocks.Lock()
	defer localLocks.Unlock()
	if l := localLocks.m[id]; l != nil {
		if l.refs--; l.refs <= 0 {
			delete(localLocks.m, id)
		}
	}
}

// fileStore is one process's mapping of a pinned map file.
type fileStore struct {
	mem    []byte // the whole file, MAP_SHARED
	data   []byte // mem[fileHeaderSize:]
	id     fileID
	local  *localLock
	pid    uint32
	closed bool // under local.mu
}

func (s *fileStore) word(off int) *uint32 { return (*uint32)(unsafe.Pointer(&s.mem[off])) }

func (s *fileStore) get(off int) uint32    { return atomic.LoadUint32(s.word(off)) }
func (s *fileStore) set(off int, v uint32) { atomic.StoreUint32(s.word(off), v) }

// lock takes the process-local mutex, then the shared spinlock: CAS of the
// lock word from 0 to our pid, spinning, then yielding, then sleeping up
// to a millisecond. While it waits it checks the holder: a pid that no
// longer exists (or our own pid, which under the local mutex can only be
// a dead earlier process whose pid we reuse) loses the lock to us.
func (s *fileStore) lock() error {
	s.local.mu.Lock()
	if s.closed {
		s.local.mu.Unlock()
		return errClosed
	}
	w := s.word(hLock)
	sleep := time.Microsecond
	for i := 0; ; i++ {
		if atomic.CompareAndSwapUint32(w, 0, s.pid) {
			return nil
		}
		switch {
		case i < 100:
		case i < 200:
			runtime.Gosched()
		default:
			time.Sleep(sleep)
			sleep = min(2*sleep, time.Millisecond)
			if i%8 == 0 {
				if h := atomic.LoadUint32(w); h != 0 && (h == s.pid || !pidAlive(h)) {
					if atomic.CompareAndSwapUint32(w, h, s.pid) {
						atomic.AddUint32(s.word(hSteals), 1)
						return nil
					}
				}
			}
		}
	}
}

func (s *fileStore) unlock() {
	atomic.StoreUint32(s.word(hLock), 0)
	s.local.mu.Unlock()
}

func (s *fileStore) frozen() bool { return s.get(hFrozen) != 0 }

// close retires the store: operations after it fail with EBADF. The
// mapping itself is deliberately NOT unmapped: a program run may still hold
// a value pointer into it (the garbage collector cannot see mmap'd memory,
// so Run.Grant does not keep it alive), and unmapping would turn that
// pointer into a crash of the host. A closed store costs address space
// until the process exits; the kernel would free it after an RCU grace
// period, which gobee has no general way to know.
func (s *fileStore) close() error {
	s.local.mu.Lock()
	defer s.local.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	releaseLocal(s.id)
	return nil
}

// newFileObject builds a map object as New does (same validation, same
// errnos) and gives it the storage alloc makes. New's own storage is
// dropped unused (for hash maps it is nearly nothing; an array's is
// garbage at once).
func newFileObject(spec Spec, alloc func(o *object) (core, error)) (*object, error) {
	m, err := New(spec)
	if err != nil {
		return nil, err
	}
	o, ok := m.(*object)
	if !ok {
		return nil, errorf(unix.EINVAL, "map type %v cannot be file-backed", spec.Type)
	}
	c, err := alloc(o)
	if err != nil {
		return nil, err
	}
	o.core = c
	return o, nil
}

// storeCore is a file-backed core: it can report its store.
type storeCore interface {
	core
	store() *fileStore
}

// newFileCore builds the core of a file-backed map over a mapped file.
func newFileCore(o *object, s *fileStore, seed uint32) core {
	switch o.spec.Type {
	case Array, PerCPUArray:
		return newFileArray(o, s)
	case Queue, Stack:
		return newFileQueue(o, s)
	case BloomFilter:
		return newFileBloom(o, s, seed)
	case LPMTrie:
		return newFileLPM(o, s)
	}
	return newFileHash(o, s, seed)
}

// NewFile creates a file-backed map and publishes it at path atomically:
// the file is built under a temporary name in path's directory and
// hard-linked into place, so another process never sees a half-made file,
// and an existing path fails with EEXIST (nothing is overwritten).
func NewFile(spec Spec, path string) (Map, error) { return newFile(spec, path, nil) }

// newFile is NewFile; a non-nil seed replaces the random hash seed (a
// migrated bloom filter keeps its seed, so its bits keep their meaning).
func newFile(spec Spec, path string, seed *uint32) (Map, error) {
	if !FileBacked(spec.Type) {
		return nil, errorf(unix.EINVAL, "map type %v cannot be file-backed", spec.Type)
	}
	var (
		tmp string
		st  *fileStore
	)
	o, err := newFileObject(spec, func(o *object) (core, error) {
		s := &o.spec
		h := &FileHeader{Kind: FileKindStorage, Spec: *s, OwnerPID: uint32(os.Getpid())}
		h.NBuckets, h.ElemSize, h.NLists, h.DataSize = layout(s)
		if h.DataSize > maxPrealloc {
			return nil, errorf(unix.ENOMEM, "map storage of %d bytes exceeds gobee's limit of %d", h.DataSize, uint64(maxPrealloc))
		}
		if s.Flags&FlagZeroSeed == 0 {
			var b [4]byte
			rand.Read(b[:])
			h.Seed = binary.NativeEndian.Uint32(b[:])
		}
		if seed != nil {
			h.Seed = *seed
		}
		var rb [8]byte
		rand.Read(rb[:])
		tmp = filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.tmp-%x", filepath.Base(path), rb))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, pathErr("create", path, err)
		}
		defer f.Close()
		size := int64(fileHeaderSize) + int64(h.DataSize)
		if err := f.Truncate(size); err != nil {
			os.Remove(tmp)
			return nil, pathErr("size", path, err)
		}
		st, err = mapFile(f, int(size))
		if err != nil {
			os.Remove(tmp)
			return nil, err
		}
		encodeHeader(st.mem, h)
		return newFileCore(o, st, h.Seed), nil
	})
	if err != nil {
		if st != nil {
			st.close()
			os.Remove(tmp)
		}
		return nil, err
	}
	err = os.Link(tmp, path)
	os.Remove(tmp)
	if err != nil {
		st.close()
		return nil, pathErr("pin", path, err)
	}
	return o, nil
}

// pathErr turns a file system error into an *Error with its errno.
func pathErr(op, path string, err error) error {
	e := Errno(err)
	if e == 0 {
		e = unix.EIO
	}
	msg := err.Error()
	var pe *os.PathError
	var le *os.LinkError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	} else if errors.As(err, &le) {
		msg = le.Err.Error()
	}
	return errorf(e, "%s %s: %s", op, path, msg)
}

// OpenFile opens a pinned map file made by NewFile, in this or another
// process. A file that is not a valid pinned map is EINVAL; a pin of a map
// that lives only in the memory of the process that pinned it is
// ENOTSUPP.
func OpenFile(path string) (Map, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, pathErr("open", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, pathErr("stat", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, errorf(unix.EINVAL, "%s is not a pinned map file", path)
	}
	hb := make([]byte, fileHeaderSize)
	n, _ := f.ReadAt(hb, 0)
	h, err := ParseFileHeader(hb[:n], fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.Kind == FileKindLocal {
		return nil, errorf(ENOTSUPP, "%s: map %q (type %v) was pinned by process %d and lives only in its memory; only file-backed types (array, percpu_array, hash, percpu_hash, lru_hash, lru_percpu_hash, queue, stack, bloom_filter, lpm_trie) can be opened from another process",
			path, h.Spec.Name, h.Spec.Type, h.OwnerPID)
	}
	st, err := mapFile(f, int(fi.Size()))
	if err != nil {
		return nil, err
	}
	o, err := newFileObject(h.Spec, func(o *object) (core, error) {
		return newFileCore(o, st, h.Seed), nil
	})
	if err != nil {
		st.close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.frozen() {
		o.frozen.Store(true)
	}
	return o, nil
}

// WriteLocalPin creates the marker file of a pin of a map whose storage is
// private to this process, failing with EEXIST if path exists.
func WriteLocalPin(spec Spec, path string) error {
	b := make([]byte, localFileSize)
	encodeHeader(b, &FileHeader{Kind: FileKindLocal, Spec: spec, OwnerPID: uint32(os.Getpid())})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return pathErr("pin", path, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return pathErr("pin", path, err)
	}
	return nil
}

func fileStoreOf(m Map) *fileStore {
	if o, ok := m.(*object); ok {
		if c, ok := o.core.(storeCore); ok {
			return c.store()
		}
	}
	return nil
}

// IsFile reports whether m is a file-backed map.
func IsFile(m Map) bool { return fileStoreOf(m) != nil }

// FreezeFile freezes m and, if it is file-backed, records it in the file
// so that every process sees the map frozen.
func FreezeFile(m Map) error {
	if err := m.Freeze(); err != nil {
		return err
	}
	if s := fileStoreOf(m); s != nil {
		s.set(hFrozen, 1)
	}
	return nil
}

// FileFrozen reports whether a file-backed map was frozen by any process.
func FileFrozen(m Map) bool {
	s := fileStoreOf(m)
	return s != nil && s.frozen()
}

// CloseFile unmaps a file-backed map's storage; later operations on m fail
// with EBADF. Runs that may still hold pointers into it must be over. It
// does nothing for other maps.
func CloseFile(m Map) error {
	if s := fileStoreOf(m); s != nil {
		return s.close()
	}
	return nil
}

// MigrateToFile creates a file-backed map at path with src's spec (a new
// hash seed unless BPF_F_ZERO_SEED) and copies src's elements into it,
// bypassing the user-space access flags (the copy is the kernel's, not a
// user's). A frozen src gives a frozen copy. The caller must keep writers
// of src out while it runs.
func MigrateToFile(src Map, path string) (Map, error) {
	so, ok := src.(*object)
	if !ok || !FileBacked(so.spec.Type) {
		return nil, errorf(unix.EINVAL, "map of type %v cannot be moved to a file", src.Spec().Type)
	}
	var seed *uint32
	if bc, ok := so.core.(*bloomCore); ok {
		seed = &bc.seed
	}
	dst, err := newFile(so.spec, path, seed)
	if err != nil {
		return nil, err
	}
	do := dst.(*object)
	fail := func(err error) (Map, error) {
		CloseFile(dst)
		os.Remove(path)
		return nil, err
	}
	// The maps without keys cannot be walked with get_next_key: their
	// storage is copied as it is.
	if err := migrateKeyless(so.core, do.core); err != nil {
		return fail(err)
	}
	if so.keySize == 0 {
		if src.Frozen() {
			if err := FreezeFile(dst); err != nil {
				return fail(err)
			}
		}
		return dst, nil
	}
	v := make([]byte, so.userValueSize)
	var key []byte
	for n := 0; ; n++ {
		if n > int(so.spec.MaxEntries) {
			return fail(errorf(unix.EIO, "map changed while it was being moved to %s", path))
		}
		next, err := so.core.nextKey(key)
		if Errno(err) == unix.ENOENT {
			break
		}
		if err != nil {
			return fail(err)
		}
		key = next
		if err := so.core.lookup(key, v); err != nil {
			if Errno(err) == unix.ENOENT {
				continue
			}
			return fail(err)
		}
		if err := do.core.update(key, v, UpdateAny, userCPU, true); err != nil {
			return fail(err)
		}
	}
	if src.Frozen() {
		if err := FreezeFile(dst); err != nil {
			return fail(err)
		}
	}
	return dst, nil
}
