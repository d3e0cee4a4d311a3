package node

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/qunchat/qun/protocol"
)

// Connection manager watermarks: a merchant node talks to the home nodes of
// its members and to a few relays; trimming starts above high.
const (
	connLow   = 100
	connHigh  = 400
	connGrace = time.Minute
)

// Stream limits of qun's request/response protocols (see streams.go and
// docs/OPERATIONS-LIMITS.md). Inbound streams per remote peer are a small
// fraction of the totals, so that no peer and no small set of peers can
// take them all; an idle stream is reset within requestStartTimeout, so a
// peer holds at most its share, briefly. A home node forwards up to
// maxForwards submissions of a group at once: the per-peer submit limit
// leaves room for that burst.
const (
	submitStreamsPerPeer = 256
	submitStreamsTotal   = 32 * submitStreamsPerPeer
	syncStreamsPerPeer   = 64
	syncStreamsTotal     = 64 * syncStreamsPerPeer
	infoStreamsPerPeer   = 8
	infoStreamsTotal     = 64 * infoStreamsPerPeer
	blobStreamsPerPeer   = 4 // each holds up to a 50 MiB reply in memory
	blobStreamsTotal     = 16
	// A checkpoint reply holds a group's whole state; a node asks for one
	// when it becomes home to a new member.
	checkpointStreamsPerPeer = 2
	checkpointStreamsTotal   = 8
	contactStreamsPerPeer    = 4
	contactStreamsTotal      = 32
	// peerStreamsInbound bounds a peer's inbound streams of every protocol
	// together, negotiated or not (the transient scope holds streams
	// until their protocol is negotiated, up to 10 s).
	peerStreamsInbound = 512
	// systemStreamsInbound and transientStreamsInbound are floors: the
	// totals must stay far above what 8 peers can hold
	// (8 * peerStreamsInbound).
	systemStreamsInbound    = 32 * peerStreamsInbound
	transientStreamsInbound = 16 * peerStreamsInbound
)

// resourceLimits returns the resource manager's limits: libp2p's defaults
// scaled to the machine, with fixed limits for qun's protocols and floors
// for the shared scopes.
func resourceLimits() rcmgr.ConcreteLimitConfig {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	limits.PeerBaseLimit.StreamsInbound = peerStreamsInbound
	limits.PeerLimitIncrease.StreamsInbound = 0
	limits.PeerBaseLimit.Streams = max(limits.PeerBaseLimit.Streams, peerStreamsInbound+limits.PeerBaseLimit.StreamsOutbound)
	limits.SystemBaseLimit.StreamsInbound = max(limits.SystemBaseLimit.StreamsInbound, systemStreamsInbound)
	limits.SystemBaseLimit.Streams = max(limits.SystemBaseLimit.Streams, systemStreamsInbound+limits.SystemBaseLimit.StreamsOutbound)
	limits.TransientBaseLimit.StreamsInbound = max(limits.TransientBaseLimit.StreamsInbound, transientStreamsInbound)
	limits.TransientBaseLimit.Streams = max(limits.TransientBaseLimit.Streams, transientStreamsInbound+limits.TransientBaseLimit.StreamsOutbound)
	for _, l := range []struct {
		proto, service string
		perPeer, total int
	}{
		{protocol.SubmitProtocol, "qun-submit", submitStreamsPerPeer, submitStreamsTotal},
		{protocol.SyncProtocol, "qun-sync", syncStreamsPerPeer, syncStreamsTotal},
		{InfoProtocol, "qun-info", infoStreamsPerPeer, infoStreamsTotal},
		{AboutProtocol, "qun-about", infoStreamsPerPeer, infoStreamsTotal},
		{BlobProtocol, "qun-blob", blobStreamsPerPeer, blobStreamsTotal},
		{CheckpointProtocol, "qun-checkpoint", checkpointStreamsPerPeer, checkpointStreamsTotal},
		{ContactProtocol, "qun-contact", contactStreamsPerPeer, contactStreamsTotal},
	} {
		// Outbound: a node's own requests, bounded by its callers.
		total := rcmgr.BaseLimit{StreamsInbound: l.total, StreamsOutbound: 4 * l.total, Streams: 5 * l.total, Memory: 64 << 20}
		perPeer := rcmgr.BaseLimit{StreamsInbound: l.perPeer, StreamsOutbound: 4 * l.perPeer, Streams: 5 * l.perPeer, Memory: 32 << 20}
		memory := rcmgr.BaseLimitIncrease{Memory: 16 << 20}
		// The handlers join a service (serveRequest) as well as the
		// protocol: both scopes get the same limits.
		limits.AddProtocolLimit(protocolID(l.proto), total, memory)
		limits.AddProtocolPeerLimit(protocolID(l.proto), perPeer, rcmgr.BaseLimitIncrease{})
		limits.AddServiceLimit(l.service, total, memory)
		limits.AddServicePeerLimit(l.service, perPeer, rcmgr.BaseLimitIncrease{})
	}
	return limits.AutoScale()
}

// newHost builds the libp2p host: TCP and QUIC, Noise, yamux, a resource
// manager with resourceLimits, a connection manager, AutoNAT service, hole
// punching and the circuit relay v2 client (and relay service when
// configured).
func (n *Node) newHost() error {
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(resourceLimits()))
	if err != nil {
		return fmt.Errorf("resource manager: %w", err)
	}
	cm, err := connmgr.NewConnManager(connLow, connHigh, connmgr.WithGracePeriod(connGrace))
	if err != nil {
		return fmt.Errorf("connection manager: %w", err)
	}
	var static []peer.AddrInfo
	for _, a := range n.cfg.Bootstrap {
		if info, err := parseP2PAddr(a); err == nil {
			static = append(static, *info)
		}
	}
	opts := []libp2p.Option{
		libp2p.Identity(n.key.Libp2p()),
		libp2p.ListenAddrStrings(n.cfg.ListenAddrs...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.EnableNATService(),
		libp2p.EnableHolePunching(),
		libp2p.EnableRelay(),
		libp2p.UserAgent("qun/" + Version),
	}
	if len(static) > 0 {
		opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(static))
	}
	if n.cfg.RelayService {
		opts = append(opts, libp2p.EnableRelayService())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return fmt.Errorf("starting libp2p host: %w", err)
	}
	n.host = h
	return nil
}

// Version is the node software version.
const Version = "0.1.0"
