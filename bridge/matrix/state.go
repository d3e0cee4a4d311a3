package matrix

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// stateFile is the connector's file in its data folder: where its sync
// stands.
const stateFile = "sync.json"

// maxStateBytes bounds the state file read back.
const maxStateBytes = 16 << 20

// state is what the connector keeps across restarts: the sync token of
// the last batch handed to the gateway and, per room, the last event of
// its timeline seen (to fill a gap a limited timeline leaves, and to stop
// there).
type state struct {
	User      string          `json:"user"` // the account the token is for
	NextBatch string          `json:"next_batch"`
	Rooms     map[string]seen `json:"rooms,omitempty"`
}

// seen is the last event of a room's timeline that the connector saw.
type seen struct {
	ID string `json:"id"`
	TS int64  `json:"ts"` // origin_server_ts, ms
}

// loadState reads the state file of dir; a missing file is a first start
// (the zero state).
func loadState(dir string) (state, error) {
	var st state
	f, err := os.Open(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading the sync state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return st, fmt.Errorf("reading the sync state: %w", err)
	}
	if fi.Size() > maxStateBytes {
		return st, fmt.Errorf("the sync state %s has %d bytes, more than %d", f.Name(), fi.Size(), maxStateBytes)
	}
	if err := json.NewDecoder(f).Decode(&st); err != nil {
		return state{}, fmt.Errorf("the sync state %s is damaged: %w", f.Name(), err)
	}
	return st, nil
}

// saveState replaces the state file of dir atomically and durably: a
// temporary file, synced, renamed over the old one, and the folder
// synced, so that a crash leaves the old state or the new one.
func saveState(dir string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("keeping the sync state: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing there
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("keeping the sync state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keeping the sync state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keeping the sync state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("keeping the sync state: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keeping the sync state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keeping the sync state: %w", err)
	}
	return nil
}
