package storage

import (
	"encoding/binary"
	"fmt"
)

// Key prefixes. Each one is persisted on disk: never renumber or reuse one.
// The full layout is documented in doc.go.
const (
	prefixVersion    byte = 'v' // 'v' → schema version (uint32, big-endian)
	prefixLog        byte = 'l' // 'l' gid seq → event ID | submission ID | event bytes
	prefixEventIndex byte = 'e' // 'e' eventID → gid | seq
	prefixSubIndex   byte = 's' // 's' gid submissionID → seq
	prefixSnapshot   byte = 'n' // 'n' gid → seq | total length | first chunk; 'n' gid chunkNo → chunk
	prefixMeta       byte = 'm' // 'm' gid key → value
	prefixCursor     byte = 'c' // 'c' len(client) client gid → seq
	prefixWitness    byte = 'w' // 'w' → 1 (uint32): this store keeps a head witness file
	prefixBase       byte = 'b' // 'b' gid → seq | event ID: the log starts after this checkpoint
)

// schemaVersion is the on-disk layout version written under prefixVersion.
const schemaVersion uint32 = 1

const (
	logValueHeader = 64 // event ID (32) + submission ID (32) in front of the event bytes

	snapHeader    = 12        // seq (8) + total length (4) in front of the first chunk
	snapChunkSize = 256 << 10 // snapshot bytes per key; keeps every value far below Badger's value threshold

	maxClientLen  = 255 // the client length is stored in one byte
	maxMetaKeyLen = 1024
)

var (
	versionKey       = []byte{prefixVersion}
	witnessMarkerKey = []byte{prefixWitness}
)

func be64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func logPrefix(g GroupID) []byte {
	k := make([]byte, 0, 1+32+8)
	k = append(k, prefixLog)
	return append(k, g[:]...)
}

func logKey(g GroupID, seq uint64) []byte { return be64(logPrefix(g), seq) }

func eventKey(id [32]byte) []byte {
	k := make([]byte, 0, 33)
	k = append(k, prefixEventIndex)
	return append(k, id[:]...)
}

func subPrefix(g GroupID) []byte {
	k := make([]byte, 0, 1+32+32)
	k = append(k, prefixSubIndex)
	return append(k, g[:]...)
}

func subKey(g GroupID, sub [32]byte) []byte { return append(subPrefix(g), sub[:]...) }

func snapKey(g GroupID) []byte {
	k := make([]byte, 0, 1+32+4)
	k = append(k, prefixSnapshot)
	return append(k, g[:]...)
}

func snapChunkKey(g GroupID, i uint32) []byte {
	return binary.BigEndian.AppendUint32(snapKey(g), i)
}

func baseKey(g GroupID) []byte {
	k := make([]byte, 0, 33)
	k = append(k, prefixBase)
	return append(k, g[:]...)
}

func metaPrefix(g GroupID) []byte {
	k := make([]byte, 0, 1+32+16)
	k = append(k, prefixMeta)
	return append(k, g[:]...)
}

func metaKey(g GroupID, key string) []byte { return append(metaPrefix(g), key...) }

func cursorKey(client string, g GroupID) []byte {
	k := make([]byte, 0, 2+len(client)+32)
	k = append(k, prefixCursor, byte(len(client)))
	k = append(k, client...)
	return append(k, g[:]...)
}

// parseLogKey returns the seq of a 'l' key of group g.
func parseLogKey(k []byte) (uint64, error) {
	if len(k) != 1+32+8 || k[0] != prefixLog {
		return 0, fmt.Errorf("storage: malformed log key %x", k)
	}
	return binary.BigEndian.Uint64(k[33:]), nil
}

// encodeLogValue builds ID | SubmissionID | Data.
func encodeLogValue(r *Record) []byte {
	v := make([]byte, logValueHeader+len(r.Data))
	copy(v, r.ID[:])
	copy(v[32:], r.SubmissionID[:])
	copy(v[64:], r.Data)
	return v
}

// decodeLogValue fills rec from a stored log value; Data is copied.
func decodeLogValue(v []byte, rec *Record) error {
	if len(v) < logValueHeader {
		return fmt.Errorf("%w: log value of %d bytes", ErrCorrupt, len(v))
	}
	copy(rec.ID[:], v[:32])
	copy(rec.SubmissionID[:], v[32:64])
	rec.Data = append([]byte(nil), v[64:]...)
	return nil
}

// nextPrefix returns the smallest key greater than every key that starts with
// prefix byte p followed by g, or nil when g is all 0xff (no such key).
func nextPrefix(p byte, g GroupID) []byte {
	for i := len(g) - 1; i >= 0; i-- {
		if g[i] != 0xff {
			g[i]++
			for j := i + 1; j < len(g); j++ {
				g[j] = 0
			}
			k := make([]byte, 0, 33)
			k = append(k, p)
			return append(k, g[:]...)
		}
	}
	return nil
}
