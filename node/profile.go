package node

// The profile a user keeps on their home node (GET/PUT /api/v1/me/profile).
// The node stores it and hands it to the user's clients; it signs nothing:
// a client puts it into the profile event it signs for each group (kind
// 21), after a change and after every join, so the name reaches every
// group without the node holding the user's key.

import (
	"encoding/json"
	"net/http"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// profileKeyPrefix starts the node-scope meta key of a user's profile.
const profileKeyPrefix = "profile/"

func profileKey(u protocol.UserID) string { return profileKeyPrefix + string(u[:]) }

func (n *Node) apiMyProfile(w http.ResponseWriter, _ *http.Request, s *session) {
	p, err := n.myProfile(s.user)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

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

// apiSetMyProfile stores the profile after the protocol's checks of a
// profile event, so that every group accepts what the client builds from
// it.
func (n *Node) apiSetMyProfile(w http.ResponseWriter, r *http.Request, s *session) {
	var p api.MyProfile
	if err := decodeBody(w, r, &p); err != nil {
		writeError(w, err)
		return
	}
	if err := protocol.NewProfileBody(protocol.Profile{Name: p.Name, Bio: p.Bio}).Check(); err != nil {
		writeError(w, err)
		return
	}
	raw, _ := json.Marshal(p)
	if err := n.store.SetMeta(storage.NodeScope, profileKey(s.user), raw); err != nil {
		writeError(w, storeError(err))
		return
	}
	writeJSON(w, http.StatusOK, p)
}
