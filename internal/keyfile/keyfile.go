// Package keyfile reads and writes qun key files: the standard base64 of
// protocol.Key.Marshal and a newline, mode 0600. Both the node (its node and
// admin keys) and the client SDK (user keys) use it, so that neither
// depends on the other.
package keyfile

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/qunchat/qun/protocol"
)

// MaxBytes bounds a key file: a marshalled ed25519 key is 68 bytes,
// 92 in base64.
const MaxBytes = 4096

// Load reads a key file: the standard base64 of protocol.Key.Marshal,
// optionally followed by a newline.
func Load(path string) (*protocol.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading key file %s: %w", path, err)
	}
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("key file %s is not a qun key: it is larger than %d bytes; it was left untouched", path, MaxBytes)
	}
	k, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s is not a qun key (%v); it was left untouched: move it away to make a new key", path, err)
	}
	return k, nil
}

func parseKey(b []byte) (*protocol.Key, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, errors.New("the file is empty")
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(raw, b)
	if err != nil {
		return nil, errors.New("the file is not base64")
	}
	return protocol.UnmarshalKey(raw[:n])
}

// Marshal returns the content of a key file for k.
func Marshal(k *protocol.Key) ([]byte, error) {
	raw, err := k.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return []byte(base64.StdEncoding.EncodeToString(raw) + "\n"), nil
}

// Save writes k to a new key file at path (mode 0600), creating its
// parent directory (mode 0700). It never replaces an existing file: if path
// exists it fails with an error matching fs.ErrExist.
func Save(path string, k *protocol.Key) error {
	data, err := Marshal(k)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating key directory: %w", err)
	}
	// Write a temporary file, then link it into place: the key file appears
	// complete or not at all, and an existing file is never replaced.
	tmp, err := os.CreateTemp(dir, ".qun-key-*")
	if err != nil {
		return fmt.Errorf("creating key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("creating key file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	err = os.Link(tmpName, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		if err != nil {
			return fmt.Errorf("creating key file %s: %w", path, err)
		}
		syncDir(dir)
		return nil
	}
	// The file system has no hard links: create the file exclusively.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating key file %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing key file %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new directory entry durable where the platform allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// LoadOrCreate loads the key file at path, or, if there is none, makes a
// new key and saves it there (see Save); created reports which. A file
// that exists but does not hold a key is an error and is never overwritten.
func LoadOrCreate(path string) (key *protocol.Key, created bool, err error) {
	k, err := Load(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	k, err = protocol.NewKey()
	if err != nil {
		return nil, false, err
	}
	if err := Save(path, k); err != nil {
		if errors.Is(err, fs.ErrExist) { // made concurrently by another process: use it
			k, err := Load(path)
			return k, false, err
		}
		return nil, false, err
	}
	return k, true, nil
}
