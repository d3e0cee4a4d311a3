package main

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// The terminal chat driven as a person would: in tmux, keys in with
// send-keys, the screen out with capture-pane, against a real `qun node`
// process.

// tmuxPane is one tmux session with its own server socket.
type tmuxPane struct {
	t    *testing.T
	sock string
	name string
}

// needTmux returns the tmux binary, skipping the test when there is none
// (failing instead under QUN_CI=1, where .ci/run installs it).
func needTmux(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("QUN_CI") == "1" {
			t.Fatalf("tmux is required under QUN_CI=1: %v (apt-get install tmux)", err)
		}
		t.Skipf("tmux is not installed (%v): the terminal chat test needs it; apt-get install tmux, or run with QUN_CI=1 to make this a failure", err)
	}
	return path
}

// startTmux runs command in a new detached tmux session of w×h cells.
func startTmux(t *testing.T, w, h int, command string) *tmuxPane {
	t.Helper()
	needTmux(t)
	p := &tmuxPane{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock"), name: "chat"}
	p.run("new-session", "-d", "-s", p.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), command)
	t.Cleanup(func() { exec.Command("tmux", "-S", p.sock, "kill-server").Run() })
	return p
}

func (p *tmuxPane) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-u", "-S", p.sock}, args...)...).CombinedOutput() // -u: UTF-8 whatever the locale
	if err != nil {
		p.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys types text literally, then presses Enter if enter is set.
func (p *tmuxPane) keys(text string, enter bool) {
	p.t.Helper()
	if text != "" {
		p.run("send-keys", "-t", p.name, "-l", text)
	}
	if enter {
		p.run("send-keys", "-t", p.name, "Enter")
	}
}

// press sends named keys (PPage, Escape…).
func (p *tmuxPane) press(keys ...string) {
	p.t.Helper()
	p.run(append([]string{"send-keys", "-t", p.name}, keys...)...)
}

func (p *tmuxPane) screen() string {
	p.t.Helper()
	out, err := exec.Command("tmux", "-S", p.sock, "capture-pane", "-p", "-t", p.name).CombinedOutput()
	if err != nil {
		return "" // the session ended
	}
	return string(out)
}

// waitScreen polls the screen until cond holds, failing with the screen
// after the deadline.
func (p *tmuxPane) waitScreen(what string, timeout time.Duration, cond func(screen string) bool) string {
	p.t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(50 * time.Millisecond) // poll interval of a bounded wait
	defer tick.Stop()
	for {
		s := p.screen()
		if cond(s) {
			return s
		}
		select {
		case <-tick.C:
		case <-deadline:
			p.t.Fatalf("waiting %s for %s; the screen:\n%s", timeout, what, s)
		}
	}
}

func (p *tmuxPane) waitText(text string) string {
	p.t.Helper()
	return p.waitScreen(fmt.Sprintf("%q on the screen", text), 30*time.Second, func(s string) bool { return strings.Contains(s, text) })
}

// TestChatTmux runs `qun chat` as a member in an 80×24 terminal: history
// with the announcement and pins on top, backward paging with PgUp, a
// message sent (on screen and in the node's log), live messages of others,
// a refusal after being muted, moderation commands refused to a member,
// /quit.
func TestChatTmux(t *testing.T) {
	sc := newChatScene(t, "Tea shop")
	a, shop, gid, bobKey := sc.a, sc.shop, sc.gid, sc.bobKey
	ctx := context.Background()
	// 150 messages: more than the first page of 100, so scrolling up has
	// to load an older one.
	for i := 1; i <= 150; i++ {
		if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: fmt.Sprintf("history message %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := shop.Announce(ctx, gid, "Pre-orders open until Friday"); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Pin(ctx, gid, 5); err != nil { // "history message 2"
		t.Fatal(err)
	}

	cmd := fmt.Sprintf("%s chat %s --lang en --api %s --key %s; echo chat exited $?; sleep 60", binary(t), gid, a.api, bobKey)
	p := startTmux(t, 80, 24, cmd)

	// History, the announcement and the pin.
	p.waitText("history message 150")
	s := p.waitText("Pinned: #5 history message 2") // the pin's text is fetched after the history
	for _, want := range []string{"Tea shop", "you: member", "Announcement: Pre-orders open until Friday", "Pinned: #5 history message 2", "pinned #5"} {
		if !strings.Contains(s, want) {
			t.Errorf("the first screen lacks %q:\n%s", want, s)
		}
	}
	for i, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if len([]rune(line)) > 80 || i >= 24 {
			t.Errorf("line %d does not fit 80×24: %q", i, line)
		}
	}

	// Scrolling up loads the older page, down to the group's creation.
	const top = `created the group "Tea shop"`
	for i := 0; !strings.Contains(p.screen(), top); i++ {
		if i == 30 {
			t.Fatalf("30 × PgUp did not reach the top:\n%s", p.screen())
		}
		before := p.screen()
		p.press("PPage")
		p.waitScreen("the view to scroll up", 10*time.Second, func(s string) bool { return s != before })
	}
	s = p.waitText(top)
	if !strings.Contains(s, "#3 ") || !strings.Contains(s, "you joined") || !strings.Contains(s, "start of the group") {
		t.Errorf("the top of the history:\n%s", s)
	}
	p.press("Escape")
	p.waitText("history message 150")

	// A message typed is sent: on the screen and in the node's log.
	p.keys("hello from the terminal", true)
	p.waitText("you: hello from the terminal")
	last, err := shop.Last(ctx, gid, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 1 || last[0].Text != "hello from the terminal" || last[0].Author != sc.bobID.String() {
		t.Fatalf("the node's last event: %+v", last)
	}

	// Others' messages arrive live.
	if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: "live from the shop"}); err != nil {
		t.Fatal(err)
	}
	p.waitText(shortID(shop.Key().ID().String()) + ": live from the shop")

	// A member may not moderate: one clear line.
	p.keys("/pin 5", true)
	p.waitText("refused: only the owner and admins can pin")
	p.keys("/pin x", true)
	p.waitText(`"x" is not a message number; usage: /pin SEQ`)

	// Muted, a message is refused with the reason.
	if _, err := shop.Mute(ctx, gid, sc.bobID, 10*time.Minute, "flooding"); err != nil {
		t.Fatal(err)
	}
	p.waitText("muted you until")
	p.keys("am I muted?", true)
	s = p.waitText("refused: you are muted in this group until")
	if !strings.Contains(s, "muted until") { // the header says so too
		t.Errorf("the header does not show the mute:\n%s", s)
	}
	if last, err := shop.Last(ctx, gid, 1); err != nil || last[0].Kind != "mute" {
		t.Errorf("a refused message reached the log: %+v, %v", last, err)
	}

	// /quit leaves.
	p.keys("/quit", true)
	p.waitText("chat exited 0")
}

// TestChatTmuxChinese runs `qun chat` under LANG=zh_CN.UTF-8: the header,
// the system lines and a mistyped command are in Chinese.
func TestChatTmuxChinese(t *testing.T) {
	sc := newChatScene(t, "茶馆")
	a, shop, gid, bobKey := sc.a, sc.shop, sc.gid, sc.bobKey
	ctx := context.Background()
	cmd := fmt.Sprintf("env -u LC_ALL -u LC_MESSAGES LANG=zh_CN.UTF-8 %s chat %s --api %s --key %s; echo chat exited $?; sleep 60", binary(t), gid, a.api, bobKey)
	p := startTmux(t, 80, 24, cmd)
	s := p.waitText("你 加入了群聊")
	for _, want := range []string{"茶馆 · 2 位成员 · 我是成员 · 已连接", "暂无群公告", "暂无置顶消息", "创建了群“茶馆”", "/help 帮助"} {
		if !strings.Contains(s, want) {
			t.Errorf("the Chinese screen lacks %q:\n%s", want, s)
		}
	}
	if _, err := shop.Mute(ctx, gid, sc.bobID, 10*time.Minute, ""); err != nil {
		t.Fatal(err)
	}
	p.waitText("禁言了 你，直到 ")

	// A photo: the line in Chinese names the command that saves it, which
	// saves it.
	att, err := shop.Upload(ctx, "image/jpeg", "tea.jpg", phonePhoto(t))
	if err != nil {
		t.Fatal(err)
	}
	sent, err := shop.SendFiles(ctx, gid, "新茶", *att)
	if err != nil {
		t.Fatal(err)
	}
	p.waitText(fmt.Sprintf("：新茶 [图片 320×240 tea.jpg]（/save %d 保存）", sent.Seq))
	dir := t.TempDir()
	p.keys(fmt.Sprintf("/save %d %s", sent.Seq, dir), true)
	p.waitText("已保存 " + filepath.Join(dir, "tea.jpg"))
	if b, err := os.ReadFile(filepath.Join(dir, "tea.jpg")); err != nil {
		t.Error(err)
	} else if c, err := jpeg.DecodeConfig(bytes.NewReader(b)); err != nil || c.Width != 320 || c.Height != 240 {
		t.Errorf("the saved photo: %+v, %v", c, err)
	}
	p.keys(fmt.Sprintf("/save %d %s", sent.Seq, dir), true)
	p.waitText("已存在，未覆盖")

	p.keys("/pin x", true)
	p.waitText(`"x" 不是消息序号；用法：/pin 序号`)
	p.keys("/quit", true)
	p.waitText("chat exited 0")
}

// chatScene is the set-up of the tmux chat tests: a real node whose admin
// (shop) made a group named name, and bob, who joined it with an invite
// and whose key file is bobKey.
type chatScene struct {
	a      *proc
	shop   *client.Client
	gid    protocol.GroupID
	bob    *client.Client
	bobID  protocol.UserID
	bobKey string
}

func newChatScene(t *testing.T, name string) chatScene {
	t.Helper()
	needTmux(t)
	a := startProc(t, t.TempDir())
	ctx := context.Background()
	shop := a.client(t, a.adminKey(t))
	host, err := protocol.ParseUserID(a.peerID)
	if err != nil {
		t.Fatal(err)
	}
	gid, _, err := shop.CreateGroup(ctx, host, protocol.Settings{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := shop.CreateInvite(ctx, gid, 1, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	bobKey := filepath.Join(t.TempDir(), "bob.key")
	k, _, err := client.LoadOrCreateKey(bobKey)
	if err != nil {
		t.Fatal(err)
	}
	bob := a.client(t, k)
	if _, err := bob.Join(ctx, inv.Token()); err != nil {
		t.Fatal(err)
	}
	return chatScene{a: a, shop: shop, gid: gid, bob: bob, bobID: k.ID(), bobKey: bobKey}
}
