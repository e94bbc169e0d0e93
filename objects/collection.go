package objects

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/cilium/ebpf"
	unix "github.com/gobee-dev/gobee/internal/linuxerr"

	"github.com/gobee-dev/gobee/helpers"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/maps"
)

// CollectionSpec is everything an ELF object defines, as cilium/ebpf's
// CollectionSpec: maps (with global data and their pinning) and programs.
type CollectionSpec struct {
	Maps     map[string]*CollectionMapSpec
	Programs map[string]*ProgramSpec
	// Object is the absolute path of the file the spec was loaded from
	// ("" when it was not loaded from a file). Pinned programs record it.
	Object string
}

// CollectionMapSpec is a map of a collection: the loader's spec (name,
// type, sizes, flags, initial contents of global data, frozen) and how it
// is pinned. Fields read and write as on cilium/ebpf's MapSpec.
type CollectionMapSpec struct {
	*loader.MapSpec
	// Pinning is PinByName for maps declared with
	// __uint(pinning, LIBBPF_PIN_BY_NAME).
	Pinning PinType
}

// LoadCollectionSpec reads an ELF object (cilium/ebpf:
// ebpf.LoadCollectionSpec).
func LoadCollectionSpec(path string) (*CollectionSpec, error) {
	return LoadCollectionSpecWith(path, nil)
}

// LoadCollectionSpecWith reads an ELF object with loader options (CO-RE
// target BTF, kconfig values).
func LoadCollectionSpecWith(path string, opts *loader.Options) (*CollectionSpec, error) {
	ls, err := loader.LoadWith(path, opts)
	if err != nil {
		return nil, err
	}
	cs := &CollectionSpec{Maps: map[string]*CollectionMapSpec{}, Programs: ls.Programs}
	if abs, err := filepath.Abs(path); err == nil {
		cs.Object = abs
	}
	// The loader keeps what gobee needs to run; libbpf's pinning
	// attribute is read through cilium/ebpf, which parsed the same file.
	var pinning map[string]ebpf.PinType
	if ccs, err := ebpf.LoadCollectionSpec(path); err == nil {
		pinning = map[string]ebpf.PinType{}
		for name, m := range ccs.Maps {
			pinning[name] = m.Pinning
		}
	}
	for name, m := range ls.Maps {
		cm := &CollectionMapSpec{MapSpec: m}
		if pinning[name] == ebpf.PinByName {
			cm.Pinning = PinByName
		}
		cs.Maps[name] = cm
	}
	return cs, nil
}

// CollectionOptions are the options of NewCollectionWithOptions.
type CollectionOptions struct {
	// Maps: PinPath is the directory of PinByName maps.
	Maps MapOptions
	// Programs apply to every program (helpers' environment, trace pipe).
	Programs ProgramOptions
}

// Collection is the maps and programs of an object, loaded (cilium/ebpf:
// ebpf.Collection).
type Collection struct {
	Programs map[string]*Program
	Maps     map[string]*Map
	trace    *helpers.TracePipe
}

// TracePipe is where the collection's programs write bpf_trace_printk
// lines: CollectionOptions.Programs.TracePipe, or a pipe of the
// collection's own. Read it (blocking) or Drain it.
func (c *Collection) TracePipe() *helpers.TracePipe { return c.trace }

// NewCollection loads spec into the default registry.
func NewCollection(spec *CollectionSpec) (*Collection, error) {
	return Default().NewCollectionWithOptions(spec, CollectionOptions{})
}

// NewCollectionWithOptions loads spec into the default registry.
func NewCollectionWithOptions(spec *CollectionSpec, opts CollectionOptions) (*Collection, error) {
	return Default().NewCollectionWithOptions(spec, opts)
}

// NewCollection loads spec.
func (r *Registry) NewCollection(spec *CollectionSpec) (*Collection, error) {
	return r.NewCollectionWithOptions(spec, CollectionOptions{})
}

// NewCollectionWithOptions creates the maps of spec (global data with its
// contents, .rodata and .kconfig frozen; PinByName maps opened at or
// pinned to opts.Maps.PinPath/NAME, as libbpf does: a map found pinned is
// reused as it is) and loads every program, linked to them. On error
// nothing stays loaded.
func (r *Registry) NewCollectionWithOptions(spec *CollectionSpec, opts CollectionOptions) (_ *Collection, err error) {
	if spec == nil {
		return nil, errorf(unix.EINVAL, "nil CollectionSpec")
	}
	env, pipe := programEnv(opts.Programs)
	c := &Collection{Programs: map[string]*Program{}, Maps: map[string]*Map{}, trace: pipe}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	for _, name := range sortedKeys(spec.Maps) {
		m, err := r.collectionMap(name, spec.Maps[name], opts.Maps)
		if err != nil {
			return nil, fmt.Errorf("map %s: %w", name, err)
		}
		c.Maps[name] = m
	}
	// Global data that any program addresses directly is given to every
	// run, so that tail calls between the collection's programs find it.
	var regions []interp.Region
	storage := map[string]maps.Map{}
	for name, m := range c.Maps {
		storage[name] = m.Storage()
	}
	names := sortedKeys(spec.Programs)
	for _, name := range names {
		ps := spec.Programs[name]
		if l, err := loader.LinkWithOptions(ps, storage, kfuncLinkOptions(ProgTypeOf(ps.Type))); err == nil {
			regions = mergeRegions(regions, l.Regions())
		}
	}
	for _, name := range names {
		ps := spec.Programs[name]
		used := map[string]*Map{}
		for _, ref := range ps.MapRefs {
			if m := c.Maps[ref.Map]; m != nil {
				used[ref.Map] = m
			}
		}
		src := pinSource{Object: spec.Object, Program: name, PinPath: opts.Maps.PinPath}
		if spec.Object == "" {
			src = pinSource{}
		}
		p, err := r.loadProgram(ps, used, env, pipe, regions, src)
		if err != nil {
			return nil, err
		}
		c.Programs[name] = p
	}
	return c, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var zeroKey = []byte{0, 0, 0, 0}

// collectionMap creates (or opens, for PinByName) one map of a collection.
func (r *Registry) collectionMap(name string, cm *CollectionMapSpec, mo MapOptions) (*Map, error) {
	if cm == nil || cm.MapSpec == nil {
		return nil, errorf(unix.EINVAL, "nil map spec")
	}
	ls := cm.Spec()
	if cm.InnerMap != nil {
		inner := cm.InnerMap.Spec()
		ls.InnerMap = &inner
	}
	if cm.Pinning == PinByName {
		if cm.InnerMap != nil {
			return nil, fmt.Errorf("%w: pinning maps of maps", ErrNotSupported)
		}
		p := filepath.Join(mo.PinPath, cm.Name)
		if m, err := r.LoadPinnedMap(p); err == nil {
			if err := compatible(ls, m); err != nil {
				m.Close()
				return nil, err
			}
			return m, nil // reused as it is, contents included
		} else if !errors.Is(err, unix.ENOENT) {
			return nil, err
		}
		ms := &MapSpec{Name: ls.Name, Type: ls.Type, KeySize: ls.KeySize, ValueSize: ls.ValueSize,
			MaxEntries: ls.MaxEntries, Flags: ls.Flags, MapExtra: ls.MapExtra, Pinning: PinByName, Fields: ls.Fields}
		m, err := r.NewMapWithOptions(ms, mo)
		if err != nil {
			return nil, err
		}
		if err := initMap(m, cm.MapSpec); err != nil {
			m.Close()
			return nil, err
		}
		return m, nil
	}
	s, err := maps.New(ls)
	if err != nil {
		return nil, err
	}
	m := r.newHandle(s, "")
	if err := initMap(m, cm.MapSpec); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// initMap writes global data's initial value and freezes what libbpf
// freezes.
func initMap(m *Map, ms *loader.MapSpec) error {
	if ms.Contents != nil {
		if err := m.Update(zeroKey, ms.Contents, UpdateAny); err != nil {
			return fmt.Errorf("initial contents: %w", err)
		}
	}
	if ms.Frozen {
		if err := m.Freeze(); err != nil {
			return fmt.Errorf("freeze: %w", err)
		}
	}
	return nil
}

// Close closes every handle of the collection. Pinned maps and programs
// stay.
func (c *Collection) Close() {
	for _, p := range c.Programs {
		p.Close()
	}
	for _, m := range c.Maps {
		m.Close()
	}
}

// DetachProgram removes the program from the collection and returns it;
// Close no longer closes it.
func (c *Collection) DetachProgram(name string) *Program {
	p := c.Programs[name]
	delete(c.Programs, name)
	return p
}

// DetachMap removes the map from the collection and returns it.
func (c *Collection) DetachMap(name string) *Map {
	m := c.Maps[name]
	delete(c.Maps, name)
	return m
}
