// The inbox: every group of the user, kept live over the one WebSocket
// (api.js Live): the last message of each, its time, and the messages of
// others not read yet. It feeds the list of groups, the unread count in the
// page's title and the browser's notifications.
//
// Unread messages are the messages of others after the user's cursor on the
// node (GET /api/v1/me/groups: unread_from, moved by the chat's acks), and
// those that arrive while the group is not open or the tab is hidden.

import { t } from "./i18n.js";
import { short, attachmentsLabel } from "./ui.js";
import { bridgedLabel } from "./names.js";

const PREVIEW = 20; // events read back for a group's last message
const MAX_COUNT = 100; // events read back at most to count the unread
const STATE_KINDS = new Set(["update", "announce", "role", "join", "approve", "leave", "kick", "ban"]);

export class Inbox {
  constructor(app) {
    this.app = app;
    this.me = app.signer.id;
    this.groups = new Map(); // gid -> {gid, summary, seen, last, unread: Set of seqs, more, listener}
    this.loaded = false;
    this.error = null;
    this.openGid = null;
    this.watchers = new Set();
    this.queue = [];
    this.asked = 0; // refreshes started
    this.applied = 0; // the latest refresh taken
    this.order = 0; // counts the last messages taken, to order groups whose last messages have the same time
    this.running = 0;
    this.closed = false;
  }

  // watch calls f on every change; it returns the function that stops it.
  watch(f) {
    this.watchers.add(f);
    return () => this.watchers.delete(f);
  }

  changed() {
    if (this.closed) return;
    for (const f of [...this.watchers]) f();
  }

  close() {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    for (const g of this.groups.values()) if (g.listener) this.app.live.unsubscribe(g.gid, g.listener);
    this.watchers.clear();
  }

  // refresh reads the user's groups: new ones are subscribed, groups the
  // user left are dropped. Live runs it before every new WebSocket, so it
  // also proves (or renews) the session after the node restarted.
  async refresh() {
    const n = ++this.asked;
    let list;
    try {
      list = await this.app.api.myGroups();
    } catch (e) {
      if (n > this.applied) { this.error = e; this.changed(); }
      throw e;
    }
    // An answer older than one already taken is out of date.
    if (this.closed || n < this.applied) return;
    this.applied = n;
    this.error = null;
    const listed = new Set();
    for (const s of list) {
      listed.add(s.group);
      let g = this.groups.get(s.group);
      if (!g) {
        g = { gid: s.group, summary: s, base: s.head, seen: s.head, last: null, unread: new Set(), more: false, listener: null };
        this.groups.set(s.group, g);
      } else {
        g.summary = s;
      }
      if (!s.pending && !g.listener) this.follow(g);
    }
    for (const g of [...this.groups.values()]) if (!listed.has(g.gid)) this.forget(g.gid);
    this.loaded = true;
    this.changed();
  }

  // refreshSoon refreshes within a second (once for many changes).
  refreshSoon(delay = 1000) {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.refresh().catch(() => { /* the next reconnect tries again */ });
    }, delay);
  }

  // follow subscribes to the group's new events and reads back its last
  // message and the unread ones.
  follow(g) {
    g.base = g.seen = g.summary.head;
    g.listener = this.app.live.subscribe(g.gid, g.seen + 1, {
      onEvent: (ev) => this.onEvent(g.gid, ev),
      onEnded: () => { this.forget(g.gid); this.changed(); },
    });
    this.queue.push(g);
    this.pump();
  }

  forget(gid) {
    const g = this.groups.get(gid);
    if (!g) return;
    if (g.listener) this.app.live.unsubscribe(gid, g.listener);
    this.groups.delete(gid);
  }

  // pump reads back a few groups at a time.
  pump() {
    while (this.running < 3 && this.queue.length) {
      const g = this.queue.shift();
      this.running++;
      this.readBack(g).catch(() => { /* the list shows the group without its last message */ })
        .finally(() => { this.running--; this.pump(); });
    }
  }

  async readBack(g) {
    const s = g.summary;
    const head = g.base; // the live subscription starts after it
    if (!(head > 0)) return;
    const from = s.unread_from && s.unread_from <= head ? s.unread_from : head + 1;
    const span = head - from + 1;
    const limit = Math.min(MAX_COUNT, Math.max(PREVIEW, span));
    const page = await this.app.api.eventsBefore(g.gid, head + 1, limit);
    if (this.closed || this.groups.get(g.gid) !== g) return;
    const focused = this.focused(g.gid);
    for (const ev of page.events || []) {
      if (ev.seq > head) continue; // the live subscription has it
      this.note(g, ev, !focused && ev.seq >= from);
    }
    g.more = span > limit && !focused && g.unread.size > 0;
    this.changed();
  }

  // note takes one event into the group's last message and unread ones.
  note(g, ev, unread) {
    if (ev.kind === "message") {
      if (!g.last || ev.seq > g.last.seq) {
        g.last = { seq: ev.seq, time: ev.time, author: ev.author, bridged: ev.bridged || null, text: ev.text || attachmentsLabel(ev.attachments), recalled: false, order: ++this.order };
      }
      if (unread && ev.author !== this.me) g.unread.add(ev.seq);
    } else if (ev.kind === "edit") {
      // The last message shows its latest text.
      if (g.last && g.last.seq === ev.target && ev.text) g.last.text = ev.text;
    } else if (ev.kind === "recall") {
      g.unread.delete(ev.target);
      if (g.last && g.last.seq === ev.target) g.last.recalled = true;
    }
  }

  focused(gid) { return gid === this.openGid && document.visibilityState === "visible"; }

  onEvent(gid, ev) {
    const g = this.groups.get(gid);
    if (!g || ev.seq <= g.seen) return;
    g.seen = ev.seq;
    const unread = !this.focused(gid);
    this.note(g, ev, unread);
    if (unread && ev.kind === "message" && ev.author !== this.me) this.notify(g, ev);
    if (ev.kind === "update" && ev.name) g.summary = { ...g.summary, name: ev.name };
    if (STATE_KINDS.has(ev.kind)) this.refreshSoon();
    this.changed();
  }

  // setOpen says which group the page shows (null: none).
  setOpen(gid) {
    this.openGid = gid;
    if (gid && !this.groups.has(gid)) this.refreshSoon(0); // just joined or created
    if (gid) this.markRead(gid);
    else this.changed();
  }

  markRead(gid) {
    const g = this.groups.get(gid);
    if (!g || (!g.unread.size && !g.more)) return;
    g.unread.clear();
    g.more = false;
    this.changed();
  }

  unreadOf(gid) {
    const g = this.groups.get(gid);
    return g ? g.unread.size : 0;
  }

  total() {
    let n = 0;
    for (const g of this.groups.values()) n += g.unread.size;
    return n;
  }

  // list is the groups, the latest activity first, requests to join last.
  list() {
    const key = (g) => (g.last ? g.last.time : 0);
    const order = (g) => (g.last ? g.last.order : 0);
    return [...this.groups.values()].sort((a, b) =>
      (a.summary.pending ? 1 : 0) - (b.summary.pending ? 1 : 0) || key(b) - key(a) || order(b) - order(a) ||
      (a.summary.name || "").localeCompare(b.summary.name || ""));
  }

  // preview is the line of a group's last message: "who: text".
  preview(g) {
    if (!g.last) return "";
    const who = g.last.bridged ? bridgedLabel(g.last.bridged) : g.last.author === this.me ? t("chat.me") : short(g.last.author);
    return who + ": " + (g.last.recalled ? t("chat.recalled") : oneLine(g.last.text));
  }

  // notify shows a browser notification, when the user turned them on
  // and the browser allows them.
  notify(g, ev) {
    if (!notificationsOn()) return;
    try {
      const n = new Notification(g.summary.name || t("join.unknownName"), {
        body: (ev.bridged ? bridgedLabel(ev.bridged) : short(ev.author)) + ": " + oneLine(ev.text || attachmentsLabel(ev.attachments)),
        tag: "qun-" + g.gid, icon: "/icon.svg",
      });
      n.onclick = () => { window.focus(); this.app.go("#/g/" + g.gid); n.close(); };
    } catch { /* e.g. Chrome on Android: notifications need a service worker */ }
  }
}

function oneLine(s) {
  s = (s || "").replace(/\s+/g, " ").trim();
  return s.length > 80 ? s.slice(0, 80) + "…" : s;
}

// Notifications: the user turns them on in the key screen (a click, so the
// browser may ask for the permission); "qun.notify" keeps the choice.
export function notificationSupport() {
  if (!("Notification" in window)) return "unsupported";
  return window.Notification.permission; // "granted", "denied" or "default"
}

export function notificationsOn() {
  return notificationSupport() === "granted" && localStorage.getItem("qun.notify") === "1";
}

export async function enableNotifications() {
  if (!("Notification" in window)) return "unsupported";
  let p = window.Notification.permission;
  if (p === "default") p = await window.Notification.requestPermission();
  if (p === "granted") localStorage.setItem("qun.notify", "1");
  return p;
}

export function disableNotifications() {
  localStorage.setItem("qun.notify", "0");
}
