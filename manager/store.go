package manager

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Snapshot is what a Store keeps: the configuration in force, the history
// of changes that led to it, and the last adjustment number given out.
type Snapshot struct {
	Config      Config  `json:"config"`      // the configuration in force
	History     []Event `json:"history"`     // oldest first, the last 1000
	Adjustments uint64  `json:"adjustments"` // the last adjustment number given out
	// Committed is the last epoch declared committed (Manager.Committed);
	// Changed the last epoch that changed the quorum system. A file
	// without them (an older one) allows the next change.
	Committed uint64 `json:"committed,omitempty"`
	Changed   uint64 `json:"changed,omitempty"`
}

// validate checks the configuration and that the commit marks do not run
// ahead of it (they would lift the one-pending-change rule).
func (s Snapshot) validate() error {
	if err := s.Config.Validate(); err != nil {
		return err
	}
	if s.Committed > s.Config.Epoch || s.Changed > s.Config.Epoch {
		return fmt.Errorf("manager: snapshot marks epoch %d committed and %d changed, beyond its epoch %d", s.Committed, s.Changed, s.Config.Epoch)
	}
	return nil
}

// storeFormat names the file format; a file of another format is refused.
const storeFormat = "lockstep-quorum-manager/1"

// envelope is the file: the snapshot and a checksum of its compact JSON,
// so truncation and garbage are detected even where JSON would parse.
type envelope struct {
	Format   string          `json:"format"`
	Checksum string          `json:"checksum"`
	Snapshot json.RawMessage `json:"snapshot"`
}

// ErrCorrupt is wrapped by every error about a file that exists but does
// not hold a valid snapshot (truncated, garbage, failed checksum, invalid
// configuration).
var ErrCorrupt = errors.New("manager: configuration file is corrupt")

// Store keeps a Snapshot in one JSON file, replaced atomically: each Save
// writes a temporary file beside it (path + ".tmp"), syncs it, renames it
// over the file and syncs the directory, so a crash at any point leaves
// either the old file or the new one. Before replacing a valid file, Save
// keeps its bytes as path + ".prev" (the same way), so a file later
// damaged still leaves the previous configuration. One process writes a
// path at a time; the Manager serializes its own writes.
type Store struct {
	path string
}

// NewStore returns a store for path (its directory must exist when saving).
func NewStore(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("manager: store path must not be empty")
	}
	return &Store{path: filepath.Clean(path)}, nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// previousPath is the previous snapshot's file: path + ".prev".
func (s *Store) previousPath() string { return s.path + ".prev" }

// Load reads the snapshot. A missing file is an error wrapping
// fs.ErrNotExist; a file that does not hold a valid snapshot wraps
// ErrCorrupt. A stale temporary file from an interrupted Save is ignored.
func (s *Store) Load() (Snapshot, error) { return load(s.path) }

// LoadPrevious reads the snapshot the last Save replaced, if it was valid:
// the way back when the current file is damaged.
func (s *Store) LoadPrevious() (Snapshot, error) { return load(s.previousPath()) }

// Save validates the snapshot and writes it atomically, keeping the valid
// file it replaces as the previous one. On an error the file on disk is the
// old one.
func (s *Store) Save(snap Snapshot) error {
	data, err := encode(snap)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(s.path); err == nil {
		if _, err := decode(s.path, old); err == nil {
			if err := writeAtomic(s.previousPath(), old); err != nil {
				// The file itself is untouched: nothing is uncertain.
				return fmt.Errorf("manager: keeping the previous configuration: %v", err)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("manager: reading %s before replacing it: %w", s.path, err)
	}
	return writeAtomic(s.path, data)
}

func encode(snap Snapshot) ([]byte, error) {
	if err := snap.validate(); err != nil {
		return nil, fmt.Errorf("manager: refusing to save: %w", err)
	}
	body, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("manager: encoding snapshot: %w", err)
	}
	sum := sha256.Sum256(body)
	data, err := json.MarshalIndent(envelope{Format: storeFormat, Checksum: hex.EncodeToString(sum[:]), Snapshot: body}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manager: encoding snapshot: %w", err)
	}
	return append(data, '\n'), nil
}

func load(path string) (Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Snapshot{}, fmt.Errorf("manager: no configuration file: %w", err)
		}
		return Snapshot{}, fmt.Errorf("manager: reading configuration: %w", err)
	}
	return decode(path, data)
}

func decode(path string, data []byte) (Snapshot, error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s (%d bytes): %s", ErrCorrupt, path, len(data), fmt.Sprintf(format, args...))
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return Snapshot{}, corrupt("%v", err)
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) != 0 {
		return Snapshot{}, corrupt("data after the JSON object")
	}
	if env.Format != storeFormat {
		return Snapshot{}, corrupt("format %q, want %q", env.Format, storeFormat)
	}
	var body bytes.Buffer
	if err := json.Compact(&body, env.Snapshot); err != nil {
		return Snapshot{}, corrupt("%v", err)
	}
	sum := sha256.Sum256(body.Bytes())
	if hex.EncodeToString(sum[:]) != env.Checksum {
		return Snapshot{}, corrupt("checksum mismatch")
	}
	var snap Snapshot
	dec = json.NewDecoder(bytes.NewReader(body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&snap); err != nil {
		return Snapshot{}, corrupt("%v", err)
	}
	if err := snap.validate(); err != nil {
		return Snapshot{}, corrupt("%v", err)
	}
	return snap, nil
}

// crashAt, set only by tests, is called at each step of writeAtomic with
// the temporary file's path; true simulates the process dying there:
// writeAtomic stops at once and leaves everything as it is.
var crashAt func(step, tmp string) bool

// syncDirHook, set only by tests, replaces the directory sync after the
// rename of path, to make it fail.
var syncDirHook func(path string) error

// ErrUncertain: a Save failed after its rename, so the file may hold the
// new snapshot, durably or not. A Manager that meets it refuses every
// further change (one epoch number must never name two configurations)
// until it is reopened from its store, whose file is then the truth.
var ErrUncertain = errors.New("manager: the configuration file was replaced but may not be durable")

// errCrashed is what writeAtomic returns when crashAt stopped it.
var errCrashed = errors.New("manager: simulated crash")

// writeAtomic replaces path with data: temp file, fsync, rename, fsync dir.
func writeAtomic(path string, data []byte) (err error) {
	tmp := path + ".tmp"
	crash := func(step string) bool { return crashAt != nil && crashAt(step, tmp) }
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("manager: saving configuration: %w", err)
	}
	defer func() {
		if err != nil && !errors.Is(err, errCrashed) {
			os.Remove(tmp)
		}
	}()
	if crash("created") {
		f.Close()
		return errCrashed
	}
	if _, err = f.Write(data); err == nil {
		if crash("written") {
			f.Close()
			return errCrashed
		}
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("manager: saving configuration: %w", err)
	}
	if crash("synced") {
		return errCrashed
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("manager: saving configuration: %w", err)
	}
	if crash("renamed") {
		return errCrashed
	}
	if syncDirHook != nil {
		err = syncDirHook(path)
	} else {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("%w: syncing %s: %w", ErrUncertain, filepath.Dir(path), err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory
// (and commits renames itself).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// MarshalBinary encodes the snapshot in the store's file format (checksum
// included), for carrying it elsewhere: a replicated log's snapshots.
func (s Snapshot) MarshalBinary() ([]byte, error) { return encode(s) }

// UnmarshalBinary decodes what MarshalBinary wrote, with the checks Load
// makes; a bad encoding wraps ErrCorrupt.
func (s *Snapshot) UnmarshalBinary(data []byte) error {
	snap, err := decode("snapshot", data)
	if err != nil {
		return err
	}
	*s = snap
	return nil
}
