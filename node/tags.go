package node

// Tags of the merchant's groups ("vip", "杭州"): kept by the host for the
// merchant API alone (never in a group's log), so that a broadcast can go to
// a tagged set of groups.

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

const (
	// MaxGroupTags bounds the tags of one group; MaxTagRunes one tag.
	MaxGroupTags = 16
	MaxTagRunes  = 32
	// metaTags is the group-scope meta key of a group's tags (JSON list).
	metaTags = "mtags"
)

// checkTags checks and normalizes tags: trimmed, folded to lower case,
// without duplicates, in the order given.
func checkTags(in []string) ([]string, error) {
	if len(in) > MaxGroupTags {
		return nil, protocol.Errorf(protocol.CodeInvalid, "a group has at most %d tags, not %d", MaxGroupTags, len(in))
	}
	out := []string{}
	seen := map[string]bool{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "":
			return nil, protocol.Errorf(protocol.CodeInvalid, "a tag is empty")
		case !utf8.ValidString(t) || utf8.RuneCountInString(t) > MaxTagRunes:
			return nil, protocol.Errorf(protocol.CodeInvalid, "tag %.40q: at most %d characters of UTF-8", t, MaxTagRunes)
		case strings.ContainsAny(t, ",\t\r\n") || strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return nil, protocol.Errorf(protocol.CodeInvalid, "tag %.40q holds a comma or a control character", t)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// groupTags reads a group's tags (none: empty).
func (n *Node) groupTags(gid protocol.GroupID) ([]string, error) {
	raw, ok, err := n.store.Meta(gid, metaTags)
	if err != nil || !ok {
		return []string{}, storeError(err)
	}
	var tags []string
	if err := json.Unmarshal(raw, &tags); err != nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "the tags of group %s are unreadable: %v", gid, err)
	}
	return tags, nil
}

// SetTags replaces the tags of a group hosted here in which the service
// key is a member (the groups broadcasts go to).
func (mb merchantBackend) SetTags(gid protocol.GroupID, tags []string) (api.GroupTags, error) {
	n := mb.n
	tags, err := checkTags(tags)
	if err != nil {
		return api.GroupTags{}, err
	}
	g := n.group(gid)
	switch {
	case g == nil:
		return api.GroupTags{}, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	case !g.hosted:
		return api.GroupTags{}, protocol.Errorf(protocol.CodeNotHost, "group %s is hosted by another node: tag the groups hosted here", gid)
	}
	if !n.isMember(gid, n.service.ID()) {
		return api.GroupTags{}, protocol.Errorf(protocol.CodeForbidden, "the service key is no member of group %s: broadcasts cannot reach it, so it takes no tags", gid)
	}
	raw, _ := json.Marshal(tags)
	if err := n.store.SetMeta(gid, metaTags, raw); err != nil {
		return api.GroupTags{}, storeError(err)
	}
	return api.GroupTags{Group: gid.String(), Tags: tags}, nil
}

// taggedGroups lists the groups with any of tags, among those given.
func (n *Node) taggedGroups(tags []string, among []api.ServiceGroupRef) ([]protocol.GroupID, error) {
	want := map[string]bool{}
	for _, t := range tags {
		want[t] = true
	}
	all, err := n.store.ScanMeta(metaTags)
	if err != nil {
		return nil, storeError(err)
	}
	tagged := map[protocol.GroupID]bool{}
	for _, m := range all {
		var ts []string
		if m.Vals[0] == nil || json.Unmarshal(m.Vals[0], &ts) != nil {
			continue
		}
		for _, t := range ts {
			if want[t] {
				tagged[protocol.GroupID(m.Group)] = true
			}
		}
	}
	var out []protocol.GroupID
	for _, g := range among {
		gid, err := protocol.ParseGroupID(g.Group)
		if err == nil && tagged[gid] {
			out = append(out, gid)
		}
	}
	return out, nil
}
