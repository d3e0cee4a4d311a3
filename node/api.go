package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

func (n *Node) startAPI() error {
	tlsConf, err := n.tlsConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", n.cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("HTTP API on %s: %w", n.cfg.APIAddr, err)
	}
	n.apiLn = ln
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	n.api = &http.Server{
		Handler:           n.apiHandler(),
		ConnContext:       n.light.ConnContext, // WebSockets tune their socket
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.api.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("HTTP API stopped", "err", err)
		}
	}()
	return nil
}

// NodeInfo describes the node.
func (n *Node) NodeInfo() api.NodeInfo {
	info := api.NodeInfo{PeerID: n.host.ID().String(), Version: Version, Addrs: []string{}, Admins: []string{}}
	for _, a := range n.Addrs() {
		info.Addrs = append(info.Addrs, a.String())
	}
	for _, a := range n.Admins() {
		info.Admins = append(info.Admins, a.String())
	}
	sort.Strings(info.Admins)
	return info
}

// summary describes the group. Called with g.mu held.
func (g *group) summary() api.GroupSummary {
	status, reason := g.status()
	return api.GroupSummary{
		Group: g.id.String(), Name: g.state.Name, Host: g.host.String(), Hosted: g.hosted,
		Head: g.committed, Members: len(g.state.Members), Status: status, StatusReason: reason,
	}
}

// GroupView describes the current state of a group held here.
func (n *Node) GroupView(gid protocol.GroupID) (api.GroupView, error) {
	g := n.group(gid)
	if g == nil {
		return api.GroupView{}, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	return g.view(), nil
}

func (g *group) view() api.GroupView {
	hostAddrs := []string{}
	if g.hosted {
		for _, a := range g.n.Addrs() {
			hostAddrs = append(hostAddrs, a.String())
		}
	} else {
		for _, a := range g.n.host.Peerstore().Addrs(g.host.PeerID()) {
			hostAddrs = append(hostAddrs, a.String()+"/p2p/"+g.host.PeerID().String())
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state
	v := api.GroupView{
		GroupSummary: g.summary(), HostAddrs: hostAddrs, Owner: s.Owner.String(),
		Description: s.Description, Avatar: s.Avatar, Policy: s.Policy.String(), Cap: s.Cap,
		Public: s.Public, History: s.History.String(), Announcement: s.Announcement, Pins: append([]uint64{}, s.Pins...),
		MuteAllUntil: api.JSONTime(s.MuteAllUntil), MutedAll: s.MuteAllUntil > nowMS(), ClosedAt: s.ClosedAt, Rules: api.NewRulesView(s.Rules), AnnouncedAt: s.AnnouncedAt, HeadID: s.HeadID.String(),
		MemberList: []api.MemberView{}, Banned: []string{}, Requests: []api.RequestView{},
		Invites: []api.InviteView{},
	}
	for u, m := range s.Members {
		v.MemberList = append(v.MemberList, api.MemberView{
			User: u.String(), Role: m.Role.String(), Home: m.Home.String(), Joined: m.Joined,
			MutedUntil: api.JSONTime(m.MutedUntil), Muted: m.MutedUntil > nowMS(),
		})
		v.MemberList[len(v.MemberList)-1].SetProfile(m.Profile)
	}
	sort.Slice(v.MemberList, func(i, j int) bool { return v.MemberList[i].Joined < v.MemberList[j].Joined })
	v.BridgedList = []api.BridgedPersonView{}
	for id, p := range s.Bridged {
		v.BridgedList = append(v.BridgedList, api.BridgedPersonView{
			BridgedView: api.BridgedView{ID: id.String(), Network: p.Network, User: p.User, Name: p.Name},
			Bridge:      p.Bridge.String(), First: p.First, MutedUntil: api.JSONTime(p.MutedUntil),
			Muted: p.MutedUntil > nowMS(), Removed: p.Removed, Banned: s.Banned[id],
		})
	}
	sort.Slice(v.BridgedList, func(i, j int) bool { return v.BridgedList[i].First < v.BridgedList[j].First })
	for u := range s.Banned {
		v.Banned = append(v.Banned, u.String())
	}
	sort.Strings(v.Banned)
	for u, r := range s.Requests {
		v.Requests = append(v.Requests, api.RequestView{User: u.String(), Seq: r.Seq, Note: r.Note})
	}
	sort.Slice(v.Requests, func(i, j int) bool { return v.Requests[i].Seq < v.Requests[j].Seq })
	for id, inv := range s.Invites {
		v.Invites = append(v.Invites, api.InviteView{
			ID: id.String(), Inviter: inv.Inviter.String(), Expires: inv.Expires, MaxUses: inv.MaxUses,
			Uses: inv.Uses, Ref: inv.Ref,
		})
	}
	sort.Slice(v.Invites, func(i, j int) bool { return v.Invites[i].ID < v.Invites[j].ID })
	if s.AnnouncedAt != 0 {
		c := &api.Confirmations{Confirmed: []string{}, Pending: []string{}}
		for u := range s.Members {
			if s.Confirmed[u] != 0 {
				c.Confirmed = append(c.Confirmed, u.String())
			} else {
				c.Pending = append(c.Pending, u.String())
			}
		}
		sort.Strings(c.Confirmed)
		sort.Strings(c.Pending)
		v.Confirmations = c
	}
	return v
}

// Events returns up to limit stored events of a group from seq on.
func (n *Node) Events(gid protocol.GroupID, from uint64, limit int) ([]*protocol.SignedEvent, error) {
	if from == 0 {
		from = 1
	}
	recs, err := n.store.Range(gid, from, limit, maxSyncBytes)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "reading events: %v", err)
	}
	out := make([]*protocol.SignedEvent, 0, len(recs))
	for _, r := range recs {
		ev, err := protocol.DecodeEvent(r.Data)
		if err != nil {
			return nil, protocol.Errorf(protocol.CodeInternal, "stored event %d: %v", r.Seq, err)
		}
		out = append(out, ev)
	}
	return out, nil
}
