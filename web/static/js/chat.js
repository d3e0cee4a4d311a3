// A group: its history with scroll-back, the live chat over the WebSocket,
// replies, mentions, recall, reactions, edits, the announcement and pins;
// and, for the owner and admins, the management panel (manage.js) over the
// same live state.
//
// Reactions (kind reaction) and edits (kind edit) have no line of their
// own: they change the message they target. Reactions are counted from the
// events loaded (the latest event of a user, an emoji and a message wins;
// remove takes the reaction back); a message shows the text of its latest
// edit, with an "edited" label.
//
// A message a bridge relayed for a person of another network (its
// bridged, protocol 1.3) shows as theirs, "Alice (irc)", everywhere it is
// named (the bubble, quotes, pins, the reply bar); their card names the
// bridge that signed it.

import { t, lang } from "./i18n.js";
import { h, clear, short, statusLine, busy, fmtTime, fmtDateTime, fmtSize, confirmDialog, errorText, attachmentsLabel } from "./ui.js";
import {
  KIND, RANK, RECALL_WINDOW_MS, EDIT_WINDOW_MS, MAX_TEXT_RUNES, MAX_MENTIONS, MAX_ATTACHMENTS, MAX_IMAGE_BYTES, MAX_FILE_BYTES,
  body, decodeEvent, decodeMessage, verifyEvent, parsePeerID, isImageMIME, cleanFileName, checkEmoji,
} from "./proto.js";
import { fromBase64, fromHex } from "./codec.js";
import { renderManage } from "./manage.js";
import { Names, nameEl, avatarEl, relabel, showPerson, refreshPerson, closePerson, namesList } from "./names.js";
import { shownGroups } from "./shown.js";
import { contactStrip, openContactSheet, closeContactSheet, requestConversation, offerConversation, staffOf, conversationOf } from "./contacts.js";

const PAGE = 50;
// The reactions offered at one tap; "more" takes any other emoji.
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "🙏", "👌"];
const STATE_KINDS = new Set(["update", "announce", "pin", "unpin", "role", "invite_create", "invite_revoke", "join",
  "join_request", "approve", "reject", "leave", "kick", "ban", "unban", "mute", "unmute", "profile", "close", "rules", "confirm"]);

export class GroupScreen {
  constructor(app, gid, view) {
    this.app = app;
    this.gid = gid;
    this.gidBytes = fromHex(gid);
    this.view = view;
    this.me = app.signer.id;
    this.names = new Names(this.me, (hash) => app.api.blobURL(gid, hash));
    this.state = null;
    this.events = new Map(); // seq -> EventView, every event loaded
    this.decoded = new Map(); // seq -> decoded message body
    this.recalled = new Set();
    this.bridgedSeq = new Map(); // seq -> the bridged id of a relayed message (kept once it is recalled)
    this.reactions = new Map(); // seq -> emoji -> user -> {seq, on}
    this.edits = new Map(); // seq -> {seq, time, text} of the latest edit
    this.editing = 0; // the seq of the message being edited in the composer
    this.prev = 0; // the before of the next older page; 0: none
    this.next = 0; // the next seq expected live
    this.loadingOlder = false;
    this.replyTo = 0;
    this.mentionPick = new Map(); // "@…abc123" -> peer ID
    this.closed = false;
    this.hostKey = null;
    this.timers = [];
    this.sub = null;
    this.el = h("div", { class: "group-screen", id: "group" }, h("p", { class: "muted" }, t("common.loading")));
    // A tap on a person's name shows who they are: the full ID and role.
    const person = (e) => {
      const n = e.target.closest(".name.tap[data-name]");
      if (!n || !this.el.contains(n)) return false;
      e.preventDefault();
      // The card offers a private conversation where one may be had.
      showPerson(this.names, n.dataset.name, false, (id) => (this.canPrivate(id) ? h("button", {
        type: "button", id: "btn-person-private", class: "primary", onclick: () => this.privateChat(id),
      }, t("contact.private")) : null), (groups) => shownGroups(this.app, groups, closePerson));
      return true;
    };
    this.el.addEventListener("click", person);
    this.el.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") person(e); });
    // Back from a drop: errors of the drop go, and a screen that could not
    // load for it loads now.
    this.onLiveStatus = (s) => {
      if (s !== "live" || this.closed) return;
      if (this.failed) { this.failed = false; this.open(); return; }
      for (const st of [this.status, this.manageStatus]) if (st) st.clearIf("unreachable", "unavailable");
    };
    this.onVisible = () => {
      if (document.visibilityState === "visible" && this.view === "chat" && this.lastSeq) this.ackSoon(this.lastSeq);
    };
    app.liveWatchers.add(this.onLiveStatus);
    document.addEventListener("visibilitychange", this.onVisible);
    // What an event did to the user (a mute, a kick, a new role) comes
    // pushed at once, before the event itself reaches the chat.
    this.offMembership = app.live ? app.live.watchMembership((m) => { if (m.group === this.gid) this.onMembership(m); }) : null;
    if (app.inbox) app.inbox.setOpen(gid);
  }

  close() {
    this.closed = true;
    closePerson();
    closeViewer();
    closeSheet();
    closeContactSheet();
    if (this.strip) this.strip.stop();
    for (const p of this.pending || []) if (p.abort) p.abort();
    this.timers.forEach(clearInterval);
    clearTimeout(this.refreshTimer);
    // An ack still waiting goes now: what was shown is read.
    if (this.ackTimer) { clearTimeout(this.ackTimer); this.app.live.ack(this.gid, this.ackSeq); }
    this.app.liveWatchers.delete(this.onLiveStatus);
    document.removeEventListener("visibilitychange", this.onVisible);
    if (this.offMembership) this.offMembership();
    clearTimeout(this.muteTimer);
    if (this.app.live && this.sub) this.app.live.unsubscribe(this.gid, this.sub);
    this.sub = null;
  }

  // ---- loading

  async open() {
    this.status = statusLine("group-status");
    try {
      await this.loadState(true);
    } catch (e) {
      if (this.closed) return;
      clear(this.el, h("section", { class: "card" }, h("a", { href: "/#/", class: "back to-list" }, "← " + t("common.back")), this.status));
      this.status.error(e);
      this.failed = e.code === "unreachable" || e.code === "unavailable";
      return;
    }
    if (this.closed) return;
    this.build();
    // What the screen before says once here (a conversation just opened).
    if (this.app.flash) { this.statusLine().ok(this.app.flash); this.app.flash = null; }
    if (this.view === "chat") {
      try {
        const page = await this.app.api.eventsBefore(this.gid, 0, PAGE);
        if (this.closed) return;
        this.addPage(page, false);
        this.next = page.events.length ? page.events[page.events.length - 1].seq + 1 : page.head + 1;
        this.lastSeq = this.next - 1;
      } catch (e) {
        this.status.error(e);
        this.next = this.state.head + 1;
      }
      this.scrollToEnd();
      this.ackSoon(this.next - 1);
    } else {
      this.next = this.state.head + 1;
    }
    this.sub = this.app.live.subscribe(this.gid, this.next, {
      onEvent: (ev) => this.onLive(ev),
      onError: (m) => this.statusLine().error(m),
      onEnded: (m) => this.removedBy(m.code === "banned" ? "ban" : m.code === "private" ? "private" : "kick"),
      onStatus: (m) => {
        const line = this.statusLine();
        if (m.status === "ok") { if (line.code === "group_status") line.clear(); return; }
        line.show(t("chat.status." + m.status, {}, t("chat.status.quarantined")), "error");
        line.code = "group_status";
      },
    });
    this.timers.push(setInterval(() => this.expireRecalls(), 2000));
  }

  // loadState fetches the group view; right after a join the home node may
  // still be fetching the group from its host, so an unknown group is retried.
  async loadState(retry) {
    for (let i = 0; ; i++) {
      try {
        this.state = await this.app.api.group(this.gid);
        break;
      } catch (e) {
        if (!retry || e.code !== "unknown_group" || i >= 30) throw e;
        await new Promise((r) => setTimeout(r, 500));
        if (this.closed) return;
      }
    }
    this.hostKey = parsePeerID(this.state.host);
    this.member = this.state.member_list.find((m) => m.user === this.me) || null;
    if (this.member) this.removed = null; // a member again
    this.names.setMembers(this.state.member_list, this.state.head || 0);
    this.names.setBridged(this.state.bridged_list || [], this.state.head || 0);
    this.relabel();
    this.rank = this.member ? RANK[this.member.role] || 1 : 0;
    this.app.setTitle(this.state.name + " · Qun");
  }

  refreshState(delay = 200) {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(async () => {
      try {
        await this.loadState(false);
      } catch (e) {
        if (e.code !== "private" && e.code !== "unknown_group" && e.code !== "banned") return this.statusLine().error(e);
        // Removed or banned: the group is no longer readable here. Keep
        // what is on screen and offer nothing a member could do.
        this.member = null;
        this.rank = 0;
      }
      if (this.closed) return;
      this.renderHeader();
      if (this.view === "chat") {
        this.renderTop();
        this.renderMuted();
        this.refreshActions();
      } else {
        this.renderManageSoon();
      }
    }, delay);
  }

  // onMembership takes a push of what an event of this group did to the
  // user: a kick or a ban ends the chat at once; every change reads the
  // group again (a role shows or hides the admin's controls, a mute the
  // muted state).
  onMembership(m) {
    if (this.closed) return;
    if (m.change === "kick" || m.change === "ban") {
      const ev = this.events.get(m.head);
      this.removedBy(m.change, ev && ev.member === this.me ? ev.text : "");
    }
    this.refreshState(0);
  }

  // removedBy shows why the user may no longer write here (kind kick, ban,
  // or private), with the admin's reason when known, in one line, and
  // offers nothing a member could do.
  removedBy(kind, reason) {
    if (this.closed) return;
    if (this.removed && !reason) reason = this.removed.reason;
    this.removed = { kind, reason: reason || "" };
    this.member = null;
    this.rank = 0;
    const key = kind === "ban" ? "chat.ended.banned" : kind === "private" ? "chat.ended.private" : "chat.ended.not_member";
    const line = this.statusLine();
    if (line && line.code === "ended") line.clear();
    if (!this.state) return;
    this.renderHeader();
    if (this.view === "chat") {
      this.renderMuted();
      this.refreshActions();
    } else {
      // The panel has nothing left for the user: the line says why.
      this.renderManageSoon();
      if (this.manageStatus) {
        this.manageStatus.show(reason ? t("chat.removedWhy", { line: t(key), reason }) : t(key), "error");
        this.manageStatus.code = "ended";
      }
    }
  }

  // statusLine is the line where refusals show in the current view.
  statusLine() {
    return this.view === "manage" && this.manageStatus ? this.manageStatus : this.status;
  }

  // ---- layout

  build() {
    this.header = h("div", { class: "group-header" });
    this.top = h("div", { class: "group-top" });
    if (this.view === "chat") {
      this.list = h("div", { id: "messages", class: "messages", role: "log", "aria-live": "polite" });
      this.older = h("button", { id: "btn-older", class: "link older", hidden: true, onclick: () => this.loadOlder() }, t("chat.older"));
      // In a group whose new members read from their join, the node
      // answers nothing earlier: say so where older pages would be.
      this.hiddenHistory = h("p", { id: "history-hidden", class: "meta history-hidden", hidden: true }, t("chat.historyHidden"));
      this.list.append(this.older, this.hiddenHistory);
      this.atEnd = true;
      this.list.addEventListener("scroll", () => {
        this.atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
        if (this.list.scrollTop < 60) this.loadOlder();
      });
      // A long press on a message (or a right click) offers the reactions.
      this.list.addEventListener("contextmenu", (e) => {
        const m = e.target.closest(".msg[data-seq]");
        if (!m || e.target.closest("a, img, .att-image, .chip, textarea, input")) return;
        const ev = this.events.get(Number(m.dataset.seq));
        if (!ev || !this.member || this.recalled.has(ev.seq)) return;
        e.preventDefault();
        this.openReactPicker(ev);
      });
      // Notes and errors under the list shrink it: stay at the newest message.
      new ResizeObserver(() => { if (this.atEnd) this.scrollToEnd(); }).observe(this.list);
      this.mutedNote = h("p", { id: "muted-note", class: "note", hidden: true });
      this.composer = this.buildComposer();
      this.bodyEl = h("div", { class: "chat" }, this.list, this.mutedNote, this.status, this.composer);
      // The newest request or offer of a private conversation, live.
      if (this.app.contacts && !this.strip) this.strip = contactStrip(this.app);
      this.dropTarget(this.bodyEl);
    } else {
      this.bodyEl = h("div", { class: "manage", id: "manage" });
    }
    clear(this.el, this.header, this.top, this.bodyEl);
    this.renderHeader();
    if (this.view === "chat") {
      this.renderTop();
      this.renderMuted();
    } else {
      this.renderBody();
    }
  }

  // renderHeader rebuilds the header only when what it shows changed: a
  // rebuild between the press and the release of a tap would lose the tap.
  renderHeader() {
    const s = this.state;
    const admin = this.rank >= 2;
    const conv = conversationOf(this.app, this.gid);
    const key = JSON.stringify([this.view, this.gid, s.name, s.members, admin, !!this.member, this.member && this.member.role, lang, conv]);
    if (key === this.headerKey && this.header.firstChild) return;
    this.headerKey = key;
    clear(this.header,
      h("a", { href: this.view === "chat" ? "/#/" : `/#/g/${this.gid}`, class: this.view === "chat" ? "back to-list" : "back", "aria-label": t("common.back") }, "←"),
      h("div", { class: "grow" },
        h("h1", { id: "group-name" }, s.name),
        h("span", { class: "meta", id: "group-members" }, t(s.members === 1 ? "chat.member1" : "chat.members", { n: s.members })),
        conv ? h("span", { class: "badge private-badge", id: "group-private", title: t("contact.privateHint") },
          conv.group_name ? t("contact.privateOf", { group: conv.group_name }) : t("contact.privateBadge")) : null),
      this.view === "chat" && admin ? h("a", { class: "button", id: "btn-manage", href: `/#/g/${this.gid}/manage` }, t("chat.manage")) : null,
      // Everyone else sees the members and sets their nick there.
      this.view === "chat" && !admin && this.member ? h("a", { class: "button", id: "btn-info", href: `/#/g/${this.gid}/manage` }, t("chat.info")) : null,
      this.view === "chat" && !admin && this.member && this.member.role !== "owner" ? h("button", {
        class: "link", id: "btn-leave", onclick: (e) => this.leave(e.target),
      }, t("chat.leave")) : null);
  }

  // ---- private conversations (contacts.js)

  // canPrivate says whether the user may have a private conversation
  // with id through this group: a member with the owner or an admin,
  // staff with anyone. A conversation offers none of its own.
  canPrivate(id) {
    if (!this.member || !this.state || id === this.me || conversationOf(this.app, this.gid)) return false;
    const m = this.state.member_list.find((x) => x.user === id);
    return !!m && (this.rank >= 2 || m.role === "owner" || m.role === "admin");
  }

  // askShop asks the group's owner and admins for a private conversation.
  askShop() {
    const staff = staffOf(this.state, this.me);
    openContactSheet({
      title: t("contact.askShop"), hint: t("contact.askHint"), sendLabel: t("contact.send"),
      send: async (note) => {
        await requestConversation(this.app, this.gid, staff, note);
        this.statusLine().ok(t("contact.sent"));
      },
    });
  }

  // privateChat starts a private conversation with id: staff open one at
  // once (and its chat); a member asks the staff member for one.
  privateChat(id) {
    const who = this.names.plain(id);
    closePerson();
    if (this.rank >= 2) {
      openContactSheet({
        title: t("contact.privateWith", { who }), hint: t("contact.offerHint", { who }), sendLabel: t("contact.open"),
        send: async (note) => {
          const pid = await offerConversation(this.app, { group: this.gid, groupName: this.state.name, to: [id], toName: who, note });
          this.app.flash = t("contact.offerSent", { who });
          this.app.go("#/g/" + pid);
        },
      });
      return;
    }
    openContactSheet({
      title: t("contact.privateWith", { who }), hint: t("contact.requestHint", { who }), sendLabel: t("contact.send"),
      send: async (note) => {
        await requestConversation(this.app, this.gid, [id], note);
        this.statusLine().ok(t("contact.sentTo", { who }));
      },
    });
  }

  async leave(btn) {
    if (btn.dataset.armed !== "1") { btn.dataset.armed = "1"; btn.textContent = t("chat.leaveConfirm"); return; }
    if (await this.act(KIND.leave, body.leave(), this.status, btn)) this.app.go("#/");
  }

  renderBody() {
    this.manageKey = JSON.stringify([this.state, this.rank, this.member && this.member.role, this.removed, lang]);
    clear(this.bodyEl, renderManage(this));
  }

  // renderManageSoon re-renders the panel, but not under the user's
  // fingers: while a field of the panel has the focus it waits for it to go.
  renderManageSoon() {
    const f = document.activeElement;
    if (f && this.bodyEl.contains(f) && /^(INPUT|TEXTAREA|SELECT)$/.test(f.tagName)) {
      if (!this.pendingRender) {
        this.pendingRender = true;
        this.bodyEl.addEventListener("focusout", () => {
          this.pendingRender = false;
          setTimeout(() => { if (!this.closed) this.renderManageSoon(); }, 300);
        }, { once: true });
      }
      return;
    }
    // Unchanged (a refresh that found the same group): leave it alone, so
    // that a tap under way is not lost to a rebuild.
    const key = JSON.stringify([this.state, this.rank, this.member && this.member.role, this.removed, lang]);
    if (key === this.manageKey && this.bodyEl.firstChild) return;
    this.manageKey = key;
    this.renderBody();
  }

  // renderTop shows the announcement and the pinned messages.
  renderTop() {
    const s = this.state;
    const pins = s.pins || [];
    // A member asks the shop's staff for a private conversation here.
    const ask = this.member && this.rank < 2 && staffOf(s, this.me).length && !conversationOf(this.app, this.gid);
    clear(this.top,
      this.strip ? this.strip.el : null,
      s.announcement ? h("div", { class: "announcement", id: "announcement" },
        h("strong", {}, t("chat.announcement")), " ", s.announcement) : null,
      ask ? h("div", { class: "row shop-contact", id: "shop-contact" },
        h("span", { class: "hint grow" }, t("contact.askLine")),
        h("button", { type: "button", id: "btn-contact-shop", onclick: () => this.askShop() }, t("contact.askShop"))) : null,
      pins.length ? h("ul", { class: "pins", id: "pins" }, pins.map((seq) => this.pinItem(seq))) : null);
  }

  pinItem(seq) {
    const li = h("li", { class: "pin", "data-seq": seq });
    const fill = (ev) => {
      const text = this.recalled.has(seq) ? t("chat.recalled") : ev ? this.summary(ev) : "#" + seq;
      clear(li,
        h("span", { class: "pin-icon" }, t("chat.pinned")),
        h("a", { href: "#", class: "grow pin-text", onclick: (e) => { e.preventDefault(); this.jumpTo(seq); } },
          ev ? [this.nameOf(this.authorOf(ev), "me", false), ": "] : "", text),
        this.rank >= 2 ? h("button", {
          class: "link act-unpin", title: t("chat.unpin"), "aria-label": t("chat.unpin"),
          onclick: (e) => this.act(KIND.unpin, body.target(seq), this.status, e.target),
        }, "✕") : null);
    };
    const ev = this.events.get(seq);
    fill(ev);
    if (!ev) {
      this.app.api.eventsFrom(this.gid, seq, 1).then((p) => {
        if (p.events[0] && p.events[0].seq === seq) fill(p.events[0]);
      }).catch(() => {});
    }
    return li;
  }

  // renderMuted shows what keeps the user from writing: a mute, or the
  // end of their membership (with the reason). Out of the group the
  // composer is disabled; a muted user may still try, and the node says
  // why it refuses.
  renderMuted() {
    const m = this.member;
    const s = this.state;
    let text = "";
    let muted = false;
    let until = 0;
    if (!m && this.removed) {
      const r = this.removed;
      const line = t(r.kind === "ban" ? "chat.ended.banned" : r.kind === "private" ? "chat.ended.private" : "chat.ended.not_member");
      text = r.reason ? t("chat.removedWhy", { line, reason: r.reason }) : line;
    } else if (!m) {
      text = t("chat.notMember");
    } else if (m.muted) {
      muted = true;
      until = m.muted_until || 0;
      text = m.muted_until ? t("chat.mutedUntil", { time: fmtDateTime(m.muted_until) }) : t("chat.mutedForever");
    } else if (s.muted_all && this.rank < 2) {
      muted = true;
      until = s.mute_all_until || 0;
      text = s.mute_all_until ? t("chat.allMutedUntil", { time: fmtDateTime(s.mute_all_until) }) : t("chat.allMuted");
    }
    this.mutedNote.textContent = text;
    this.mutedNote.hidden = !text;
    this.mutedNote.classList.toggle("removed", !m);
    this.composerSet.disabled = !m;
    this.composer.classList.toggle("blocked", !m);
    this.composer.classList.toggle("muted", muted);
    this.input.placeholder = t(!m ? "chat.cannotWrite" : muted ? "chat.mutedPlaceholder" : "chat.placeholder");
    // A mute that ends: the group is read again then.
    clearTimeout(this.muteTimer);
    const left = until - (Date.now() + (this.app.skew || 0));
    if (until && left > 0 && left < 2 ** 31 - 1000) this.muteTimer = setTimeout(() => this.refreshState(0), left + 500);
  }

  // ---- history

  addPage(page, older) {
    const evs = page.events || [];
    this.prev = page.prev !== undefined ? page.prev : 0;
    this.older.hidden = !(this.prev > 0);
    this.hiddenHistory.hidden = this.prev > 0 || !(this.state && this.state.read_from > 1);
    for (const ev of evs) this.noteEvent(ev);
    const frag = document.createDocumentFragment();
    for (const ev of evs) { const el = this.renderEvent(ev); if (el) frag.append(el); }
    if (older) {
      const before = this.list.scrollHeight - this.list.scrollTop;
      this.hiddenHistory.after(frag);
      this.list.scrollTop = this.list.scrollHeight - before;
    } else {
      this.list.append(frag);
    }
    for (const ev of evs) this.verify(ev);
    if (evs.some((ev) => ev.kind === "recall")) this.applyRecalls();
  }

  async loadOlder() {
    if (this.loadingOlder || !(this.prev > 0) || this.closed) return;
    this.loadingOlder = true;
    try {
      const page = await this.app.api.eventsBefore(this.gid, this.prev, PAGE);
      if (!this.closed) this.addPage(page, true);
    } catch (e) {
      this.status.error(e);
    } finally {
      this.loadingOlder = false;
    }
  }

  // noteEvent takes an event into what the screen knows; it reports "new"
  // for the first message of a person of another network.
  noteEvent(ev) {
    this.events.set(ev.seq, ev);
    let fresh = false;
    if (ev.kind === "message" && ev.bridged && ev.bridged.id) {
      this.bridgedSeq.set(ev.seq, ev.bridged.id);
      fresh = this.names.noteBridged(ev.bridged, ev.author, ev.seq);
      if (fresh) this.relabelSoon();
    }
    if (ev.kind === "profile" && this.names.noteProfile(ev)) this.relabelSoon();
    if (ev.kind === "recall" && ev.target) this.recalled.add(ev.target);
    if (ev.recalled) this.recalled.add(ev.seq); // the node sends a recalled message as a tombstone
    if (ev.kind === "reaction" && ev.target && ev.emoji) this.noteReaction(ev);
    if (ev.kind === "edit" && ev.target) this.noteEdit(ev.target, { seq: ev.seq, time: ev.time, text: ev.text || "" });
    // A message the node serves edited carries its latest text.
    if (ev.kind === "message" && ev.edited) this.noteEdit(ev.seq, { seq: ev.edited.seq, time: ev.edited.time, text: ev.text || "" });
    return fresh === "new";
  }

  // authorOf is who a message shows as: the person of another network a
  // bridge relayed it for, else its author.
  authorOf(ev) {
    return (ev.bridged && ev.bridged.id) || this.bridgedSeq.get(ev.seq) || ev.author;
  }

  // noteReaction keeps the latest reaction of a user with an emoji.
  noteReaction(ev) {
    let byEmoji = this.reactions.get(ev.target);
    if (!byEmoji) this.reactions.set(ev.target, (byEmoji = new Map()));
    let byUser = byEmoji.get(ev.emoji);
    if (!byUser) byEmoji.set(ev.emoji, (byUser = new Map()));
    const old = byUser.get(ev.author);
    if (old && old.seq >= ev.seq) return;
    byUser.set(ev.author, { seq: ev.seq, on: !ev.remove });
  }

  // noteEdit keeps the latest edit of a message; it reports a change.
  noteEdit(target, e) {
    const old = this.edits.get(target);
    if (old && old.seq >= e.seq) return false;
    this.edits.set(target, e);
    return true;
  }

  // reactionsOf lists the reactions a message has now: [{emoji, users,
  // mine}], in the order they were first given.
  reactionsOf(seq) {
    const out = [];
    for (const [emoji, byUser] of this.reactions.get(seq) || []) {
      const on = [...byUser].filter(([, r]) => r.on).sort((a, b) => a[1].seq - b[1].seq);
      if (on.length) out.push({ emoji, users: on.map(([id]) => id), mine: on.some(([id]) => id === this.me), first: on[0][1].seq });
    }
    return out.sort((a, b) => a.first - b.first);
  }

  hasMine(seq, emoji) {
    const r = this.reactions.get(seq)?.get(emoji)?.get(this.me);
    return !!(r && r.on);
  }

  // textOf is a message's text as it reads now: its latest edit's.
  textOf(ev) {
    const e = this.edits.get(ev.seq);
    return e ? e.text : this.message(ev).text;
  }

  onLive(ev) {
    if (this.closed) return;
    this.lastSeq = Math.max(this.lastSeq || 0, ev.seq);
    // A new person of another network joins the members' list.
    if (this.noteEvent(ev)) this.refreshState();
    if ((ev.kind === "kick" || ev.kind === "ban") && ev.member === this.me) this.removedBy(ev.kind, ev.text);
    if (this.view === "chat") {
      const nearEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 120;
      const el = this.renderEvent(ev);
      if (el) this.list.append(el);
      this.verify(ev);
      if (ev.kind === "recall") this.applyRecalls();
      if (ev.kind === "reaction") this.showReactions(ev.target);
      if (ev.kind === "edit") this.applyEdit(ev.target);
      if (nearEnd || (ev.author === this.me && el)) this.scrollToEnd();
      if (document.visibilityState === "visible") this.ackSoon(ev.seq);
    }
    if (STATE_KINDS.has(ev.kind)) this.refreshState();
  }

  ackSoon(seq) {
    if (!(seq > 0)) return;
    this.ackSeq = Math.max(this.ackSeq || 0, seq);
    clearTimeout(this.ackTimer);
    this.ackTimer = setTimeout(() => { this.ackTimer = null; this.app.live.ack(this.gid, this.ackSeq); }, 1000);
    if (this.app.inbox) this.app.inbox.markRead(this.gid);
  }

  scrollToEnd() { this.list.scrollTop = this.list.scrollHeight; }

  async jumpTo(seq) {
    while (!this.list.querySelector(`[data-seq="${seq}"]`) && this.prev > 0 && !this.closed) {
      const before = this.prev;
      await this.loadOlder();
      if (this.prev === before) break;
    }
    const el = this.list.querySelector(`[data-seq="${seq}"]`);
    if (el) {
      el.scrollIntoView({ block: "center" });
      el.classList.add("flash");
      setTimeout(() => el.classList.remove("flash"), 1500);
    }
  }

  async verify(ev) {
    if (!ev.raw || !this.hostKey) return;
    let ok = false;
    try {
      const d = decodeEvent(fromBase64(ev.raw));
      ok = d.seq === ev.seq && d.group === this.gid && (await verifyEvent(d, this.hostKey));
    } catch { ok = false; }
    if (!ok) {
      const el = this.list && this.list.querySelector(`[data-seq="${ev.seq}"]`);
      if (el) { el.classList.add("unverified"); el.title = t("chat.unverified"); }
    }
  }

  // ---- rendering events

  who(id) { return this.names.label(id); }

  // nameOf is an element with the label of id, kept up to date (relabel);
  // tap: it opens the person's card.
  nameOf(id, form = "me", tap = true) { return nameEl(this.names, id, form, tap); }

  // relabel shows the names again after a profile changed (it may change
  // the labels of others too: a name two members now share).
  relabel() {
    if (!this.el) return;
    relabel(this.el, this.names);
    refreshPerson(this.names);
  }
  relabelSoon() {
    if (this.relabelQueued) return;
    this.relabelQueued = true;
    queueMicrotask(() => { this.relabelQueued = false; if (!this.closed) this.relabel(); });
  }

  // line fills a template of the dictionary with strings and elements.
  line(key, vars = {}) {
    const tpl = t(key);
    const out = [];
    let last = 0;
    for (const m of tpl.matchAll(/\{(\w+)\}/g)) {
      out.push(tpl.slice(last, m.index));
      out.push(vars[m[1]] !== undefined ? vars[m[1]] : m[0]);
      last = m.index + m[0].length;
    }
    out.push(tpl.slice(last));
    return out;
  }

  roleOf(id) {
    const m = this.state.member_list.find((x) => x.user === id);
    return m ? m.role : "";
  }

  message(ev) {
    if (!this.decoded.has(ev.seq)) {
      let m = { text: ev.text || "", mentions: [], mentionAll: false, replyTo: ev.target || 0, link: ev.link || "",
        product: ev.product || null, attachments: ev.attachments || [] };
      try { m = decodeMessage(decodeEvent(fromBase64(ev.raw)).submission.body); } catch { /* use the view */ }
      this.decoded.set(ev.seq, m);
    }
    return this.decoded.get(ev.seq);
  }

  renderEvent(ev) {
    if (ev.kind === "message") return this.renderMessage(ev);
    // A profile changes the names shown; it has no line of its own.
    // Recalls, reactions and edits change the message they target.
    if (ev.kind === "recall" || ev.kind === "profile" || ev.kind === "reaction" || ev.kind === "edit") return null;
    return h("div", { class: "sys", "data-seq": ev.seq, title: fmtDateTime(ev.time) }, this.systemText(ev));
  }

  systemText(ev) {
    const a = this.nameOf(ev.author, "subject"), m = ev.member ? this.nameOf(ev.member, "object") : "";
    const t = (key, vars) => this.line(key, vars);
    switch (ev.kind) {
      case "create": return t("ev.create", { a, name: ev.name });
      case "update": return ev.name ? t("ev.rename", { a, name: ev.name }) : t("ev.update", { a });
      case "announce": return ev.text ? t("ev.announce", { a, text: ev.text }) : t("ev.unannounce", { a });
      case "pin": return t("ev.pin", { a, n: ev.target });
      case "unpin": return t("ev.unpin", { a, n: ev.target });
      case "role": return t("ev.role", { a, m, role: t("role." + ev.role) });
      case "invite_create": return t("ev.inviteCreate", { a });
      case "invite_revoke": return t("ev.inviteRevoke", { a });
      case "close": return t("ev.close", { a });
      case "rules": return t("ev.rules", { a });
      case "confirm": return t("ev.confirm", { a });
      case "join": return t("ev.join", { a });
      case "join_request": return t("ev.joinRequest", { a });
      case "approve": return t(this.names.bridgedOf(ev.member) ? "ev.letBack" : "ev.approve", { a, m });
      case "reject": return t("ev.reject", { a, m });
      case "leave": return t("ev.leave", { a });
      case "kick": return t("ev.kick", { a, m });
      case "ban": return t("ev.ban", { a, m });
      case "unban": return t("ev.unban", { a, m });
      case "mute":
        if (!ev.member) return ev.until ? t("ev.muteAllUntil", { a, time: fmtDateTime(ev.until) }) : t("ev.muteAll", { a });
        return ev.until ? t("ev.muteUntil", { a, m, time: fmtDateTime(ev.until) }) : t("ev.mute", { a, m });
      case "unmute": return ev.member ? t("ev.unmute", { a, m }) : t("ev.unmuteAll", { a });
      default: return t("ev.other", { a, kind: ev.kind });
    }
  }

  renderMessage(ev) {
    const m = this.message(ev);
    const who = this.authorOf(ev);
    const relayed = who !== ev.author;
    const mine = ev.author === this.me && !relayed;
    const mentioned = m.mentions.includes(this.me) || m.mentionAll;
    const el = h("div", {
      class: "msg" + (mine ? " mine" : "") + (mentioned && !mine ? " mentioned" : "") + (relayed ? " relayed" : ""),
      "data-seq": ev.seq, "data-author": ev.author, "data-bridged": relayed ? who : undefined,
    });
    const author = this.nameOf(who);
    author.classList.add("author");
    const quote = m.replyTo ? this.quote(m.replyTo) : null;
    const recalled = this.recalled.has(ev.seq);
    clear(el,
      h("div", { class: "msg-head" }, mine ? null : avatarEl(this.names, who, "small"), author, h("span", { class: "time", title: fmtDateTime(ev.time) }, fmtTime(ev.time)),
        h("span", { class: "edited-slot" }), h("span", { class: "seq" }, "#" + ev.seq)),
      quote,
      h("div", { class: "text" }, recalled ? h("em", { class: "recalled" }, t("chat.recalled")) : this.richText({ ...m, text: this.textOf(ev) })),
      recalled ? null : this.attachmentsEl((m.attachments || []).filter((a) => a !== productPicture(m))),
      h("div", { class: "reactions" }),
      h("div", { class: "actions" }),
    );
    this.fillEdited(el, ev.seq);
    this.fillReactions(el, ev.seq);
    this.fillActions(el, ev);
    return el;
  }

  // fillEdited shows the "edited" label of a message that was edited.
  // An admin taps it for the earlier versions (the node gives them to
  // admins only).
  fillEdited(el, seq) {
    const e = this.edits.get(seq);
    const title = e ? t("chat.editedAt", { time: fmtDateTime(e.time) }) : "";
    clear(el.querySelector(".edited-slot"), !e || this.recalled.has(seq) ? null : this.rank >= 2 ?
      h("button", { type: "button", class: "link edited", title, onclick: () => this.showVersions(seq) }, t("chat.edited")) :
      h("span", { class: "edited", title }, t("chat.edited")));
  }

  // showVersions lists every version of an edited message, oldest first:
  // the first text (from its signed bytes) and each edit's, with times.
  async showVersions(seq) {
    const ev = this.events.get(seq);
    const last = this.edits.get(seq);
    if (!ev || !last) return;
    const versions = [];
    try {
      // The history pages (not the WebSocket) carry them, for admins.
      for (let from = seq; from <= last.seq;) {
        const page = await this.app.api.eventsFrom(this.gid, from, Math.min(1000, last.seq - from + 1));
        if (!page.events.length) break;
        for (const x of page.events) {
          if (x.seq === seq && x.raw) versions.push({ time: x.time, text: decodeMessage(decodeEvent(fromBase64(x.raw)).submission.body).text });
          if (x.kind === "edit" && x.target === seq && !x.superseded) versions.push({ time: x.time, text: x.text || "" });
        }
        from = page.next;
      }
    } catch (e) {
      return this.statusLine().error(e);
    }
    const old = document.getElementById("versions-sheet");
    if (old) old.remove();
    const close = h("button", { type: "button", id: "btn-versions-close", onclick: () => back.remove() }, t("common.close"));
    const back = h("div", {
      class: "backdrop", id: "versions-sheet", onclick: (e) => { if (e.target === back) back.remove(); },
      onkeydown: (e) => { if (e.key === "Escape") back.remove(); },
    }, h("div", { class: "sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": "versions-title" },
      h("h2", { id: "versions-title" }, t("chat.versions")),
      h("ol", { class: "versions" }, versions.map((v) => h("li", {}, h("span", { class: "meta" }, fmtDateTime(v.time)), " ", v.text))),
      h("div", { class: "row" }, h("span", { class: "spacer" }), close)));
    document.body.append(back);
    close.focus();
  }

  // applyEdit shows a message's new text wherever it shows: its bubble,
  // the quotes of it, the pins.
  applyEdit(seq) {
    const ev = this.events.get(seq);
    if (!ev || !this.list) return;
    const el = this.list.querySelector(`.msg[data-seq="${seq}"]`);
    if (el && !this.recalled.has(seq)) {
      clear(el.querySelector(".text"), this.richText({ ...this.message(ev), text: this.textOf(ev) }));
      this.fillEdited(el, seq);
    }
    for (const q of this.list.querySelectorAll(`.quote[data-quote="${seq}"]`)) q.replaceWith(this.quote(seq));
    if ((this.state.pins || []).includes(seq)) this.renderTop();
    if (this.replyTo === seq) this.startReply(ev, true);
  }

  // fillReactions shows a message's reactions as chips: the emoji and the
  // count, highlighted when one is the user's; a tap on the user's own
  // takes it back, a tap on another adds the user's. A long press (or the
  // title) shows who reacted.
  fillReactions(el, seq) {
    const box = el.querySelector(".reactions");
    if (!box) return;
    if (this.recalled.has(seq)) { clear(box); return; }
    clear(box, this.reactionsOf(seq).map((r) => {
      const who = t("chat.reactedBy", { who: namesList(this.names, r.users, "object"), emoji: r.emoji });
      return h("button", {
        type: "button", class: "chip" + (r.mine ? " mine" : ""), "data-emoji": r.emoji, "data-count": r.users.length,
        title: who, "aria-label": who, "aria-pressed": r.mine ? "true" : "false",
        onclick: (e) => {
          if (!this.member) return;
          this.react(seq, r.emoji, this.hasMine(seq, r.emoji), e.currentTarget);
        },
        oncontextmenu: (e) => { e.preventDefault(); e.stopPropagation(); this.showReactedBy(seq, r.emoji); },
      }, h("span", { class: "chip-emoji" }, r.emoji), h("span", { class: "chip-count" }, String(r.users.length)));
    }));
  }

  showReactions(seq) {
    const el = this.list && this.list.querySelector(`.msg[data-seq="${seq}"]`);
    if (el) this.fillReactions(el, seq);
    if (this.sheetFor === seq && document.getElementById("react-picker")) this.openReactPicker(this.events.get(seq), true);
  }

  // react adds the user's reaction with emoji to message seq, or takes it
  // back (remove). The count changes when the event comes back live.
  react(seq, emoji, remove, button) {
    return this.act(KIND.reaction, body.reaction({ target: seq, emoji, remove }), this.status, button);
  }

  // openReactPicker offers the quick reactions and a field for any other
  // emoji; one already given is highlighted, and choosing it takes it back.
  openReactPicker(ev, keep) {
    if (!ev || !this.member || this.recalled.has(ev.seq)) return;
    const seq = ev.seq;
    const status = h("p", { id: "react-status", class: "status", role: "alert" });
    const more = h("input", {
      id: "react-more", class: "grow", autocomplete: "off", enterkeyhint: "done", maxlength: 32,
      placeholder: t("chat.reactMorePlaceholder"), "aria-label": t("chat.reactMore"),
    });
    const choose = (emoji, button) => {
      closeSheet();
      this.react(seq, emoji, this.hasMine(seq, emoji), button);
    };
    const form = h("form", {
      class: "row react-more",
      onsubmit: (e) => {
        e.preventDefault();
        const v = more.value.trim().normalize("NFC");
        const bad = checkEmoji(v);
        if (bad) { status.textContent = t("chat.emoji." + bad); status.className = "status error"; return; }
        choose(v, null);
      },
    }, more, h("button", { type: "submit", id: "btn-react-more" }, t("chat.reactAdd")));
    const given = this.reactionsOf(seq).filter((r) => r.mine).map((r) => r.emoji);
    const choices = [...QUICK_REACTIONS, ...given.filter((e) => !QUICK_REACTIONS.includes(e))];
    const sheet = h("div", { class: "sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": "react-title" },
      h("h2", { id: "react-title" }, t("chat.reactTitle")),
      h("p", { class: "hint react-of" }, snippet(this.summary(ev))),
      h("div", { class: "react-choices" }, choices.map((e) => h("button", {
        type: "button", class: "react-choice" + (this.hasMine(seq, e) ? " mine" : ""), "data-emoji": e,
        "aria-pressed": this.hasMine(seq, e) ? "true" : "false",
        "aria-label": t(this.hasMine(seq, e) ? "chat.reactTakeBack" : "chat.reactWith", { emoji: e }),
        onclick: (x) => choose(e, x.currentTarget),
      }, e))),
      form, status,
      h("div", { class: "row" }, h("span", { class: "spacer" }),
        h("button", { type: "button", id: "btn-react-close", onclick: closeSheet }, t("common.close"))));
    openSheet("react-picker", sheet, keep ? null : sheet.querySelector(".react-choice"));
    this.sheetFor = seq;
  }

  // showReactedBy lists who reacted to message seq with emoji.
  showReactedBy(seq, emoji) {
    const r = this.reactionsOf(seq).find((x) => x.emoji === emoji);
    if (!r) return;
    const close = h("button", { type: "button", id: "btn-reacted-close", onclick: closeSheet }, t("common.close"));
    openSheet("reacted-by", h("div", { class: "sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": "reacted-title" },
      h("h2", { id: "reacted-title" }, t("chat.reactedWith", { emoji, n: r.users.length })),
      h("ul", { class: "list reacted-list" }, r.users.map((id) => h("li", { class: "row", "data-user": id },
        avatarEl(this.names, id, "small"), this.nameOf(id, "me", false)))),
      h("div", { class: "row" }, h("span", { class: "spacer" }), close)), close);
    this.sheetFor = 0;
  }

  quote(seq) {
    const target = this.events.get(seq);
    const text = target ? (this.recalled.has(seq) ? t("chat.recalled") : this.summary(target)) : "";
    return h("a", {
      href: "#", class: "quote", "data-quote": seq, onclick: (e) => { e.preventDefault(); this.jumpTo(seq); },
    }, "↪ ", target ? [this.nameOf(this.authorOf(target), "me", false), ": " + snippet(text)] : t("chat.replyToSeq", { n: seq }));
  }

  // richText shows a message: the mentions it carries are the users of its
  // mentions field; a text "@…abc123", "@name" or "@nick" of one of them
  // shows as the user's current label. Text alone never makes a mention.
  richText(m) {
    const parts = [];
    const found = []; // [start, end, id or "all"]
    const taken = (a, b) => found.some(([s, e]) => a < e && b > s);
    const mark = (token, id) => {
      for (let i = m.text.indexOf(token); i >= 0; i = m.text.indexOf(token, i + 1)) {
        const end = i + token.length;
        // A whole word: not "@Ann" inside "@Anna".
        if (/[\p{L}\p{N}_]/u.test(m.text.charAt(end)) || taken(i, end)) continue;
        found.push([i, end, id]);
      }
    };
    const tokens = [];
    for (const id of m.mentions) for (const tok of this.names.tokens(id)) tokens.push([tok, id]);
    if (m.mentionAll) tokens.push(["@all", "all"], ["@" + t("chat.all"), "all"]);
    tokens.sort((a, b) => b[0].length - a[0].length);
    for (const [tok, id] of tokens) mark(tok, id);
    found.sort((a, b) => a[0] - b[0]);
    let last = 0;
    for (const [start, end, id] of found) {
      parts.push(m.text.slice(last, start));
      const el = id === "all" ? h("span", { class: "mention" }, "@" + t("chat.all")) :
        h("span", { class: "mention" + (id === this.me ? " me" : ""), title: id }, "@", this.nameOf(id));
      parts.push(el);
      last = end;
    }
    parts.push(m.text.slice(last));
    // Links in the text become links: http and https only.
    const out = parts.flatMap((p) => (typeof p === "string" ? linkify(p) : [p]));
    if (m.link && !m.text.includes(m.link) && safeURL(m.link)) out.push(" ", extLink(m.link, m.link));
    if (m.product) out.push(this.productCard(m.product, productPicture(m)));
    return out;
  }

  // fillActions puts the buttons a message offers to this user.
  fillActions(el, ev) {
    const box = el.querySelector(".actions");
    if (this.recalled.has(ev.seq)) { clear(box); return; }
    const mine = ev.author === this.me;
    const admin = this.rank >= 2;
    const authorRank = RANK[this.roleOf(ev.author)] || 0;
    const age = Date.now() + (this.app.skew || 0) - ev.time;
    // A bridge recalls a message it relayed at any time (the person
    // deleted it on their side); its own keep the window.
    const relayedByMe = mine && this.authorOf(ev) !== ev.author && this.member && this.member.role === "bridge";
    let canRecall = false;
    if (!this.member) canRecall = false;
    else if (mine) canRecall = admin || relayedByMe || age < RECALL_WINDOW_MS;
    else if (admin) canRecall = this.roleOf(ev.author) !== "owner" && this.rank > authorRank;
    const pinned = (this.state.pins || []).includes(ev.seq);
    // The author edits a message within 24 hours of sending it.
    const canEdit = mine && this.member && age < EDIT_WINDOW_MS;
    clear(box,
      this.member ? h("button", { class: "link act-reply", onclick: () => this.startReply(ev) }, t("chat.reply")) : null,
      this.member ? h("button", {
        class: "link act-react", title: t("chat.reactTitle"), "aria-label": t("chat.reactTitle"),
        onclick: () => this.openReactPicker(ev),
      }, t("chat.react")) : null,
      canEdit ? h("button", {
        class: "link act-edit", "data-until": ev.time + EDIT_WINDOW_MS, onclick: () => this.startEdit(ev),
      }, t("chat.edit")) : null,
      canRecall ? h("button", {
        class: "link act-recall", "data-until": mine && !admin && !relayedByMe ? ev.time + RECALL_WINDOW_MS : undefined,
        onclick: async (e) => {
          const b = e.currentTarget;
          if (!(await confirmDialog(t("chat.recallConfirm"), t("chat.recall")))) return;
          this.act(KIND.recall, body.target(ev.seq), this.status, b);
        },
      }, t("chat.recall")) : null,
      admin && !pinned ? h("button", { class: "link act-pin", onclick: (e) => this.act(KIND.pin, body.target(ev.seq), this.status, e.target) }, t("chat.pin")) : null,
      admin && pinned ? h("button", { class: "link act-unpin", onclick: (e) => this.act(KIND.unpin, body.target(ev.seq), this.status, e.target) }, t("chat.unpin")) : null,
    );
  }

  refreshActions() {
    if (!this.list || this.closed) return;
    for (const el of this.list.querySelectorAll(".msg")) {
      const ev = this.events.get(Number(el.dataset.seq));
      if (ev) this.fillActions(el, ev);
    }
  }

  // expireRecalls removes the recall buttons whose window has passed.
  expireRecalls() {
    if (!this.list) return;
    const now = Date.now() + (this.app.skew || 0);
    for (const b of this.list.querySelectorAll(".act-recall[data-until], .act-edit[data-until]")) {
      if (b.dataset.until && Number(b.dataset.until) <= now) b.remove();
    }
  }

  applyRecalls() {
    for (const seq of this.recalled) {
      const el = this.list.querySelector(`.msg[data-seq="${seq}"]`);
      if (el && !el.querySelector(".recalled")) {
        clear(el.querySelector(".text"), h("em", { class: "recalled" }, t("chat.recalled")));
        const att = el.querySelector(".attachments");
        if (att) att.remove();
        clear(el.querySelector(".actions"));
        this.fillReactions(el, seq);
        this.fillEdited(el, seq);
      }
      if (this.editing === seq) this.cancelEdit();
      if (this.sheetFor === seq) closeSheet();
    }
    if ((this.state.pins || []).some((s) => this.recalled.has(s))) this.renderTop();
  }

  // ---- composing

  buildComposer() {
    this.input = h("textarea", { id: "composer", rows: 1, placeholder: t("chat.placeholder"), maxlength: MAX_TEXT_RUNES * 2, enterkeyhint: "send" });
    this.replyBar = h("div", { id: "reply-bar", class: "reply-bar", hidden: true });
    this.popup = h("ul", { id: "mention-list", class: "mention-list", role: "listbox", hidden: true });
    this.input.addEventListener("input", () => this.onInput());
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    const send = h("button", { id: "btn-send", class: "primary", type: "submit" }, t("chat.send"));
    // Images and files: picked, pasted or dropped; each uploads at once.
    this.pending = [];
    this.tray = h("ul", { id: "attach-tray", class: "attach-tray", hidden: true });
    this.fileInput = h("input", {
      type: "file", id: "attach-input", multiple: true, class: "visually-hidden", tabindex: "-1", "aria-hidden": "true",
      onchange: (e) => { this.addFiles([...e.target.files]); e.target.value = ""; },
    });
    const attach = h("button", {
      type: "button", id: "btn-attach", class: "attach", title: t("chat.attach"), "aria-label": t("chat.attach"),
      onclick: () => this.fileInput.click(),
    }, "+");
    this.attachButton = attach;
    this.input.addEventListener("paste", (e) => {
      const files = [...((e.clipboardData && e.clipboardData.files) || [])];
      if (!files.length) return;
      e.preventDefault();
      this.addFiles(files);
    });
    this.sendButton = send;
    // Disabled as a whole when the user is no longer a member.
    this.composerSet = h("fieldset", { class: "composer-set" }, h("div", { class: "row" }, attach, this.input, send));
    this.draft = "";
    const form = h("form", {
      class: "composer", onsubmit: (e) => { e.preventDefault(); this.send(send); },
    }, this.replyBar, this.popup, this.tray, this.fileInput, this.composerSet);
    return form;
  }

  // dropTarget lets files dropped on the chat go into the composer.
  dropTarget(el) {
    const has = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
    el.addEventListener("dragover", (e) => { if (!has(e)) return; e.preventDefault(); el.classList.add("dragging"); });
    el.addEventListener("dragleave", (e) => { if (e.target === el) el.classList.remove("dragging"); });
    el.addEventListener("drop", (e) => {
      el.classList.remove("dragging");
      const files = [...((e.dataTransfer && e.dataTransfer.files) || [])];
      if (!files.length) return;
      e.preventDefault();
      this.addFiles(files);
    });
  }

  // addFiles starts the upload of each file, up to MAX_ATTACHMENTS in the
  // message; a refusal shows on the status line, naming the file.
  addFiles(files) {
    this.status.clear();
    for (const file of files) {
      if (this.pending.length >= MAX_ATTACHMENTS) {
        this.status.show(t("chat.attachMax", { max: MAX_ATTACHMENTS }));
        break;
      }
      const name = cleanFileName(file.name || (file.type && file.type.startsWith("image/") ? "image." + file.type.slice(6).replace(/\W.*$/, "") : "file"));
      const image = isImageMIME(file.type);
      const limit = image ? MAX_IMAGE_BYTES : MAX_FILE_BYTES;
      if (file.size > limit) {
        this.status.show(t("chat.uploadRefused", { name, why: t(image ? "chat.imageTooLarge" : "chat.fileTooLarge", { max: limit / 1048576 }) }));
        continue;
      }
      if (file.size === 0) {
        this.status.show(t("chat.uploadRefused", { name, why: t("chat.fileEmpty") }));
        continue;
      }
      this.startUpload(file, name, image);
    }
    this.renderTray();
  }

  startUpload(file, name, image) {
    const p = { file, name, image, progress: 0, att: null };
    p.preview = image ? URL.createObjectURL(file) : "";
    const up = this.app.api.upload(file, name, (f) => { p.progress = f; this.showProgress(p); });
    p.abort = up.abort;
    p.promise = up.promise.then((att) => {
      p.att = att;
      p.abort = null;
      if (p.li) p.li.classList.add("done");
      this.showProgress(p);
      return att;
    }, (e) => {
      this.dropPending(p);
      if (e.code === "canceled" || this.closed) return null;
      // The node's reason, in one line; its sentence is English, so the
      // Chinese page says what it means first.
      const why = e.code === "invalid" && e.fromNode && lang !== "en" ? `${t("chat.uploadInvalid")}（${e.message}）` : errorText(e);
      this.status.show(t("chat.uploadRefused", { name, why }));
      return null;
    });
    this.pending.push(p);
  }

  dropPending(p) {
    this.pending = this.pending.filter((x) => x !== p);
    if (p.preview) URL.revokeObjectURL(p.preview);
    this.renderTray();
  }

  showProgress(p) {
    if (!p.li) return;
    const pct = p.att ? 100 : Math.min(99, Math.floor(p.progress * 100));
    p.bar.value = pct;
    p.pct.textContent = p.att ? t("chat.uploaded") : pct + "%";
  }

  renderTray() {
    clear(this.tray, this.pending.map((p) => {
      if (!p.li) {
        p.bar = h("progress", { max: 100, value: 0 });
        p.pct = h("span", { class: "pct" }, "0%");
        p.li = h("li", { class: "pending" + (p.image ? " image" : " file") },
          p.image ? h("img", { src: p.preview, alt: "" }) : h("span", { class: "file-icon", "aria-hidden": "true" }, "📄"),
          h("div", { class: "grow" }, h("span", { class: "pending-name" }, p.name), h("span", { class: "meta" }, " " + fmtSize(p.file.size)),
            h("div", { class: "progress" }, p.bar, p.pct)),
          h("button", {
            type: "button", class: "cancel-upload", title: t("chat.cancelUpload"), "aria-label": t("chat.cancelUpload"),
            onclick: () => { if (p.abort) p.abort(); this.dropPending(p); },
          }, "✕"));
        if (p.att) p.li.classList.add("done");
        this.showProgress(p);
      }
      return p.li;
    }));
    this.tray.hidden = !this.pending.length;
  }

  clearPending() {
    for (const p of this.pending) if (p.preview) URL.revokeObjectURL(p.preview);
    this.pending = [];
    this.renderTray();
  }

  // summary is a line for a message in a quote or a pin: its text, else
  // what it carries.
  summary(ev) {
    if (this.edits.has(ev.seq)) return this.edits.get(ev.seq).text;
    if (ev.text) return ev.text;
    const m = this.decoded.get(ev.seq) || this.message(ev);
    return (m && m.text) || attachmentsLabel(m && m.attachments) || (m && m.product ? m.product.title : "");
  }

  // attachmentsEl shows a message's images (the inline thumbnail at once,
  // sized by the stated width and height, then the full image over it)
  // and files (name, size, a download link).
  attachmentsEl(list) {
    if (!list.length) return null;
    const images = list.filter((a) => isImageMIME(a.mime));
    const files = list.filter((a) => !isImageMIME(a.mime));
    return h("div", { class: "attachments" },
      images.length ? h("div", { class: "images" + (images.length > 1 ? " grid" : "") }, images.map((a) => this.imageEl(a, images.length > 1))) : null,
      files.map((a) => this.fileEl(a)));
  }

  imageEl(a, small) {
    const url = this.app.api.blobURL(this.gid, a.hash);
    const [w, h0] = fitBox(a.width || 240, a.height || 180, small ? 150 : 240, small ? 150 : 320);
    const thumb = a.thumb ? h("img", { class: "thumb", src: "data:" + thumbType(a.thumb) + ";base64," + a.thumb, alt: "", width: w, height: h0 }) : null;
    const full = h("img", { class: "full", alt: a.name || t("chat.image"), width: w, height: h0, decoding: "async" });
    const box = h("button", {
      type: "button", class: "att-image", "data-hash": a.hash, title: a.name || "", "aria-label": t("chat.openImage"),
      onclick: () => openViewer(url, a, full.complete && full.naturalWidth ? full.src : ""),
    }, thumb, full);
    box.style.setProperty("--w", w + "px");
    box.style.setProperty("--ar", `${a.width || 4} / ${a.height || 3}`);
    full.addEventListener("load", () => box.classList.add("loaded"));
    full.addEventListener("error", () => box.classList.add("failed"));
    full.src = url;
    return box;
  }

  fileEl(a) {
    const name = a.name || a.hash.slice(0, 12);
    const url = this.app.api.blobURL(this.gid, a.hash, name);
    return h("div", { class: "att-file", "data-hash": a.hash },
      h("span", { class: "file-icon", "aria-hidden": "true" }, "📄"),
      h("div", { class: "grow" }, h("span", { class: "file-name" }, name), h("span", { class: "meta file-size" }, fmtSize(a.size))),
      h("a", { class: "button download", href: url, download: name, rel: "noopener" }, t("chat.download")));
  }

  // productCard: the picture, the title, the price, and the product's
  // link. The page loads nothing from other origins, so the picture is the
  // message's first image (a shop attaches it), else an image URL of this
  // node, else a placeholder.
  productCard(p, pic) {
    const price = p.price ? (p.currency === "CNY" ? "¥" + p.price : `${p.price} ${p.currency}`) : "";
    let img;
    if (pic) {
      img = h("img", { alt: "", class: "product-image", decoding: "async" });
      if (pic.thumb) img.src = "data:" + thumbType(pic.thumb) + ";base64," + pic.thumb;
      const full = new Image();
      full.addEventListener("load", () => { img.src = full.src; img.classList.add("loaded"); });
      full.src = this.app.api.blobURL(this.gid, pic.hash);
    } else if (p.image && sameOrigin(p.image)) {
      img = h("img", { src: p.image, alt: "", class: "product-image" });
    } else {
      img = h("span", { class: "product-image none", "aria-hidden": "true" }, "🛍");
    }
    const inner = [img, h("span", { class: "product-info" }, h("span", { class: "product-title" }, p.title), price ? h("span", { class: "product-price" }, price) : null)];
    return safeURL(p.url) ? h("a", { class: "product", href: p.url, rel: "noopener noreferrer", target: "_blank" }, inner) : h("div", { class: "product" }, inner);
  }

  startReply(ev, keepFocus) {
    this.cancelEdit();
    this.replyTo = ev.seq;
    clear(this.replyBar,
      h("span", { class: "grow" }, this.line("chat.replyingTo", { who: this.nameOf(this.authorOf(ev), "me", false) }), " ", snippet(this.summary(ev))),
      h("button", { type: "button", class: "link", id: "btn-cancel-reply", onclick: () => this.cancelReply() }, t("common.cancel")));
    this.replyBar.hidden = false;
    if (!keepFocus) this.input.focus();
  }

  cancelReply() {
    this.replyTo = 0;
    this.replyBar.hidden = true;
  }

  // startEdit puts the text of the user's own message in the composer;
  // sending saves it as an edit, Esc (or cancel) gives back the draft that
  // was there.
  startEdit(ev) {
    this.cancelReply();
    if (!this.editing) this.draft = this.input.value;
    this.editing = ev.seq;
    this.input.value = this.textOf(ev);
    clear(this.replyBar,
      h("span", { class: "grow", id: "editing-note" }, t("chat.editing"), " ", snippet(this.textOf(ev))),
      h("button", { type: "button", class: "link", id: "btn-cancel-edit", onclick: () => this.cancelEdit() }, t("common.cancel")));
    this.replyBar.hidden = false;
    this.sendButton.textContent = t("chat.save");
    this.attachButton.disabled = true;
    this.composer.classList.add("editing");
    this.popup.hidden = true;
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  cancelEdit() {
    if (!this.editing) return;
    this.editing = 0;
    this.input.value = this.draft || "";
    this.draft = "";
    this.replyBar.hidden = true;
    this.sendButton.textContent = t("chat.send");
    this.attachButton.disabled = false;
    this.composer.classList.remove("editing");
  }

  async saveEdit(button) {
    const seq = this.editing;
    const ev = this.events.get(seq);
    const text = this.input.value.trim();
    if (!text) return this.status.show(t("chat.editEmpty"));
    if ([...text].length > MAX_TEXT_RUNES) return this.status.show(t("chat.tooLong", { max: MAX_TEXT_RUNES }));
    if (ev && text === this.textOf(ev)) return this.cancelEdit();
    // Past the window the node refuses: one line that says so.
    const ok = await this.act(KIND.edit, body.edit({ target: seq, text }), this.status, button,
      (e) => (e.code === "recall_window" ? t("chat.editTooLate") : null));
    if (ok && this.editing === seq) this.cancelEdit();
  }

  // mentionQuery returns the "@word" being typed at the caret, or null.
  mentionQuery() {
    const v = this.input.value.slice(0, this.input.selectionStart);
    const m = /(^|\s)@([^\s@]*)$/.exec(v);
    return m ? { start: v.length - m[2].length - 1, q: m[2].toLowerCase() } : null;
  }

  onInput() {
    const mq = this.mentionQuery();
    if (!mq) { this.popup.hidden = true; return; }
    const options = [];
    if (this.rank >= 2 && "all".startsWith(mq.q.replace(/^…/, ""))) options.push({ token: "@all", label: "@" + t("chat.all"), id: "" });
    // Found by a part of the name, the nick or the ID; each shows the
    // end of the ID, since names are anyone's to choose.
    const q = mq.q.replace(/^…/, "");
    for (const m of this.state.member_list) {
      if (m.user === this.me || !this.names.matches(m.user, q)) continue;
      const label = this.names.plain(m.user);
      options.push({ token: "@" + label, label, id: m.user, role: m.role });
      if (options.length >= 8) break;
    }
    if (!options.length) { this.popup.hidden = true; return; }
    this.popupStart = mq.start;
    this.popupSel = 0;
    clear(this.popup, options.map((o, i) => h("li", {
      role: "option", class: "mention-option" + (i === 0 ? " sel" : ""), "data-token": o.token, "data-id": o.id,
      onmousedown: (e) => { e.preventDefault(); this.pickMention(o); },
    }, o.id ? avatarEl(this.names, o.id, "small") : null, h("span", { class: "grow" }, o.label),
    o.id && o.label !== short(o.id) ? h("span", { class: "meta" }, short(o.id)) : null,
    o.role && o.role !== "member" ? h("span", { class: "badge role-" + o.role }, t("role." + o.role)) : null)));
    this.popupOptions = options;
    this.popup.hidden = false;
  }

  pickMention(o) {
    const v = this.input.value, caret = this.input.selectionStart;
    this.input.value = v.slice(0, this.popupStart) + o.token + " " + v.slice(caret);
    const pos = this.popupStart + o.token.length + 1;
    this.input.setSelectionRange(pos, pos);
    if (o.id) this.mentionPick.set(o.token, o.id);
    this.popup.hidden = true;
    this.input.focus();
  }

  onKey(e) {
    if (!this.popup.hidden) {
      const n = this.popupOptions.length;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        this.popupSel = (this.popupSel + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
        [...this.popup.children].forEach((li, i) => li.classList.toggle("sel", i === this.popupSel));
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); this.pickMention(this.popupOptions[this.popupSel]); return; }
      if (e.key === "Escape") { this.popup.hidden = true; return; }
    }
    if (e.key === "Escape" && (this.editing || this.replyTo)) {
      e.preventDefault();
      if (this.editing) this.cancelEdit(); else this.cancelReply();
      return;
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.input.form.requestSubmit();
    }
  }

  async send(button) {
    if (this.editing) return this.saveEdit(button);
    const text = this.input.value.trim();
    // Uploads still running finish first.
    if (this.pending.some((p) => !p.att)) {
      button.disabled = true;
      try { await Promise.all(this.pending.map((p) => p.promise)); } finally { button.disabled = false; }
    }
    const attachments = this.pending.filter((p) => p.att).map((p) => p.att);
    if (!text && !attachments.length) return;
    if ([...text].length > MAX_TEXT_RUNES) return this.status.show(t("chat.tooLong", { max: MAX_TEXT_RUNES }));
    const mentions = [];
    for (const [token, id] of this.mentionPick) {
      if (text.includes(token) && !mentions.some((k) => k.id === id)) mentions.push({ id, key: parsePeerID(id) });
    }
    const mentionAll = this.rank >= 2 && /(^|\s)@all(\s|$)/.test(text);
    const b = body.message({ text, mentions: mentions.slice(0, MAX_MENTIONS).map((m) => m.key), mentionAll, replyTo: this.replyTo, attachments });
    const ok = await this.act(KIND.message, b, this.status, button);
    if (ok) {
      this.input.value = "";
      this.clearPending();
      this.mentionPick.clear();
      this.cancelReply();
    }
  }

  // act signs and submits one submission for this group; a refusal is
  // shown on the status line. It returns the answer, or null.
  // why, when given, may say a refusal in the page's own words.
  async act(kind, bodyBytes, status, button, why) {
    status.clear();
    return busy(button, async () => {
      try {
        const resp = await this.app.api.submit(kind, this.gidBytes, bodyBytes);
        this.app.skew = resp.time - Date.now();
        return resp;
      } catch (e) {
        const s = why && e && e.code ? why(e) : null;
        if (s) { status.show(s, "error"); status.code = e.code; } else status.error(e);
        return null;
      }
    });
  }
}

// ---- links, images

// A link ends at white space, a quote or the first non-ASCII character
// (a Chinese sentence often goes on right after it).
const URL_RE = /https?:\/\/[!#-&(-;=?-_a-~]+/gi;

// safeURL: an absolute http or https URL (never javascript: or data:).
function safeURL(s) {
  try { const u = new URL(s); return u.protocol === "http:" || u.protocol === "https:"; } catch { return false; }
}

function sameOrigin(s) {
  try { return new URL(s, location.href).origin === location.origin; } catch { return false; }
}

function extLink(href, text) {
  return h("a", { href, rel: "noopener noreferrer", target: "_blank", class: "ext" }, text);
}

// linkify splits text into strings and links.
function linkify(s) {
  const out = [];
  let last = 0;
  for (const m of s.matchAll(URL_RE)) {
    let url = m[0].replace(/[.,;:!?)\]}。，；：！？）」』]+$/u, "");
    if (!safeURL(url)) continue;
    out.push(s.slice(last, m.index), extLink(url, url));
    last = m.index + url.length;
  }
  out.push(s.slice(last));
  return out.filter((x) => x !== "");
}

// fitBox scales w×h down to fit maxW×maxH.
function fitBox(w, h, maxW, maxH) {
  const k = Math.min(1, maxW / w, maxH / h);
  return [Math.max(1, Math.round(w * k)), Math.max(1, Math.round(h * k))];
}

function thumbType(b64) {
  if (b64.startsWith("iVBOR")) return "image/png";
  if (b64.startsWith("UklGR")) return "image/webp";
  return "image/jpeg";
}

// openViewer shows an image full size over the page: a close button, Esc
// or a tap outside closes it.
function openViewer(url, a, loaded) {
  closeViewer();
  const close = h("button", { type: "button", id: "btn-viewer-close", class: "viewer-close", "aria-label": t("common.close"), onclick: closeViewer }, "✕");
  const img = h("img", { id: "viewer-image", src: loaded || url, alt: a.name || t("chat.image") });
  const back = h("div", {
    class: "viewer", id: "image-viewer", role: "dialog", "aria-modal": "true", "aria-label": a.name || t("chat.image"),
    onclick: (e) => { if (e.target === back) closeViewer(); },
  }, img, close);
  viewerKey = (e) => { if (e.key === "Escape") closeViewer(); };
  document.addEventListener("keydown", viewerKey);
  document.body.append(back);
  close.focus();
}

// openSheet shows a sheet over the page (one at a time): Esc or a tap
// outside closes it.
function openSheet(id, sheet, focus) {
  closeSheet();
  const back = h("div", {
    class: "backdrop", id,
    onclick: (e) => { if (e.target === back) closeSheet(); },
    onkeydown: (e) => { if (e.key === "Escape") closeSheet(); },
  }, sheet);
  document.body.append(back);
  if (focus) focus.focus();
}

function closeSheet() {
  for (const id of ["react-picker", "reacted-by"]) {
    const el = document.getElementById(id);
    if (el) el.remove();
  }
}

let viewerKey = null;
function closeViewer() {
  const el = document.getElementById("image-viewer");
  if (el) el.remove();
  if (viewerKey) document.removeEventListener("keydown", viewerKey);
  viewerKey = null;
}

function snippet(s) {
  s = (s || "").replace(/\s+/g, " ");
  return s.length > 60 ? s.slice(0, 60) + "…" : s;
}

// productPicture is the image that pictures a message's product card: its
// first image attachment, shown in the card rather than under the text.
function productPicture(m) {
  return m && m.product ? (m.attachments || []).find((a) => isImageMIME(a.mime)) || null : null;
}
