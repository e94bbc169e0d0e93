// Package objects is gobee's object model: it plays the kernel's role for
// maps (and later programs and links). A Registry gives objects
// kernel-style IDs (monotonic, from 1) and info, hands out handles that
// keep an object alive until they are closed, and pins objects under a pin
// root, the analogue of /sys/fs/bpf. Map is the Go API, shaped like
// github.com/cilium/ebpf's Map.
//
// Pinned maps of the types with fixed storage (ARRAY, PERCPU_ARRAY, HASH,
// PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH) live in files that other
// processes open with LoadPinnedMap and use concurrently; see
// docs/pinning.md.
package objects

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/maps"
)

// DefaultPinRoot is the pin root when neither GOBEE_PIN_ROOT nor an option
// names one.
const DefaultPinRoot = "/run/gobee"

// PinRootEnv is the environment variable that overrides DefaultPinRoot.
const PinRootEnv = "GOBEE_PIN_ROOT"

// Registry is one "kernel": its objects, their IDs and its pin root.
type Registry struct {
	root string

	mu     sync.Mutex
	nextID uint32
	maps   map[uint32]*mapObject
	pins   map[string]*mapObject // pinned path → object, for objects of this registry
}

// Option configures a Registry.
type Option func(*Registry)

// WithPinRoot sets the pin root directory.
func WithPinRoot(dir string) Option { return func(r *Registry) { r.root = dir } }

// NewRegistry makes a registry. Its pin root is the WithPinRoot option,
// else $GOBEE_PIN_ROOT, else /run/gobee.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{maps: map[uint32]*mapObject{}, pins: map[string]*mapObject{}}
	if v := os.Getenv(PinRootEnv); v != "" {
		r.root = v
	} else {
		r.root = DefaultPinRoot
	}
	for _, o := range opts {
		o(r)
	}
	if abs, err := filepath.Abs(r.root); err == nil {
		r.root = abs
	}
	r.root = filepath.Clean(r.root)
	return r
}

var (
	defaultOnce sync.Once
	defaultReg  *Registry
)

// Default is the process's registry, made on first use.
func Default() *Registry {
	defaultOnce.Do(func() { defaultReg = NewRegistry() })
	return defaultReg
}

// PinRoot is the registry's pin root.
func (r *Registry) PinRoot() string { return r.root }

// Error is an object-model failure with the kernel's errno.
type Error = maps.Error

func errorf(errno unix.Errno, format string, args ...any) error {
	return &maps.Error{Errno: errno, Msg: sprintf(format, args...)}
}

// pinPath resolves a pin path: relative paths are inside the pin root;
// absolute ones must be. The parent directory must exist, and after
// resolving symbolic links it must still be inside the root (EPERM
// otherwise, the kernel's answer to a pin outside bpffs). forCreate also
// requires the path itself not to exist (EEXIST).
func (r *Registry) pinPath(p string, forCreate bool) (string, error) {
	if p == "" {
		return "", errorf(unix.EINVAL, "empty pin path")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.root, p)
	}
	p = filepath.Clean(p)
	if !within(r.root, p) || p == r.root {
		return "", errorf(unix.EPERM, "pin path %s is not inside the pin root %s", p, r.root)
	}
	if forCreate {
		if err := os.MkdirAll(r.root, 0o755); err != nil {
			return "", errorf(maps.Errno(err), "pin root %s: %v", r.root, err)
		}
	}
	realRoot, err := filepath.EvalSymlinks(r.root)
	if err != nil {
		return "", errorf(unix.ENOENT, "pin root %s does not exist", r.root)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return "", errorf(unix.ENOENT, "pin path %s: parent directory %s does not exist", p, filepath.Dir(p))
	}
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return "", errorf(unix.ENOTDIR, "pin path %s: %s is not a directory", p, filepath.Dir(p))
	}
	if !within(realRoot, parent) {
		return "", errorf(unix.EPERM, "pin path %s resolves to %s, outside the pin root %s", p, parent, realRoot)
	}
	final := filepath.Join(parent, filepath.Base(p))
	_, err = os.Lstat(final)
	switch {
	case forCreate && err == nil:
		return "", errorf(unix.EEXIST, "pin path %s already exists", p)
	case !forCreate && err != nil:
		return "", errorf(unix.ENOENT, "no pinned object at %s", p)
	case !forCreate:
		// A symbolic link must not lead out of the root either.
		target, err := filepath.EvalSymlinks(final)
		if err != nil {
			return "", errorf(unix.ENOENT, "pinned object %s: %v", p, err)
		}
		if !within(realRoot, target) || target == realRoot {
			return "", errorf(unix.EPERM, "pin path %s resolves to %s, outside the pin root %s", p, target, realRoot)
		}
		final = target
	}
	return final, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// MapIDs lists the IDs of the live maps, in order.
func (r *Registry) MapIDs() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]uint32, 0, len(r.maps))
	for id := range r.maps {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// MapFromID returns a new handle to the live map with this ID
// (BPF_MAP_GET_FD_BY_ID); ENOENT if there is none.
func (r *Registry) MapFromID(id uint32) (*Map, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.maps[id]
	if o == nil {
		return nil, errorf(unix.ENOENT, "no map with ID %d", id)
	}
	o.handles++
	return &Map{obj: o}, nil
}

// release drops the object if it has neither handles nor pins. Called with
// r.mu held.
func (r *Registry) maybeFree(o *mapObject) error {
	if o.handles > 0 || o.pinned != "" || o.dead {
		return nil
	}
	o.dead = true
	delete(r.maps, o.id)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, old := range o.old {
		maps.Release(old)
		maps.CloseFile(old)
	}
	maps.Release(o.m)
	return maps.CloseFile(o.m)
}

var errClosed = &maps.Error{Errno: unix.EBADF, Msg: "map handle is closed"}

func isErrno(err error, e unix.Errno) bool {
	return errors.Is(err, e) || unix.FromHost(err) == e // host errors away from Linux
}
