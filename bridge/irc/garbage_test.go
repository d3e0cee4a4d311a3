package irc

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestBadServerInput feeds the client, from a hand-written server, lines
// no server should send: overlong, invalid UTF-8, unparsable, its own
// messages, CTCP queries, messages to channels it is not in. None panics,
// none ends the connection, and only the real messages come through.
func TestBadServerInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := startClient(t, Config{Addr: ln.Addr().String(), Nick: "alice", Channels: []string{"#shop"}})
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	r := bufio.NewReader(conn)
	for _, want := range []string{"NICK alice", "USER alice 0 * :alice"} {
		if l, err := r.ReadString('\n'); err != nil || strings.TrimRight(l, "\r\n") != want {
			t.Fatalf("got %q, %v; want %q", l, err, want)
		}
	}
	lines := []string{
		":irc.test 001 alice :Welcome",
		":alice!~alice@host JOIN :#shop",
		":x!u@h PRIVMSG #shop :" + strings.Repeat("overlong ", 2000),
		"\x00\x01\x02 garbage",
		"@@@",
		":only-a-source",
		"PRIVMSG",
		":irc.test NOTICE #shop :from the server",
		":alice!~alice@host PRIVMSG #shop :my own message",
		":ALICE!~alice@host PRIVMSG #shop :my own message in capitals",
		":x!u@h PRIVMSG #shop :\x01VERSION\x01",
		":x!u@h PRIVMSG #other :not a joined channel",
		":x!u@h PRIVMSG alice :a private message",
		":x!u@h PRIVMSG #shop",
		":caf\xe9!u@h PRIVMSG #SHOP :caf\xe9 cr\xe8me",
		"@time=2024-05-06T07:08:09.5Z :x!u@h PRIVMSG #shop :\x01ACTION smiles",
		"PING :still-there",
	}
	for _, l := range lines {
		if _, err := conn.Write([]byte(l + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	m := c.recv()
	if m.Nick != "café" || m.Text != "café crème" || m.Channel != "#shop" {
		t.Fatalf("got %+v", m)
	}
	m = c.recv()
	if m.Text != "smiles" || !m.Action || !m.Time.Equal(time.Date(2024, 5, 6, 7, 8, 9, 5e8, time.UTC)) {
		t.Fatalf("got %+v", m)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no PONG: %v", err)
		}
		if strings.HasPrefix(l, "PONG") {
			if l != "PONG still-there\r\n" {
				t.Fatalf("got %q", l)
			}
			break
		}
	}
	select {
	case m := <-c.Messages():
		t.Fatalf("got %+v", m)
	default:
	}
	if !c.Connected() {
		t.Fatal("disconnected")
	}
}
