package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/rivo/tview"
)

// `qun chat GID`: a terminal chat on one group. History comes from the
// node's backward pages (older ones load when the user scrolls up), new
// events from the WebSocket subscription, and the input line sends
// messages and slash commands (chat_cmds.go). The screen is drawn with
// tview; every change of the model runs on tview's event loop.

// chatPage is how many events the chat loads at a time.
const chatPage = 100

// chatShutdownWait bounds the wait for the chat's goroutines after the
// screen has closed.
const chatShutdownWait = 5 * time.Second

func runChat(x *cli, args []string) error {
	fs := x.flags()
	langFlag := fs.String("lang", "", "the chat's language, `zh|en` (default: zh when the first of $LC_ALL, $LC_MESSAGES, $LANG that is set starts with zh, else en)")
	pos, err := x.parse(fs, args, 1, false, "GID")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	lang, err := parseChatLang(*langFlag, x.getenv)
	if err != nil {
		return err
	}
	if x.json {
		return usagef("the chat is for people; --json does not apply")
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	me := c.Key().ID().String()

	// Everything that can fail in words fails before the screen is taken,
	// in the chat's language.
	if err := checkTerminal(); err != nil {
		return lang.before(err)
	}
	ctx, cancel := context.WithCancel(x.ctx)
	defer cancel()
	view, err := c.Group(ctx, gid)
	if err != nil {
		return lang.before(err)
	}
	page, err := c.EventsBefore(ctx, gid, 0, chatPage)
	if err != nil {
		return lang.before(err)
	}
	sub, err := c.Subscribe(ctx, map[protocol.GroupID]uint64{gid: page.Head + 1})
	if err != nil {
		return lang.before(err)
	}
	defer sub.Close()
	screen, err := tcell.NewScreen()
	if err != nil {
		return fmt.Errorf("the chat needs a terminal: %w", err)
	}

	m := newChatModel(me, time.Now, lang)
	m.setView(view)
	m.prepend(page.Events, page.Prev != 0)
	ui := newChatUI(ctx, cancel, c, gid, sub, m)
	ui.app.SetScreen(screen)
	links := ui.run()
	for _, l := range links {
		fmt.Fprintln(x.stdout, l)
	}
	return nil
}

// noTerminalError: there is no terminal to draw the chat on.
type noTerminalError struct{ err error }

func (e *noTerminalError) Error() string {
	return fmt.Sprintf("the chat needs a terminal (%v); run it in one", e.err)
}
func (e *noTerminalError) Unwrap() error { return e.err }

// checkTerminal fails in words when there is no terminal to draw on.
func checkTerminal() error {
	if runtime.GOOS == "windows" {
		return nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return &noTerminalError{err}
	}
	tty.Close()
	return nil
}

// chatUI is the running chat: the model, the widgets and the goroutines
// that feed them.
type chatUI struct {
	ctx    context.Context
	cancel context.CancelFunc
	c      *client.Client
	gid    protocol.GroupID
	sub    *client.Subscription
	m      *chatModel
	l      *chatLang // the words (m.l), for every goroutine

	app    *tview.Application
	head   *tview.Box
	msgs   *tview.Box
	hint   *tview.Box
	input  *tview.InputField
	cmds   chan chatCmd // to the worker, in order
	update chan func()  // to the bridge, which runs them on the event loop
	wg     sync.WaitGroup

	// Owned by the event loop.
	offset    int    // rows scrolled up from the newest
	newBelow  int    // events that arrived while scrolled up
	loading   bool   // an older page is being fetched
	connected bool   // the subscription's connection
	status    string // a transient line in the hint row
	links     []string
}

func newChatUI(ctx context.Context, cancel context.CancelFunc, c *client.Client, gid protocol.GroupID, sub *client.Subscription, m *chatModel) *chatUI {
	ui := &chatUI{
		ctx: ctx, cancel: cancel, c: c, gid: gid, sub: sub, m: m, l: m.l,
		app: tview.NewApplication(), cmds: make(chan chatCmd, 64), update: make(chan func(), 64),
		connected: true,
	}
	ui.head = tview.NewBox()
	ui.head.SetDrawFunc(ui.drawHeader)
	ui.msgs = tview.NewBox()
	ui.msgs.SetDrawFunc(ui.drawMessages)
	ui.hint = tview.NewBox()
	ui.hint.SetDrawFunc(ui.drawHint)
	ui.input = tview.NewInputField().SetLabel("> ").SetFieldBackgroundColor(tcell.ColorDefault).
		SetPlaceholder(m.l.t("input.placeholder")).SetPlaceholderTextColor(tcell.ColorGray)
	ui.input.SetDoneFunc(func(k tcell.Key) {
		if k == tcell.KeyEnter {
			ui.submit(ui.input.GetText())
			ui.input.SetText("")
		}
	})
	root := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(ui.head, 3, 0, false).
		AddItem(ui.msgs, 0, 1, false).
		AddItem(ui.hint, 1, 0, false).
		AddItem(ui.input, 1, 0, true)
	ui.app.SetRoot(root, true).SetFocus(ui.input)
	ui.app.SetInputCapture(ui.key)
	return ui
}

// run shows the chat until the user quits or the context ends, and returns
// the invite links made meanwhile.
func (ui *chatUI) run() []string {
	ui.wg.Add(4)
	go ui.bridge()
	go ui.pump()
	go ui.watch()
	go ui.worker()
	ui.post(func() { ui.ack(); ui.fetchPins() })
	err := ui.app.Run()
	ui.cancel()
	ui.sub.Close()
	done := make(chan struct{})
	go func() { ui.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(chatShutdownWait): // the screen failed under a queued update; leave it
	}
	if err != nil {
		ui.links = append(ui.links, ui.l.t("terminal.failed", "why", err.Error()))
	}
	return ui.links
}

// post runs f on the event loop (and redraws), unless the chat has ended.
func (ui *chatUI) post(f func()) {
	select {
	case ui.update <- f:
	case <-ui.ctx.Done():
	}
}

// bridge is the only goroutine that queues updates on tview's loop, and
// the one that stops it: stopping from here means no update is left
// waiting on a loop that has ended.
func (ui *chatUI) bridge() {
	defer ui.wg.Done()
	for {
		select {
		case <-ui.ctx.Done():
			ui.app.Stop()
			return
		case f := <-ui.update:
			ui.app.QueueUpdateDraw(f)
		}
	}
}

// pump moves the subscription's events onto the screen, in batches.
func (ui *chatUI) pump() {
	defer ui.wg.Done()
	for {
		ev, ok := <-ui.sub.Events()
		if !ok {
			if ui.ctx.Err() == nil {
				err := ui.sub.Err()
				ui.post(func() { ui.m.notice(itemRefusal, ui.l.t("live.stopped", "why", ui.l.errText(err))) })
			}
			return
		}
		batch := []client.Event{ev}
	more:
		for len(batch) < 256 {
			select {
			case ev, ok := <-ui.sub.Events():
				if !ok {
					break more
				}
				batch = append(batch, ev)
			default:
				break more
			}
		}
		ui.post(func() { ui.addEvents(batch) })
	}
}

// watch follows the subscription's connection and reports.
func (ui *chatUI) watch() {
	defer ui.wg.Done()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	was := true
	for {
		select {
		case <-ui.ctx.Done():
			return
		case err := <-ui.sub.Errors():
			var ended *client.EndedError
			if errors.As(err, &ended) {
				// The node ended the group's live updates: the user may no
				// longer read it. One line; nothing follows.
				msg := ui.l.ended(ended.Err)
				ui.post(func() { ui.m.notice(itemRefusal, msg) })
				continue
			}
			var ge *client.GroupError
			if errors.As(err, &ge) {
				msg := ui.l.t("live.refused", "why", ui.l.errText(ge.Err))
				ui.post(func() { ui.m.notice(itemRefusal, msg) })
				continue
			}
			msg := ui.l.t("live.lost", "why", ui.l.errText(err))
			ui.post(func() { ui.status = msg })
		case <-tick.C:
			if now := ui.sub.Connected(); now != was {
				was = now
				ui.post(func() {
					ui.connected = now
					if now {
						ui.status = ""
					}
				})
			}
		}
	}
}

// worker runs the commands of the input line, one at a time, in order.
func (ui *chatUI) worker() {
	defer ui.wg.Done()
	me := ui.c.Key().ID().String()
	for {
		select {
		case <-ui.ctx.Done():
			return
		case cmd := <-ui.cmds:
			res := runChatCmd(ui.ctx, ui.c, ui.gid, me, cmd, ui.l)
			if ui.ctx.Err() != nil {
				return
			}
			ui.post(func() {
				for _, n := range res.notices {
					ui.m.notice(itemNotice, n)
				}
				if res.refusal != "" {
					ui.m.notice(itemRefusal, res.refusal)
				}
				if res.link != "" {
					ui.links = append(ui.links, res.link)
				}
				ui.offset = 0
			})
		}
	}
}

// submit handles an input line (on the event loop).
func (ui *chatUI) submit(line string) {
	cmd, err := parseChatLine(line, ui.l)
	switch {
	case err != nil:
		ui.m.notice(itemRefusal, err.Error())
		return
	case cmd.name == "":
		return
	case cmd.name == "quit":
		ui.cancel()
		return
	case cmd.name == "help":
		for _, h := range ui.l.lines("help") {
			ui.m.notice(itemNotice, h)
		}
		ui.offset = 0
		return
	}
	select {
	case ui.cmds <- cmd:
	default:
		ui.m.notice(itemRefusal, ui.l.t("busy"))
	}
}

// addEvents shows live events (on the event loop).
func (ui *chatUI) addEvents(evs []client.Event) {
	w, _ := ui.msgWidth()
	before := len(ui.m.rows(w))
	added, refresh, pins := 0, false, false
	for _, ev := range evs {
		if ev.Group != ui.gid || !ui.m.appendEvent(ev.EventView) {
			continue
		}
		added++
		switch ev.Kind {
		case "join", "leave", "kick", "ban", "approve", "role", "mute", "unmute":
			refresh = true
		case "pin":
			pins = true
		}
	}
	if added == 0 {
		return
	}
	if ui.offset > 0 { // keep the rows the user is reading where they are
		ui.offset += len(ui.m.rows(w)) - before
		ui.newBelow += added
	}
	ui.ack()
	if refresh {
		ui.refreshView()
	}
	if pins {
		ui.fetchPins()
	}
}

// ack stores the cursor when the newest events are on screen.
func (ui *chatUI) ack() {
	if ui.offset == 0 && ui.m.hi > 0 {
		ui.sub.Ack(ui.gid, ui.m.hi)
		ui.newBelow = 0
	}
}

// refreshView reloads the group's view for the header (member count,
// role, mute), in the background.
func (ui *chatUI) refreshView() {
	ui.wg.Add(1)
	go func() {
		defer ui.wg.Done()
		v, err := ui.c.Group(ui.ctx, ui.gid)
		if err != nil {
			return
		}
		ui.post(func() { ui.m.setView(v) })
	}()
}

// fetchPins loads the texts of pinned messages that are not loaded.
func (ui *chatUI) fetchPins() {
	var want []uint64
	for _, p := range ui.m.pins {
		if _, ok := ui.m.texts[p]; !ok && len(want) < 5 {
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		return
	}
	ui.wg.Add(1)
	go func() {
		defer ui.wg.Done()
		for _, seq := range want {
			page, err := ui.c.Events(ui.ctx, ui.gid, seq, 1)
			if err != nil || len(page.Events) == 0 {
				continue
			}
			ev := page.Events[0]
			ui.post(func() { ui.m.learn(ev, false); ui.m.version++ })
		}
	}()
}

// loadOlder fetches the page before the oldest loaded event.
func (ui *chatUI) loadOlder() {
	if ui.loading || !ui.m.hasOlder {
		return
	}
	ui.loading = true
	before := ui.m.lo
	ui.wg.Add(1)
	go func() {
		defer ui.wg.Done()
		page, err := ui.c.EventsBefore(ui.ctx, ui.gid, before, chatPage)
		ui.post(func() {
			ui.loading = false
			if err != nil {
				ui.m.notice(itemRefusal, ui.l.t("older.failed", "why", ui.l.errText(err)))
				return
			}
			ui.m.prepend(page.Events, page.Prev != 0)
		})
	}()
}

// key handles the keys that are not the input line's (on the event loop).
func (ui *chatUI) key(ev *tcell.EventKey) *tcell.EventKey {
	_, h := ui.msgWidth()
	page := max(h-1, 1)
	switch ev.Key() {
	case tcell.KeyCtrlC:
		ui.cancel()
		return nil
	case tcell.KeyPgUp:
		ui.scroll(page)
		return nil
	case tcell.KeyPgDn:
		ui.scroll(-page)
		return nil
	case tcell.KeyUp:
		ui.scroll(1)
		return nil
	case tcell.KeyDown:
		ui.scroll(-1)
		return nil
	case tcell.KeyEscape:
		ui.scroll(-ui.offset)
		return nil
	case tcell.KeyCtrlL:
		ui.app.Sync()
		return nil
	}
	return ev
}

// scroll moves the view by n rows (up if positive); reaching the top
// loads older events.
func (ui *chatUI) scroll(n int) {
	w, h := ui.msgWidth()
	top := max(len(ui.m.rows(w))-h, 0)
	ui.offset = min(max(ui.offset+n, 0), top)
	if n > 0 && ui.offset >= top {
		ui.loadOlder()
	}
	ui.ack()
}

// msgWidth returns the size of the message area.
func (ui *chatUI) msgWidth() (int, int) {
	_, _, w, h := ui.msgs.GetInnerRect()
	if w <= 0 {
		w, h = 80, 19
	}
	return w, h
}

func (ui *chatUI) drawHeader(screen tcell.Screen, x, y, w, h int) (int, int, int, int) {
	rows := ui.m.header(ui.connected)
	styles := [3]tcell.Style{
		tcell.StyleDefault.Reverse(true).Bold(true),
		tcell.StyleDefault.Foreground(tcell.ColorYellow),
		tcell.StyleDefault.Foreground(tcell.ColorAqua),
	}
	for i := 0; i < h && i < len(rows); i++ {
		text := rows[i]
		if i == 0 {
			text = " " + text
		}
		putRow(screen, x, y+i, w, fit(text, w), styles[i], i == 0)
	}
	return x, y, w, h
}

func (ui *chatUI) drawMessages(screen tcell.Screen, x, y, w, h int) (int, int, int, int) {
	rows := ui.m.rows(w)
	ui.offset = min(ui.offset, max(len(rows)-h, 0))
	end := len(rows) - ui.offset
	start := max(end-h, 0)
	for i := start; i < end; i++ { // the newest row at the bottom
		putRow(screen, x, y+h-(end-i), w, rows[i].text, rows[i].style, false)
	}
	return x, y, w, h
}

func (ui *chatUI) drawHint(screen tcell.Screen, x, y, w, h int) (int, int, int, int) {
	t := ui.l.t
	text, st := " "+t("hint.keys"), tcell.StyleDefault.Foreground(tcell.ColorGray)
	switch {
	case ui.status != "":
		text, st = " "+ui.status, tcell.StyleDefault.Foreground(tcell.ColorRed)
	case ui.loading:
		text = " " + t("hint.loading")
	case ui.newBelow > 0:
		text, st = " "+t("hint.newBelow", "n", fmt.Sprint(ui.newBelow)), tcell.StyleDefault.Foreground(tcell.ColorYellow)
	case ui.offset > 0 && !ui.m.hasOlder:
		text = " " + t("hint.top")
	}
	putRow(screen, x, y, w, fit(text, w), st, false)
	return x, y, w, h
}

// putRow draws one row of text, cut at w; fill paints the rest of the row.
func putRow(screen tcell.Screen, x, y, w int, text string, st tcell.Style, fill bool) {
	col := 0
	for text != "" && col < w {
		rest, width := screen.Put(x+col, y, text, st)
		if width == 0 {
			width = 1
		}
		if col+width > w {
			break
		}
		text = rest
		col += width
	}
	if fill {
		for ; col < w; col++ {
			screen.Put(x+col, y, " ", st)
		}
	}
}
