// Command abuser is a test helper of node's TestIdleStreamAbuse (not part
// of qun): it runs throw-away libp2p peers in their own process, each
// opening as many idle streams to a target as the target accepts and
// holding each until the target resets it. It prints "held N" (streams
// opened so far) every 200 ms and stops when its standard input closes.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/multiformats/go-multiaddr"
)

func main() {
	target := flag.String("target", "", "multiaddr of the target, with /p2p/")
	peers := flag.Int("peers", 8, "throw-away peers")
	submit := flag.Int("submit", 400, "openers of /qun/submit/1.0.0 streams per peer")
	sync := flag.Int("sync", 100, "openers of /qun/sync/1.0.0 streams per peer")
	flag.Parse()
	if err := run(*target, *peers, *submit, *sync); err != nil {
		fmt.Fprintln(os.Stderr, "abuser:", err)
		os.Exit(1)
	}
}

func run(target string, peers, submit, syncs int) error {
	a, err := multiaddr.NewMultiaddr(target)
	if err != nil {
		return err
	}
	info, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // stop when the test closes our standard input
		_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		cancel()
	}()
	var opened atomic.Int64
	var wg sync.WaitGroup
	for range peers {
		h, err := libp2p.New(
			libp2p.NoListenAddrs,
			libp2p.Transport(tcp.NewTCPTransport),
			libp2p.ResourceManager(&network.NullResourceManager{}),
			libp2p.DisableRelay(),
		)
		if err != nil {
			return err
		}
		defer h.Close()
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		err = h.Connect(cctx, *info)
		ccancel()
		if err != nil {
			return err
		}
		hold(ctx, &wg, h, info.ID, "/qun/submit/1.0.0", submit, &opened)
		hold(ctx, &wg, h, info.ID, "/qun/sync/1.0.0", syncs, &opened)
	}
	fmt.Println("connected")
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			fmt.Println("held", opened.Load())
		}
	}
	wg.Wait()
	return nil
}

// hold starts openers that open streams to target on proto and hold each
// idle until the target resets it: mode 0 negotiates the protocol and sends
// nothing, mode 1 sends the first byte of a frame header and stops, mode 2
// never negotiates.
func hold(ctx context.Context, wg *sync.WaitGroup, h host.Host, target peer.ID, proto string, openers int, opened *atomic.Int64) {
	pause := func() {
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	for i := range openers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for ctx.Err() == nil {
				var s network.Stream
				var err error
				if i%3 == 2 {
					s, err = h.Network().NewStream(network.WithNoDial(ctx, "abuse"), target)
				} else {
					s, err = h.NewStream(network.WithNoDial(ctx, "abuse"), target, protocol.ID(proto))
					if err == nil {
						_, err = s.Write([]byte{0x80}[:i%3]) // mode 0 flushes the protocol header only
					}
				}
				if err != nil {
					if s != nil {
						s.Reset()
					}
					pause()
					continue
				}
				opened.Add(1)
				stop := context.AfterFunc(ctx, func() { s.Reset() })
				start := time.Now()
				_, _ = s.Read(buf) // blocks until the target resets or answers
				stop()
				s.Reset()
				if time.Since(start) < 100*time.Millisecond {
					pause() // refused at once (a resource limit)
				}
			}
		}()
	}
}
