package light

import (
	"context"
	"crypto/tls"
	"net"
)

// Slow WebSocket clients (docs/API.md, "A client that does not read").
// Linux grows a socket's send buffer up to net.ipv4.tcp_wmem's maximum
// (4 MiB here) for a peer that does not read, so 1,000 such clients held
// 1.5 GB of kernel memory. A WebSocket's socket gets a fixed, small send
// buffer instead: a client that stops reading blocks the node's writes
// after at most about 2×wsSendBuffer of unsent data (the kernel doubles the
// figure for its bookkeeping), and Config.WriteTimeout later it is dropped with
// a TCP reset, which frees that memory at once instead of leaving it in an
// orphaned socket that keeps probing a peer that never reads.
const wsSendBuffer = 64 << 10

// apiConnKey is the context key of the API connection of a request.
type apiConnKey struct{}

// ConnContext is to be the http.Server's ConnContext: it makes the
// accepted connection reachable from its requests, so that a WebSocket can
// tune its socket.
func (*Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, apiConnKey{}, c)
}

// tcpConnOf returns the TCP connection under a request's connection (under
// TLS too), or nil.
func tcpConnOf(ctx context.Context) *net.TCPConn {
	c, _ := ctx.Value(apiConnKey{}).(net.Conn)
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tcp, _ := c.(*net.TCPConn)
	return tcp
}

// limitSendBuffer gives a WebSocket's socket its small send buffer.
func limitSendBuffer(tcp *net.TCPConn) {
	if tcp != nil {
		_ = tcp.SetWriteBuffer(wsSendBuffer)
	}
}

// resetOnClose makes the socket's close a reset that discards what the
// client did not take.
func resetOnClose(tcp *net.TCPConn) {
	if tcp != nil {
		_ = tcp.SetLinger(0)
	}
}
