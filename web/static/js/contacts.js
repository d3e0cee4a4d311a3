// Private conversations (私聊, docs/API.md "Private conversations"): what a
// buyer and a shop's staff say to each other (an address, a phone number)
// never goes into the group. A conversation is a small group of its own,
// invite only and private, which a staff member creates on their home node.
//
//   - A member asks the group's owner and admins (or one of them): a
//     request, a signed contact without an invite, with a note.
//   - A staff member opens the conversation: creates the group, registers
//     an invite into it (one use per person, 7 days), and sends an offer
//     (the contact with the invite) to the member and to the other staff
//     the request went to, whose nodes then drop their copies of the
//     request. Staff may offer one without a request.
//   - The member joins with the offer's invite, as with any other.
//
// The home node keeps the requests and offers for the user (GET
// /api/v1/me/contacts) and pushes each new one on the WebSocket; the page
// shows them in the list of groups and in the open chat, until they are
// accepted or dismissed (DELETE).

import { t } from "./i18n.js";
import { h, clear, short, statusLine, busy } from "./ui.js";
import { KIND, CONTACT_LIFE_MS, MAX_CONTACT_TARGETS, MAX_NOTE_RUNES, body, parsePeerID, signContact } from "./proto.js";
import { fromHex } from "./codec.js";
import { signGroupInvite, saveToken } from "./manage.js";
import { notificationsOn } from "./inbox.js";

// The cap of a conversation: its creator and the most people one offer
// goes to.
const CONVERSATION_CAP = MAX_CONTACT_TARGETS + 1;
// A group's name has at most 64 characters (MaxNameRunes).
const GROUP_NAME_RUNES = 64;
// An offer's invite expires an hour before the 7 days: every node checks
// the 7 days with its own clock.
const OFFER_LIFE_MS = CONTACT_LIFE_MS - 3600_000;

// Contacts is the requests and offers kept for the user, kept live: read
// again before every new WebSocket (with the list of groups), and each
// one the node pushes added at once.
export class Contacts {
  constructor(app) {
    this.app = app;
    this.items = []; // ContactView, newest first
    this.loaded = false;
    this.watchers = new Set();
    this.gone = new Set(); // dismissed here: a list read before does not bring them back
    this.pushes = 0; // counts the pushes, so a list read while one came keeps it
    this.pushedAt = new Map(); // id -> the count when it came
    this.asked = 0;
    this.applied = 0;
    this.running = new Set(); // ids whose action is under way
    this.started = new Map(); // what an offer already made (the conversation, its invite), to send again after a failure
    this.closed = false;
    this.stop = app.live ? app.live.watchContacts((c) => this.onPush(c)) : () => {};
  }

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
    this.stop();
    this.watchers.clear();
  }

  // list is what is open now, newest first.
  list() {
    const now = Date.now() + (this.app.skew || 0);
    return this.items.filter((c) => !this.gone.has(c.id) && !(c.expires && c.expires <= now));
  }

  count() { return this.list().length; }

  async refresh() {
    const n = ++this.asked;
    const mark = this.pushes;
    const resp = await this.app.api.myContacts();
    if (this.closed || n < this.applied) return;
    this.applied = n;
    const listed = resp.contacts || [];
    const ids = new Set(listed.map((c) => c.id));
    // What was pushed while the list was read stays.
    const kept = this.items.filter((c) => !ids.has(c.id) && (this.pushedAt.get(c.id) || 0) > mark);
    this.items = [...kept, ...listed];
    this.loaded = true;
    this.changed();
  }

  onPush(c) {
    if (this.closed || !c || !c.id || this.gone.has(c.id)) return;
    this.pushedAt.set(c.id, ++this.pushes);
    // A sender's new contact replaces their older ones in the same group,
    // and an offer to the sender of a request in the same group answers
    // it (the node drops both).
    const answers = (x) => c.kind === "offer" && x.kind === "request" && x.group === c.group && (c.to || []).includes(x.from);
    const replaced = (x) => x.from === c.from && x.group === c.group;
    this.items = [c, ...this.items.filter((x) => x.id !== c.id && !replaced(x) && !answers(x))];
    this.changed();
    this.notify(c);
  }

  // dismiss drops a contact here and on the node; one the node no longer
  // has is gone all the same.
  async dismiss(id) {
    this.gone.add(id);
    this.changed();
    try {
      await this.app.api.dismissContact(id);
    } catch (e) {
      if (e.code === "not_found") return;
      this.gone.delete(id);
      this.changed();
      throw e;
    }
    this.items = this.items.filter((c) => c.id !== id);
  }

  // notify raises a browser notification while the page is not looked at.
  notify(c) {
    if (!notificationsOn() || document.visibilityState === "visible") return;
    try {
      const n = new Notification(c.group_name || t("join.unknownName"), { body: titleOf(this.app, c), tag: "qun-contact-" + c.id, icon: "/icon.svg" });
      n.onclick = () => { window.focus(); this.app.go("#/"); n.close(); };
    } catch { /* e.g. Chrome on Android: notifications need a service worker */ }
  }
}

const whoOf = (c) => c.from_name || short(c.from);
const staffRole = (r) => r === "owner" || r === "admin";

// titleOf is a contact's first line. An offer is the shop's to a buyer;
// to one of the shop's staff (invited with the buyer into a conversation
// a colleague opened) it names the colleague.
function titleOf(app, c) {
  if (c.kind !== "offer") return t("contact.requestTitle", { who: whoOf(c) });
  const mine = app.inbox && app.inbox.groups.get(c.group);
  return mine && staffRole(mine.summary.role) ? t("contact.offerTitleStaff", { who: whoOf(c) }) : t("contact.offerTitle");
}

// staffOf lists the group's owner and admins but the user, the owner
// first, at most MAX_CONTACT_TARGETS: whom "Message the shop" asks.
export function staffOf(state, me) {
  const rank = { owner: 0, admin: 1 };
  return (state.member_list || [])
    .filter((m) => m.user !== me && (m.role === "owner" || m.role === "admin"))
    .sort((a, b) => rank[a.role] - rank[b.role])
    .slice(0, MAX_CONTACT_TARGETS)
    .map((m) => m.user);
}

// ---- the conversations this browser opened or joined

const convKey = (app) => "qun.conversations." + app.signer.id;
function conversations(app) {
  try { return JSON.parse(localStorage.getItem(convKey(app))) || {}; } catch { return {}; }
}

// conversationOf says whether gid is a private conversation opened or
// joined here: {group, group_name} of the group it came from, or null.
export function conversationOf(app, gid) {
  return (app.signer && conversations(app)[gid]) || null;
}

function rememberConversation(app, gid, group, groupName) {
  const all = conversations(app);
  all[gid] = { group, group_name: groupName || "" };
  localStorage.setItem(convKey(app), JSON.stringify(all));
}

// ---- the steps

// requestConversation asks the people to (user IDs: the group's staff)
// for a private conversation, with a note.
export async function requestConversation(app, gid, to, note) {
  const { raw } = await signContact(app.signer, { group: fromHex(gid), to: to.map(parsePeerID), note });
  return app.api.sendContact(raw);
}

// conversationName is "<their name> · <group>", at most 64 characters.
export function conversationName(who, group) {
  const s = [...`${who} · ${group}`].slice(0, GROUP_NAME_RUNES).join("");
  return s.replace(/[\s·]+$/u, "").trim();
}

// offerConversation opens a conversation with the people to (user IDs)
// of group gid (called groupName), whose first is called toName: it
// creates the conversation on the home node (only its admins may), makes
// an invite into it and offers it to them, with note. It returns the
// conversation's group ID. key names the attempt: after a failure, the
// same key goes on from what was done (a conversation is created once).
export async function offerConversation(app, { group, groupName, to, toName, note, key }) {
  const started = app.contacts ? app.contacts.started : new Map();
  key = key || group + "/" + to.join(",");
  const node = app.node || (app.node = await app.api.node());
  const host = parsePeerID(node.peer_id);
  let st = started.get(key);
  if (!st) {
    const settings = { name: conversationName(toName, groupName), policy: "invite", public: false, cap: CONVERSATION_CAP };
    let resp;
    try {
      resp = await app.api.submit(KIND.create, null, body.create(settings, host));
    } catch (e) {
      e.step = "create";
      throw e;
    }
    if (resp.time) app.skew = resp.time - Date.now();
    st = { pid: resp.group, time: resp.time || Date.now() };
    started.set(key, st);
    rememberConversation(app, st.pid, group, groupName);
  }
  if (!st.inv) {
    const view = await groupView(app, st.pid);
    const inv = await signGroupInvite(app.signer, fromHex(st.pid), host, view.host_addrs, st.time + OFFER_LIFE_MS, to.length);
    await app.api.submit(KIND.invite_create, fromHex(st.pid), body.inviteCreate(inv.raw));
    saveToken(st.pid, inv.id, inv.token);
    st.inv = inv;
  }
  const { raw } = await signContact(app.signer, { group: fromHex(group), to: to.map(parsePeerID), invite: st.inv.raw, note });
  await app.api.sendContact(raw);
  started.delete(key);
  return st.pid;
}

// groupView reads a group the home node has just created.
async function groupView(app, gid) {
  for (let i = 0; ; i++) {
    try {
      return await app.api.group(gid);
    } catch (e) {
      if (e.code !== "unknown_group" || i >= 20) throw e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

// acceptRequest opens the conversation a request asks for, offers it to
// its sender and to the other staff it went to (their copies of it are
// answered), drops it and opens the conversation's chat.
async function acceptRequest(app, c) {
  const who = whoOf(c);
  const to = [c.from, ...(c.to || []).filter((u) => u !== c.from && u !== app.signer.id)].slice(0, MAX_CONTACT_TARGETS);
  // The note says what it answers, in no one's language in particular.
  const re = c.note ? "re: " + c.note : "";
  const pid = await offerConversation(app, {
    group: c.group, groupName: c.group_name, to, toName: who, note: [...re].length <= MAX_NOTE_RUNES ? re : c.note, key: c.id,
  });
  await app.contacts.dismiss(c.id).catch(() => { /* it lapses */ });
  app.flash = t("contact.offerSent", { who });
  app.go("#/g/" + pid);
}

// acceptOffer joins the conversation of an offer, drops the offer and
// opens the conversation's chat.
async function acceptOffer(app, c) {
  let gid;
  try {
    gid = (await app.api.joinInvite(c.token)).group;
  } catch (e) {
    if (e.code !== "conflict") throw e;
    gid = c.conversation; // a member already
  }
  rememberConversation(app, gid, c.group, c.group_name);
  app.profiles.push(gid).catch(() => { /* ensure tries again */ });
  await app.contacts.dismiss(c.id).catch(() => { /* it lapses */ });
  app.go("#/g/" + gid);
}

// contactError says why a step failed, in the page's words (never the
// node's sentence).
export function contactError(e) {
  if (!e || !e.code) return t("err.client");
  if (e.code === "unreachable") return t("err.unreachable");
  if (e.step === "create" && e.code === "forbidden") return t("contact.err.create");
  return t("contact.err." + e.code, {}, "") || t("err." + e.code, {}, t("err.internal"));
}

// ---- what the page shows

// contactItem is one request or offer with its two actions.
function contactItem(app, c) {
  const status = statusLine(null);
  const offer = c.kind === "offer";
  const act = (e, run, busyText) => {
    if (app.contacts.running.has(c.id)) return;
    const buttons = [...li.querySelectorAll("button")];
    app.contacts.running.add(c.id);
    for (const b of buttons) b.disabled = true;
    status.show(busyText || "", "ok");
    run().catch((err) => status.show(contactError(err), "error")).finally(() => {
      app.contacts.running.delete(c.id);
      for (const b of buttons) b.disabled = false;
      if (status.className.includes("ok")) status.clear();
    });
  };
  const li = h("li", { class: "contact", "data-contact": c.id, "data-kind": offer ? "offer" : "request", "data-from": c.from },
    h("div", { class: "contact-text" },
      h("strong", { class: "contact-title" }, titleOf(app, c)),
      h("span", { class: "meta contact-meta" }, offer ? t("contact.offerFrom", { who: whoOf(c), group: c.group_name }) : t("contact.fromGroup", { group: c.group_name })),
      c.note ? h("q", { class: "note contact-note" }, c.note) : null),
    h("div", { class: "row actions" },
      offer
        ? h("button", { class: "primary act-join", onclick: (e) => act(e, () => acceptOffer(app, c), t("contact.joining")) }, t("contact.join"))
        : h("button", { class: "primary act-open", onclick: (e) => act(e, () => acceptRequest(app, c), t("contact.opening")) }, t("contact.open")),
      h("button", { class: offer ? "act-decline" : "act-dismiss", onclick: (e) => act(e, () => app.contacts.dismiss(c.id)) },
        t(offer ? "contact.decline" : "contact.dismiss"))),
    status);
  return li;
}

// contactList keeps a list element showing the open contacts (at most
// max of them), live until stop. The elements of a contact stay the same
// from one change to the next, so a tap under way is not lost.
function contactList(app, list, max, after) {
  const items = new Map(); // id -> li
  const render = () => {
    const all = app.contacts.list();
    const shown = all.slice(0, max);
    const lis = shown.map((c) => {
      let li = items.get(c.id);
      if (!li) { li = contactItem(app, c); items.set(c.id, li); }
      return li;
    });
    for (const [id, li] of items) if (!lis.includes(li)) items.delete(id);
    if (lis.some((li, k) => list.children[k] !== li) || list.children.length !== lis.length) clear(list, lis);
    after(all.length, shown.length);
  };
  const stop = app.contacts.watch(render);
  render();
  return stop;
}

// contactsCard is the section of the list of groups with every open
// request and offer; hidden when there is none.
export function contactsCard(app) {
  const list = h("ul", { class: "list contacts", id: "contacts" });
  const el = h("section", { class: "card contacts-card", id: "contacts-card", hidden: true },
    h("h2", {}, t("contact.title")), list);
  const stop = contactList(app, list, Infinity, (n) => { el.hidden = !n; });
  return { el, stop };
}

// contactStrip is the newest open request or offer over a chat, with a
// link to the others; hidden when there is none.
export function contactStrip(app) {
  const list = h("ul", { class: "list contacts" });
  const more = h("a", { class: "button more-contacts", id: "contact-more", href: "/#/" });
  const el = h("div", { class: "contact-strip", id: "contact-strip", hidden: true }, list, more);
  const stop = contactList(app, list, 1, (n, shown) => {
    el.hidden = !n;
    more.hidden = n <= shown;
    more.textContent = t("contact.more", { n: n - shown });
  });
  return { el, stop };
}

// openContactSheet asks for the note of a request or an offer: title,
// hint, the label of its button, and send(note), which does it (a failure
// shows in the sheet; success closes it).
export function openContactSheet({ title, hint, sendLabel, send }) {
  closeContactSheet();
  const note = h("input", {
    id: "contact-note", type: "text", maxlength: MAX_NOTE_RUNES, autocomplete: "off", enterkeyhint: "send",
    placeholder: t("contact.notePlaceholder"),
  });
  const status = statusLine("contact-status");
  const ok = h("button", { type: "submit", id: "btn-contact-send", class: "primary" }, sendLabel);
  const cancel = h("button", { type: "button", id: "btn-contact-cancel", onclick: closeContactSheet }, t("common.cancel"));
  const form = h("form", {
    class: "form",
    onsubmit: (e) => {
      e.preventDefault();
      busy(ok, async () => {
        status.show(t("contact.sending"), "ok");
        try {
          await send(note.value.trim());
          closeContactSheet();
        } catch (err) {
          status.show(contactError(err), "error");
        }
      });
    },
  },
  h("label", {}, t("contact.note"), note),
  status,
  h("div", { class: "row" }, h("span", { class: "spacer" }), cancel, ok));
  const back = h("div", {
    class: "backdrop", id: "contact-sheet",
    onclick: (e) => { if (e.target === back) closeContactSheet(); },
    onkeydown: (e) => { if (e.key === "Escape") closeContactSheet(); },
  }, h("div", { class: "sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": "contact-sheet-title" },
    h("h2", { id: "contact-sheet-title" }, title),
    h("p", { class: "hint", id: "contact-sheet-hint" }, hint),
    form));
  document.body.append(back);
  note.focus();
}

export function closeContactSheet() {
  const el = document.getElementById("contact-sheet");
  if (el) el.remove();
}
