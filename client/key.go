package client

import (
	"github.com/qunchat/qun/internal/keyfile"
	"github.com/qunchat/qun/protocol"
)

// Key files. The format and its reader and writer live in internal/keyfile,
// shared with the node (which must not import this package); these are
// thin wrappers kept for the SDK's callers.

// LoadKey reads a key file: the standard base64 of protocol.Key.Marshal,
// optionally followed by a newline.
func LoadKey(path string) (*protocol.Key, error) { return keyfile.Load(path) }

// MarshalKeyFile returns the content of a key file for k.
func MarshalKeyFile(k *protocol.Key) ([]byte, error) { return keyfile.Marshal(k) }

// SaveKey writes k to a new key file at path (mode 0600), creating its
// parent directory (mode 0700). It never replaces an existing file: if path
// exists it fails with an error matching fs.ErrExist.
func SaveKey(path string, k *protocol.Key) error { return keyfile.Save(path, k) }

// LoadOrCreateKey loads the key file at path, or, if there is none, makes a
// new key and saves it there (see SaveKey); created reports which. A file
// that exists but does not hold a key is an error and is never overwritten.
func LoadOrCreateKey(path string) (key *protocol.Key, created bool, err error) {
	return keyfile.LoadOrCreate(path)
}
