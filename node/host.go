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

// newHost builds the libp2p host: TCP and QUIC, Noise, yamux, a resource
// manager with the default scaled limits plus limits for qun's protocols, a
// connection manager, AutoNAT service, hole punching and the circuit relay
// v2 client (and relay service when configured).
func (n *Node) newHost() error {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	for _, p := range []string{protocol.SubmitProtocol, protocol.SyncProtocol, InfoProtocol} {
		limits.AddProtocolLimit(protocolID(p),
			rcmgr.BaseLimit{StreamsInbound: 1024, StreamsOutbound: 1024, Streams: 2048, Memory: 64 << 20},
			rcmgr.BaseLimitIncrease{StreamsInbound: 256, StreamsOutbound: 256, Streams: 512, Memory: 16 << 20})
		limits.AddProtocolPeerLimit(protocolID(p),
			rcmgr.BaseLimit{StreamsInbound: 256, StreamsOutbound: 256, Streams: 512, Memory: 32 << 20},
			rcmgr.BaseLimitIncrease{})
	}
	// The stream handlers also join a service (SetService); the default
	// per-peer service limit (128 inbound streams) would otherwise reset
	// streams below the protocol's per-peer limit under a burst.
	for _, svc := range []string{"qun-submit", "qun-sync"} {
		limits.AddServiceLimit(svc,
			rcmgr.BaseLimit{StreamsInbound: 1024, StreamsOutbound: 1024, Streams: 2048, Memory: 64 << 20},
			rcmgr.BaseLimitIncrease{StreamsInbound: 256, StreamsOutbound: 256, Streams: 512, Memory: 16 << 20})
		limits.AddServicePeerLimit(svc,
			rcmgr.BaseLimit{StreamsInbound: 256, StreamsOutbound: 256, Streams: 512, Memory: 32 << 20},
			rcmgr.BaseLimitIncrease{})
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
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
