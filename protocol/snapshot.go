package protocol

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// snapshotVersion is the version of the snapshot encoding; bump it when
// State changes incompatibly. A snapshot of another version is refused, and
// the node replays the log instead (snapshots are only a cache of it).
// Version 2: closed invites moved from Invites to Closed, expired invites
// leave the state.
const snapshotVersion = 9 // 3: State.Recalled; 4: Member.Profile; 5: State.Edited; 6: History, Member.From, Base; 7: Bridged; 8: ClosedAt; 9: Member.LastMessage

// MarshalSnapshot encodes the state for local storage. Snapshots never leave
// the node; they only save replaying the log at start-up.
func (s *State) MarshalSnapshot() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(snapshotVersion)
	if err := gob.NewEncoder(&buf).Encode(s); err != nil {
		return nil, fmt.Errorf("encoding state snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalSnapshot decodes a snapshot made by MarshalSnapshot.
func UnmarshalSnapshot(b []byte) (*State, error) {
	if len(b) == 0 || b[0] != snapshotVersion {
		return nil, fmt.Errorf("state snapshot has an unknown version")
	}
	s := NewState()
	if err := gob.NewDecoder(bytes.NewReader(b[1:])).Decode(s); err != nil {
		return nil, fmt.Errorf("decoding state snapshot: %w", err)
	}
	s.rebuildExpiry()
	return s, nil
}
