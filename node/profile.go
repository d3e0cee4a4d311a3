package node

// The profile a user keeps on their home node (GET/PUT /api/v1/me/profile).
// The node stores it and hands it to the user's clients; it signs nothing:
// a client puts it into the profile event it signs for each group (kind
// 21), after a change and after every join, so the name reaches every
// group without the node holding the user's key.

import (
	"encoding/json"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// profileKeyPrefix starts the node-scope meta key of a user's profile.
const profileKeyPrefix = "profile/"

func profileKey(u protocol.UserID) string { return profileKeyPrefix + string(u[:]) }

func (n *Node) myProfile(u protocol.UserID) (api.MyProfile, error) {
	var p api.MyProfile
	raw, ok, err := n.store.Meta(storage.NodeScope, profileKey(u))
	if err != nil {
		return p, protocol.Errorf(protocol.CodeInternal, "reading your profile: %v", err)
	}
	if ok {
		if err := json.Unmarshal(raw, &p); err != nil {
			return p, protocol.Errorf(protocol.CodeInternal, "your stored profile is unreadable: %v", err)
		}
	}
	return p, nil
}

// setMyProfile stores the profile after the protocol's checks of a
// profile event, so that every group accepts what the client builds from
// it.
func (n *Node) setMyProfile(u protocol.UserID, p api.MyProfile) error {
	prof := protocol.Profile{Name: p.Name, Bio: p.Bio}
	if p.Avatar != nil {
		ref, err := p.Avatar.Ref()
		if err != nil {
			return protocol.Errorf(protocol.CodeInvalid, "avatar: %v", protocol.AsError(err).Msg)
		}
		prof.Avatar = ref
	}
	if err := protocol.NewProfileBody(prof).Check(); err != nil {
		return err
	}
	// Members' nodes fetch an avatar from the node its profile event came
	// through: this one must hold it.
	if prof.Avatar != nil && !n.blobs.has(prof.Avatar.Hash) {
		return protocol.Errorf(protocol.CodeInvalid, "upload the avatar to this node first (POST /api/v1/blobs?for=avatar)")
	}
	raw, _ := json.Marshal(p)
	if err := n.store.SetMeta(storage.NodeScope, profileKey(u), raw); err != nil {
		return storeError(err)
	}
	return nil
}
