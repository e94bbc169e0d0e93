package objects

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// Pinned programs are per process. A program is Go code and data that
// lives in the process that loaded it; it cannot be shared through a file
// as file-backed maps are. Pin writes a small marker file under the pin
// root that records the owner process, the program's name, tag and type,
// and the object file it came from:
//
//   - in the process that pinned it, LoadPinnedProgram returns a new
//     handle to the same program (same ID, same run statistics), and the
//     pin keeps the program loaded after its last handle is closed, as in
//     the kernel;
//   - in another process (another gobee invocation), LoadPinnedProgram
//     loads the program again from the recorded object — a new instance
//     with its own ID and statistics, whose maps are created anew unless
//     they are pinned by name — and checks that the tag still matches.
//     A program that was not loaded from an object file (NewProgram on a
//     spec built in memory) cannot be opened there: ENOTSUPP.
//
// See docs/pinning.md.

// pinSource is where a program came from, for other processes.
type pinSource struct {
	Object  string // absolute path of the ELF object, or ""
	Program string // the program's name in it
	PinPath string // CollectionOptions.Maps.PinPath it was loaded with
}

// progPin is the content of a program's pin file.
type progPin struct {
	Magic   string `json:"magic"`
	Kind    string `json:"kind"`
	Pid     int    `json:"pid"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Tag     string `json:"tag"`
	Object  string `json:"object,omitempty"`
	Program string `json:"program,omitempty"`
	PinPath string `json:"map_pin_path,omitempty"`
}

const progPinMagic = "gobee-pinned-program"

// Pin pins the program at path (BPF_OBJ_PIN) inside the pin root. See
// the comment above about what a program pin means across processes.
func (p *Program) Pin(path string) error {
	o, err := p.use()
	if err != nil {
		return err
	}
	r := o.reg
	t := r.progTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	full, err := r.pinPath(path, true)
	if err != nil {
		if o.pinned != "" {
			if cur, err2 := r.pinPath(path, false); err2 == nil && cur == o.pinned {
				return nil
			}
		}
		return err
	}
	if o.pinned != "" {
		if err := renameNoReplace(o.pinned, full); err != nil {
			return errorf(unix.EIO, "move pin %s to %s: %v", o.pinned, full, err)
		}
		delete(t.pins, o.pinned)
		o.pinned = full
		t.pins[full] = o
		return nil
	}
	pin := progPin{Magic: progPinMagic, Kind: "program", Pid: os.Getpid(), Name: o.name, Type: o.typ.String(),
		Tag: hex.EncodeToString(o.tag[:]), Object: o.source.Object, Program: o.source.Program, PinPath: o.source.PinPath}
	b, _ := json.MarshalIndent(pin, "", "  ")
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return errorf(unix.EEXIST, "pin %s: %v", full, err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(full)
		return errorf(unix.EIO, "pin %s: %v", full, err)
	}
	o.pinned = full
	t.pins[full] = o
	return nil
}

// Unpin removes the program's pin; the program stays loaded while it has
// handles.
func (p *Program) Unpin() error {
	o, err := p.use()
	if err != nil {
		return err
	}
	t := o.reg.progTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.pinned == "" {
		return nil
	}
	if err := os.Remove(o.pinned); err != nil && !os.IsNotExist(err) {
		return errorf(unix.EIO, "unpin %s: %v", o.pinned, err)
	}
	delete(t.pins, o.pinned)
	o.pinned = ""
	return t.maybeFree(o)
}

// IsPinned reports whether the program is pinned.
func (p *Program) IsPinned() bool {
	t := p.obj.reg.progTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	return p.obj.pinned != ""
}

// LoadPinnedProgram opens the program pinned at path in the default
// registry.
func LoadPinnedProgram(path string) (*Program, error) { return Default().LoadPinnedProgram(path) }

// LoadPinnedProgram opens the program pinned at path (BPF_OBJ_GET): a new
// handle to the same program if this process pinned it, else the program
// loaded again from its object file (see Pin).
func (r *Registry) LoadPinnedProgram(path string) (*Program, error) {
	full, err := r.pinPath(path, false)
	if err != nil {
		return nil, err
	}
	t := r.progTable()
	t.mu.Lock()
	if o := t.pins[full]; o != nil && !o.dead {
		o.handles++
		t.mu.Unlock()
		return &Program{obj: o}, nil
	}
	t.mu.Unlock()
	b, err := os.ReadFile(full)
	if err != nil {
		return nil, errorf(unix.ENOENT, "pinned program %s: %v", path, err)
	}
	var pin progPin
	if err := json.Unmarshal(b, &pin); err != nil || pin.Magic != progPinMagic {
		return nil, errorf(unix.EINVAL, "%s is not a gobee pinned program", path)
	}
	if pin.Object == "" {
		return nil, errorf(524, "program %s pinned at %s by process %d was not loaded from an object file and lives only in that process",
			pin.Name, path, pin.Pid)
	}
	spec, err := LoadCollectionSpec(pin.Object)
	if err != nil {
		return nil, fmt.Errorf("pinned program %s: reload from %s: %w", path, pin.Object, err)
	}
	ps := spec.Programs[pin.Program]
	if ps == nil {
		return nil, errorf(unix.ENOENT, "pinned program %s: object %s no longer has program %s", path, pin.Object, pin.Program)
	}
	if tag := Tag(ps.Instructions); hex.EncodeToString(tag[:]) != pin.Tag {
		return nil, errorf(unix.EINVAL, "pinned program %s: program %s in %s changed (tag %x, pinned %s)", path, pin.Program, pin.Object, tag, pin.Tag)
	}
	coll, err := r.NewCollectionWithOptions(spec, CollectionOptions{Maps: MapOptions{PinPath: pin.PinPath}})
	if err != nil {
		return nil, fmt.Errorf("pinned program %s: %w", path, err)
	}
	defer coll.Close()
	prog, err := coll.Programs[pin.Program].Clone()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	prog.obj.pinned = ""
	t.mu.Unlock()
	return prog, nil
}

// PinnedPrograms lists the program pins under the pin root (of this and
// other processes), sorted.
func (r *Registry) PinnedPrograms() ([]string, error) {
	var out []string
	err := filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == r.root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() && isProgramPin(p) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func isProgramPin(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	return bytes.Contains(head[:n], []byte(`"`+progPinMagic+`"`))
}
