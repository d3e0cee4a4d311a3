// Names and avatars (kind profile, since 1.1): who a member is shown as in
// a group, and the user's own profile carried to every group.
//
// A member shows as their nick in the group, else their profile name, else
// their short ID. Names are display data, never identity: when two people
// of a group show the same name (or a name that is someone's short ID, or
// "me"), each gets enough of the end of their ID to tell them apart
// ("Alice · 4Fx1"), and tapping a name shows the full ID. A name is never
// resolved to a user.
//
// The profile (name, bio) is kept by the home node (GET/PUT
// /api/v1/me/profile); the page signs a profile event with it for each
// group (with that group's nick), after a change and after every join.
//
// An avatar is an image uploaded to the home node (POST /api/v1/blobs
// ?for=avatar), carried by the profile events as a BlobRef; a group's
// members load it from the group (GET /api/v1/groups/{gid}/blobs/{hash}).
// The home node keeps the avatar with the name and bio, so every device of
// the user pushes the same one.
//
// A person of another network that a bridge relays for (protocol 1.3) is
// known by their bridged identity, written like a user ID: they show as
// their name there (else their ID there) and the network, "Alice (irc)",
// the network in a badge of its own (a member's nick cannot look like
// it), with generated initials; their card names the bridge. Their names
// come from bridged_list of the group view and from each relayed message.

import { t, lang } from "./i18n.js";
import { h, clear, short, hueOf, copyText, errorText, busy } from "./ui.js";
import { KIND, MAX_NAME_RUNES, MAX_BIO_RUNES, MAX_AVATAR_BYTES, AVATAR_MIMES, body, cleanProfileText, checkProfileText } from "./proto.js";
import { fromHex } from "./codec.js";
import { shownChooser } from "./shown.js";

const SUFFIX_MIN = 4;

// key compares names as people read them: compatibility forms folded,
// case ignored (so "Ａlice" and "alice" count as the same name).
const key = (s) => s.normalize("NFKC").toLowerCase();

// Names is the directory of one group: member_list of the group view,
// then the profile events seen (live, or in history for people who left).
// blobURL(hash), when given, is where the group serves an avatar.
export class Names {
  constructor(me, blobURL) {
    this.me = me;
    this.blobURL = blobURL || null;
    this.people = new Map(); // id -> {name, nick, bio, avatar, role, member, seq}
    this.bridged = new Map(); // bridged id -> {network, user, name, bridge, seq, muted, removed}
    this.labels = null; // id -> label, computed when asked
  }

  // setMembers takes the member list of a group view at seq head.
  setMembers(list, head) {
    for (const p of this.people.values()) { p.member = false; p.role = ""; }
    for (const m of list) {
      const p = this.people.get(m.user) || {};
      const fresh = !(p.seq > head);
      this.people.set(m.user, {
        name: fresh ? m.name || "" : p.name, nick: fresh ? m.nick || "" : p.nick, bio: fresh ? m.bio || "" : p.bio,
        avatar: fresh ? m.avatar || null : p.avatar, groups: fresh ? m.groups || [] : p.groups || [],
        role: m.role, member: true, seq: fresh ? head : p.seq,
      });
    }
    this.labels = null;
  }

  // setBridged takes bridged_list of a group view at seq head.
  setBridged(list, head) {
    for (const b of list || []) {
      const p = this.bridged.get(b.id);
      const fresh = !(p && p.seq > head);
      this.bridged.set(b.id, {
        network: b.network, user: b.user, name: fresh ? b.name || "" : p.name, bridge: b.bridge, seq: fresh ? head : p.seq,
      });
    }
    this.labels = null;
  }

  // noteBridged takes the bridged of a message relayed by bridge at seq
  // ({id, network, user, name}); it reports "new" for a person not known
  // yet, true when what the group shows of them changed, else false.
  noteBridged(b, bridge, seq) {
    const p = this.bridged.get(b.id);
    if (p && !(seq > p.seq)) return false;
    this.bridged.set(b.id, { network: b.network, user: b.user, name: b.name || "", bridge, seq });
    this.labels = null;
    return !p ? "new" : p.name !== (b.name || "");
  }

  // bridgedOf is the person of another network id stands for, or null.
  bridgedOf(id) { return this.bridged.get(id) || null; }

  // noteProfile takes a profile event; it reports whether it changed what
  // the group shows.
  noteProfile(ev) {
    const p = this.people.get(ev.author);
    if (p && !(ev.seq > p.seq)) return false;
    const next = { role: "", member: false, ...p, name: ev.name || "", nick: ev.nick || "", bio: ev.text || "", avatar: ev.avatar || null, groups: ev.groups || [], seq: ev.seq };
    this.people.set(ev.author, next);
    this.labels = null;
    return !p || p.name !== next.name || p.nick !== next.nick || hashOf(p.avatar) !== hashOf(next.avatar);
  }

  get(id) { return this.people.get(id) || null; }

  // avatarSrc is the URL of id's avatar in this group, or "" for none.
  avatarSrc(id) {
    const p = this.people.get(id);
    return p && p.avatar && this.blobURL ? this.blobURL(p.avatar.hash) : "";
  }

  // chosen is the name a person chose for this group: nick, else name.
  chosen(id) {
    const b = this.bridged.get(id);
    if (b) return b.name || b.user;
    const p = this.people.get(id);
    return p ? p.nick || p.name || "" : "";
  }

  // parts is how a bridged person's label is shown: {who, network,
  // suffix} ("Alice", "irc", "" or " · 4Fx1"), or null for anyone else.
  parts(id) {
    const b = this.bridged.get(id);
    if (!b) return null;
    const label = this.plain(id);
    const base = bridgedLabel(b);
    return { who: b.name || b.user, network: b.network, suffix: label.startsWith(base) ? label.slice(base.length) : "" };
  }

  // plain is how the group shows id to others (never "me").
  plain(id) {
    if (!this.labels) this.labels = this.compute();
    return this.labels.get(id) || short(id);
  }

  // label is how this page shows id; the user is "me" (form "me"), or
  // "you" as the subject ("subject") or the object ("object") of a line.
  label(id, form = "me") {
    if (id === this.me) return t(form === "subject" ? "chat.youSubject" : form === "object" ? "chat.you" : "chat.me");
    return this.plain(id);
  }

  compute() {
    const count = new Map();
    const add = (k) => count.set(k, (count.get(k) || 0) + 1);
    for (const w of [t("chat.me"), t("chat.you"), t("chat.youSubject")]) add(key(w));
    for (const [id, p] of this.people) add(key(p.nick || p.name || short(id)));
    for (const b of this.bridged.values()) add(key(bridgedLabel(b)));
    const labels = new Map();
    const clash = new Map(); // key -> [id] of chosen names shown by more than one
    for (const id of [...this.people.keys(), ...this.bridged.keys()]) {
      const b = this.bridged.get(id);
      const c = b ? bridgedLabel(b) : this.chosen(id);
      if (!c) { labels.set(id, short(id)); continue; }
      if (count.get(key(c)) > 1) {
        const k = key(c);
        if (!clash.has(k)) clash.set(k, []);
        clash.get(k).push(id);
      } else {
        labels.set(id, c);
      }
    }
    for (const ids of clash.values()) {
      let n = SUFFIX_MIN;
      while (n < 46 && new Set(ids.map((id) => id.slice(-n))).size < ids.length) n++;
      for (const id of ids) {
        const b = this.bridged.get(id);
        labels.set(id, (b ? bridgedLabel(b) : this.chosen(id)) + " · " + id.slice(-n));
      }
    }
    return labels;
  }

  // tokens are the texts a message may carry to mention id, longest first.
  tokens(id) {
    const p = this.people.get(id) || this.bridged.get(id);
    const all = ["@" + short(id), "@" + this.plain(id)];
    if (p) for (const s of [p.nick, p.name, p.user]) if (s) all.push("@" + s);
    return [...new Set(all)].sort((a, b) => b.length - a.length);
  }

  // matches says whether id is found by the query q (lowercase): a part of
  // the name, nick or ID.
  matches(id, q) {
    if (!q) return true;
    const p = this.people.get(id) || this.bridged.get(id) || {};
    return [p.name, p.nick, p.user, p.network, this.plain(id), id].some((s) => s && key(s).includes(key(q)));
  }
}

// bridgedLabel is how a person of another network shows: their name
// there, else their ID there, and the network: "Alice (irc)".
export function bridgedLabel(b) {
  return `${b.name || b.user} (${b.network})`;
}

// namesList joins the labels of ids as the page's language lists people
// ("Alice, Bob and you", "王小明、李四和你"); past max it says how many more.
export function namesList(names, ids, form = "me", max = 12) {
  const shown = ids.slice(0, max).map((id) => names.label(id, form));
  if (ids.length > max) shown.push(t("chat.andMore", { n: ids.length - max }));
  try {
    return new Intl.ListFormat(lang === "zh" ? "zh-CN" : "en", { type: "conjunction" }).format(shown);
  } catch {
    return shown.join(", ");
  }
}

// initials is what a generated avatar shows: the first letters of the
// first two words of a Latin name, else its first character; "#" for none.
export function initials(name) {
  const s = (name || "").trim();
  if (!s) return "#";
  const words = s.split(/\s+/).filter((w) => /^\p{Script=Latin}/u.test(w));
  if (words.length >= 2) return (first(words[0]) + first(words[1])).toUpperCase();
  return first(s).toUpperCase();
}

function first(s) {
  if (typeof Intl !== "undefined" && Intl.Segmenter) {
    for (const g of new Intl.Segmenter().segment(s)) return g.segment;
  }
  return [...s][0] || "";
}

const hashOf = (ref) => (ref && ref.hash) || "";

// avatarEl is a person's avatar: their image when their profile has one,
// over a generated avatar (initials on a colour of the user ID) that shows
// while it loads, when there is none and when it cannot be loaded.
export function avatarEl(names, id, size = "") {
  const el = h("span", { class: "avatar person " + size, "data-avatar": id, "aria-hidden": "true" });
  fillAvatar(el, names, id);
  return el;
}

function fillAvatar(el, names, id) {
  el.classList.toggle("bridged", !!names.bridgedOf(id));
  const c = names.chosen(id);
  paintAvatar(el, id, c ? initials(c) : id.slice(-2), names.avatarSrc(id));
}

// paintAvatar shows letters on the colour of id in the avatar el, and the
// image at src over them once it has loaded ("" for none). The same image
// (the same blob, whatever the session in its URL) is left as it is.
export function paintAvatar(el, id, letters, src) {
  let span = el.querySelector(".initials");
  if (!span) { span = h("span", { class: "initials" }); el.replaceChildren(span); }
  if (span.textContent !== letters) span.textContent = letters;
  el.style.setProperty("--hue", hueOf(id));
  let img = el.querySelector("img");
  const key = src.replace(/\?.*$/, "");
  if (img && img.dataset.key === key && src) return;
  if (img) img.remove();
  el.classList.remove("has-img");
  if (!src) return;
  img = h("img", { class: "avatar-img", alt: "", decoding: "async", draggable: "false" });
  img.dataset.key = key;
  img.addEventListener("load", () => { if (img.parentNode === el) el.classList.add("has-img"); });
  img.addEventListener("error", () => {
    if (img.parentNode !== el) return;
    img.remove();
    el.classList.remove("has-img");
  });
  img.src = src;
  el.append(img);
}

// nameEl shows id's label. tap: a button-like name that opens the person's
// card (the chat's click handler); otherwise plain text (inside a link).
export function nameEl(names, id, form = "me", tap = true) {
  const el = h("span", {
    class: tap ? "name tap" : "name", "data-name": id, "data-form": form, title: id,
    role: tap ? "button" : undefined, tabindex: tap ? "0" : undefined,
  });
  fillName(el, names, id, form);
  el.style.setProperty("--hue", hueOf(id));
  return el;
}

// fillName shows id's label in el: a bridged person's network in a badge
// of its own ("Alice" + "(irc)"), anyone else's as text.
function fillName(el, names, id, form) {
  const s = names.label(id, form);
  const parts = names.parts(id);
  const isBridged = !!parts;
  if (el.textContent === s && el.classList.contains("bridged") === isBridged) return;
  el.classList.toggle("bridged", isBridged);
  if (!parts) { el.textContent = s; return; }
  el.replaceChildren(parts.who + " ", h("span", { class: "net-badge", "data-network": parts.network }, "(" + parts.network + ")"), parts.suffix);
}

// relabel updates every name and avatar under root (after a profile event).
export function relabel(root, names) {
  for (const el of root.querySelectorAll("[data-name]")) fillName(el, names, el.dataset.name, el.dataset.form);
  for (const el of root.querySelectorAll("[data-avatar]")) fillAvatar(el, names, el.dataset.avatar);
}

// showPerson opens the card of id: the names, the bio, the role and the
// full ID, which is who the person is.
let personShown = null; // the id of the open card
let personExtra = null; // what the open card offers besides copy and close
let personGroups = null; // what makes the open card's list of shown groups

// extra, when given, returns what else the card offers for id (a button
// for a private conversation, chat.js), or null; groups, when given,
// returns the section of the groups a member shows (shown.js) from them.
export function showPerson(names, id, keepFocus, extra, groups) {
  // A card shown again (refreshPerson) keeps its buttons, the same nodes,
  // so a tap on one as the names change is not lost.
  const again = keepFocus && personShown === id;
  const old = again ? document.getElementById("person-card") : null;
  const oldClose = old && old.querySelector("#btn-person-close");
  const oldCopy = old && old.querySelector("#btn-person-copy");
  const oldAvatar = old && old.querySelector(".avatar"); // its picture stays, without loading again
  const oldExtra = old && old.querySelector(".person-extra");
  const oldGroups = old && old.querySelector("#person-groups");
  const more = again ? personExtra : extra || null;
  const groupsOf = again ? personGroups : groups || null;
  closePerson();
  personShown = id;
  personExtra = more;
  personGroups = groupsOf;
  const extraEl = !oldExtra && more ? more(id) : null;
  const moreEl = oldExtra || (extraEl ? h("div", { class: "row person-extra" }, extraEl) : null);
  const p = names.get(id) || {};
  const b = names.bridgedOf(id);
  const groupsEl = oldGroups || (groupsOf && !b && p.groups && p.groups.length ? groupsOf(p.groups) : null);
  const close = oldClose || h("button", { type: "button", id: "btn-person-close", onclick: closePerson }, t("common.close"));
  const copy = oldCopy || h("button", {
    type: "button", id: "btn-person-copy",
    onclick: (e) => { copyText(id); e.target.textContent = t("manage.copied"); },
  }, t("person.copyID"));
  const role = b ? t("person.otherNetwork") : p.member ? t("role." + p.role) : t("person.notMember");
  const card = h("div", { class: "sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": "person-label" },
    h("div", { class: "row" }, oldAvatar ? (fillAvatar(oldAvatar, names, id), oldAvatar) : avatarEl(names, id, "big"),
      h("div", { class: "grow" },
        h("h2", { id: "person-label" }, names.label(id)),
        h("span", { class: "badge role-" + (b ? "bridged" : p.role || "none"), id: "person-role" }, role))),
    b ? h("p", { id: "person-bridge" }, line("person.relayedBy", { who: nameEl(names, b.bridge, "me", false) })) : null,
    b ? h("dl", { class: "facts" },
      b.name ? [h("dt", {}, t("person.name")), h("dd", { id: "person-name" }, b.name)] : null,
      h("dt", {}, t("person.network")), h("dd", { id: "person-network" }, b.network),
      h("dt", {}, t("person.remoteID")), h("dd", { id: "person-remote" }, b.user)) :
    h("dl", { class: "facts" },
      p.name ? [h("dt", {}, t("person.name")), h("dd", { id: "person-name" }, p.name)] : null,
      p.nick ? [h("dt", {}, t("person.nick")), h("dd", { id: "person-nick" }, p.nick)] : null,
      p.bio ? [h("dt", {}, t("person.bio")), h("dd", { id: "person-bio" }, p.bio)] : null),
    h("p", { class: "hint" }, t(b ? "person.bridgedIdHint" : "person.idHint")),
    h("code", { class: "id", id: "person-id" }, id),
    groupsEl,
    moreEl,
    h("div", { class: "row" }, copy, h("span", { class: "spacer" }), close));
  const back = h("div", {
    class: "backdrop", id: "person-card",
    onclick: (e) => { if (e.target === back) closePerson(); },
    onkeydown: (e) => { if (e.key === "Escape") closePerson(); },
  }, card);
  document.body.append(back);
  if (!keepFocus) close.focus();
}

// line fills a template of the dictionary with strings and elements.
function line(key, vars) {
  const tpl = t(key);
  const out = [];
  let last = 0;
  for (const m of tpl.matchAll(/\{(\w+)\}/g)) {
    out.push(tpl.slice(last, m.index), vars[m[1]] !== undefined ? vars[m[1]] : m[0]);
    last = m.index + m[0].length;
  }
  out.push(tpl.slice(last));
  return out;
}

// refreshPerson shows the open card again, with the names of now.
export function refreshPerson(names) {
  if (personShown && document.getElementById("person-card")) showPerson(names, personShown, true);
}

export function closePerson() {
  personShown = null;
  personExtra = null;
  const el = document.getElementById("person-card");
  if (el) el.remove();
}

// ---- the user's own profile

// checkProfile cleans and checks {name, bio, nick} as typed; it returns
// {profile} or {error: the translated sentence}.
export function checkProfile(typed, limits) {
  const out = {};
  for (const [field, max] of Object.entries(limits)) {
    const v = cleanProfileText(typed[field]);
    const bad = checkProfileText(v, max);
    if (bad) return { error: t("profile.bad." + bad.code, { what: t("profile.field." + field), max: bad.max, char: bad.char }) };
    if (v) out[field] = v;
  }
  return { profile: out };
}

// sig is what a group was last sent from here: name, bio and avatar.
const sig = (p, avatar) => JSON.stringify([p.name || "", p.bio || "", hashOf(avatar), ...groupIDs(p.shown)]);

// groupIDs lists the group IDs of shown groups (views {group, host, host_addrs}).
const groupIDs = (list) => (list || []).map((g) => g.group);

// ProfileSync carries the user's profile to their groups. Every push is
// one after the other (one queue), so two never race for one group.

// stored is p as the node keeps it: absent fields, not empty ones.
function stored(p) {
  const out = {};
  for (const k of ["name", "bio", "avatar"]) if (p[k]) out[k] = p[k];
  if (p.groups && p.groups.length) out.groups = p.groups;
  return out;
}

export class ProfileSync {
  constructor(app) {
    this.app = app;
    this.profile = null; // {name, bio} of the home node, once read
    this.queue = Promise.resolve();
    this.waiting = new Map(); // gid -> the push queued for it
    this.failed = new Map(); // gid -> when ensure last failed there
    this.timer = null;
  }

  storeKey() { return "qun.profile.sent." + this.app.signer.id; }
  sent() { try { return JSON.parse(localStorage.getItem(this.storeKey())) || {}; } catch { return {}; } }
  markSent(gid, p, avatar) {
    const all = this.sent();
    all[gid] = sig(p, avatar);
    localStorage.setItem(this.storeKey(), JSON.stringify(all));
  }

  // avatar is the user's avatar, a BlobRef ({hash, mime, size, width,
  // height}) or null for none: the home node keeps it with the name
  // (/api/v1/me/profile), so every device pushes the same one. Until the
  // profile is read, the one this browser last knew (localStorage), or
  // undefined when it never knew one (then each group keeps its own).
  avatarKey() { return "qun.profile.avatar." + this.app.signer.id; }
  avatar() {
    if (this.profile && this.profile.kept) return this.profile.avatar || null;
    const v = localStorage.getItem(this.avatarKey());
    if (v === null) return undefined;
    try { return JSON.parse(v); } catch { return undefined; }
  }
  remember(p) {
    this.profile = Object.assign({}, p, { kept: true });
    localStorage.setItem(this.avatarKey(), JSON.stringify(p.avatar || null));
    return this.profile;
  }
  // setAvatar stores a new avatar (null: none) on the home node, keeping
  // the name and bio.
  async setAvatar(ref) {
    const cur = await this.load();
    const r = ref ? { hash: ref.hash, mime: ref.mime, size: ref.size, width: ref.width || 0, height: ref.height || 0 } : undefined;
    return this.remember(await this.app.api.setMyProfile(stored({ name: cur.name, bio: cur.bio, avatar: r, groups: cur.groups })));
  }

  async load() {
    if (!this.profile) this.remember(await this.app.api.myProfile());
    return this.profile;
  }

  // save stores a new name and bio (and, when p has them, the groups
  // shown) on the home node, keeping the avatar.
  async save(p) {
    const cur = await this.load();
    const groups = p.groups !== undefined ? p.groups : cur.groups;
    return this.remember(await this.app.api.setMyProfile(stored({ name: p.name, bio: p.bio, avatar: cur.avatar, groups })));
  }

  // push sends a profile event to group gid: name and bio of the home
  // node, and the group's nick (kept, or nick when given). A group that
  // shows it already is left alone ("same"); otherwise it answers "sent".
  push(gid, nick) {
    // A push of the same group waiting in the queue does it for both.
    if (nick === undefined && this.waiting.has(gid)) return this.waiting.get(gid);
    const run = this.queue.then(() => { this.waiting.delete(gid); return this.pushNow(gid, nick); });
    if (nick === undefined) this.waiting.set(gid, run);
    this.queue = run.catch(() => {});
    return run;
  }

  async pushNow(gid, nick) {
    const api = this.app.api;
    let p;
    let state;
    if (nick === undefined) {
      // No profile, and none sent from here: nothing to carry.
      p = await this.load();
      if (sig(p, this.avatar()) === sig({}) && (this.sent()[gid] || sig({})) === sig({})) return "same";
    }
    // Right after a join the home node may not have the group, or the
    // join, yet: it is asked again for a few seconds.
    for (let i = 0; ; i++) {
      try {
        state = await api.group(gid);
        if (state.member_list.some((m) => m.user === this.app.signer.id)) break;
        if (i >= 20) throw Object.assign(new Error("not a member"), { code: "not_member" });
      } catch (e) {
        if (e.code !== "unknown_group" || i >= 20) throw e;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const mine = state.member_list.find((m) => m.user === this.app.signer.id);
    try {
      p = await this.load();
    } catch (e) {
      if (nick === undefined) throw e;
      p = { name: mine.name, bio: mine.bio }; // a node without profiles: keep what the group has
    }
    const local = this.avatar();
    const avatar = local === undefined ? mine.avatar : local || undefined;
    const want = { name: p.name || "", bio: p.bio || "", nick: nick !== undefined ? nick : mine.nick || "", avatar, groups: p.shown || [] };
    if ((mine.name || "") === want.name && (mine.bio || "") === want.bio && (mine.nick || "") === want.nick &&
      hashOf(mine.avatar) === hashOf(avatar) && groupIDs(mine.groups).join() === groupIDs(want.groups).join()) {
      this.markSent(gid, p, local);
      return "same";
    }
    await api.submit(KIND.profile, fromHex(gid), body.profile(want));
    this.markSent(gid, p, local);
    return "sent";
  }

  // ensure pushes the profile to every group that has not been sent the
  // current one from this page (a group just joined or approved, or a
  // profile changed on another device). Failures wait for the next time.
  ensureSoon(groups) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.ensure(groups()).catch(() => {}), 500);
  }

  async ensure(groups) {
    let p;
    try { p = await this.load(); } catch { return; }
    const sent = this.sent();
    const want = sig(p, this.avatar());
    for (const g of groups) {
      if (g.summary.pending || (sent[g.gid] || sig({})) === want) continue;
      // A group that refused (the user is muted there, say) is asked again
      // a minute later, not at every change of the inbox.
      if (Date.now() - (this.failed.get(g.gid) || 0) < 60_000) continue;
      try {
        await this.push(g.gid);
        this.failed.delete(g.gid);
      } catch {
        this.failed.set(g.gid, Date.now());
      }
    }
  }

  close() { clearTimeout(this.timer); }
}

// fitAvatar returns the image to upload as an avatar: the file itself when
// the node takes it as it is (PNG, JPEG or WebP of at most 512 KiB; the
// node removes its metadata), else the picture drawn again smaller, as a
// JPEG. It fails with the dictionary key of the reason.
export async function fitAvatar(file) {
  if (!/^image\//.test(file.type || "")) throw new Error("profile.avatar.notImage");
  if (AVATAR_MIMES.includes(file.type) && file.size <= MAX_AVATAR_BYTES) return file;
  let bmp;
  try { bmp = await createImageBitmap(file); } catch { throw new Error("profile.avatar.unreadable"); }
  for (const side of [512, 384, 256]) {
    const k = Math.min(1, side / Math.max(bmp.width, bmp.height));
    const c = h("canvas", { width: Math.max(1, Math.round(bmp.width * k)), height: Math.max(1, Math.round(bmp.height * k)) });
    const g = c.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, c.width, c.height);
    g.drawImage(bmp, 0, 0, c.width, c.height);
    const blob = await new Promise((resolve) => c.toBlob(resolve, "image/jpeg", 0.85));
    if (blob && blob.size <= MAX_AVATAR_BYTES) return blob;
  }
  throw new Error("profile.avatar.tooLarge");
}

// avatarWhy says why the node refused an avatar, in the page's language.
function avatarWhy(e) {
  if (e.code === "too_large") return t("profile.avatar.tooLarge", { max: MAX_AVATAR_BYTES >> 10 });
  if (e.code === "invalid" && e.fromNode && lang !== "en") return `${t("profile.avatar.invalid")}（${e.message}）`;
  return errorText(e);
}

// profileCard is the profile section of the "me" screen: avatar, name and
// bio, saved on the home node (the avatar here) and pushed to every group
// with a progress line and one line per group that failed.
export function profileCard(app) {
  const status = h("p", { id: "profile-status", class: "status", role: "status", "aria-live": "polite" });
  const show = (text, kind) => { status.textContent = text || ""; status.className = "status " + (text ? kind : ""); status.setAttribute("role", kind === "error" ? "alert" : "status"); };
  const progress = h("p", { id: "profile-progress", class: "hint", role: "status", "aria-live": "polite" });
  const failures = h("ul", { id: "profile-failures", class: "list failures" });
  const name = h("input", { id: "profile-name", autocomplete: "nickname", enterkeyhint: "done", placeholder: t("profile.namePlaceholder") });
  const bio = h("textarea", { id: "profile-bio", rows: 2, placeholder: t("profile.bioPlaceholder") });
  const save = h("button", { id: "btn-save-profile", class: "primary", type: "submit" }, t("profile.save"));
  const chooser = shownChooser(app);
  const prev = app.cleanup; // the "me" screen's: its watch of the groups ends with it
  app.cleanup = () => { chooser.stop(); if (prev) prev(); };
  const preview = h("span", { class: "avatar person big", id: "profile-avatar", "aria-hidden": "true" });
  let shown = ""; // the URL of the picture the preview shows
  const paint = () => paintAvatar(preview, app.signer.id, initials(name.value) === "#" ? app.signer.id.slice(-2) : initials(name.value), shown);
  const setPreview = (src) => {
    if (shown.startsWith("blob:") && shown !== src) URL.revokeObjectURL(shown);
    shown = src;
    paint();
  };
  name.addEventListener("input", paint);
  paint();

  // The avatar: picked, uploaded at once (with its progress), shown at
  // once from the file, then pushed to every group like the name.
  const avatarInput = h("input", {
    type: "file", id: "profile-avatar-input", accept: AVATAR_MIMES.join(",") + ",image/*", class: "visually-hidden", tabindex: "-1", "aria-hidden": "true",
  });
  const pick = h("button", { type: "button", id: "btn-pick-avatar", onclick: () => avatarInput.click() });
  const remove = h("button", { type: "button", id: "btn-remove-avatar", class: "link" }, t("profile.avatar.remove"));
  const bar = h("progress", { max: 100, value: 0 });
  const pct = h("span", { class: "pct" }, "0%");
  const cancel = h("button", {
    type: "button", id: "btn-cancel-avatar", class: "cancel-upload", title: t("profile.avatar.cancel"), "aria-label": t("profile.avatar.cancel"),
    onclick: () => { if (uploading) uploading.abort(); },
  }, "✕");
  const upload = h("div", { id: "profile-avatar-progress", class: "progress", hidden: true }, bar, pct, cancel);
  let uploading = null; // {abort} of the upload under way
  const buttons = () => {
    const has = !!app.profiles.avatar();
    pick.textContent = t(has ? "profile.avatar.change" : "profile.avatar.pick");
    remove.hidden = !has;
    pick.disabled = remove.disabled = !!uploading;
    upload.hidden = !uploading;
  };
  // showSaved shows the avatar set here, as one of the user's groups
  // serves it (the home node serves a blob only under a group).
  const showSaved = async () => {
    const a = app.profiles.avatar();
    if (!a) return setPreview("");
    let gids = [];
    try { gids = (await app.api.myGroups()).filter((g) => !g.pending).map((g) => g.group); } catch { /* initials */ }
    const now = app.profiles.avatar();
    if (uploading || !now || now.hash !== a.hash) return;
    const next = (list) => {
      setPreview(list.length ? app.api.blobURL(list[0], a.hash) : "");
      const img = preview.querySelector("img");
      if (img) img.addEventListener("error", () => { if (shown.includes(list[0])) next(list.slice(1)); }, { once: true });
    };
    next(gids);
  };
  avatarInput.addEventListener("change", async () => {
    const file = avatarInput.files[0];
    avatarInput.value = "";
    if (!file || uploading) return;
    show("");
    clear(failures);
    let f;
    try { f = await fitAvatar(file); } catch (e) {
      return show(t("profile.avatar.failed", { why: t(e.message, { max: MAX_AVATAR_BYTES >> 10 }) }), "error");
    }
    setPreview(URL.createObjectURL(f));
    bar.value = 0;
    pct.textContent = "0%";
    const up = app.api.upload(f, "", (x) => {
      const n = Math.min(99, Math.floor(x * 100));
      bar.value = n;
      pct.textContent = n + "%";
    }, "avatar");
    uploading = up;
    buttons();
    let att;
    try {
      att = await up.promise;
    } catch (e) {
      uploading = null;
      buttons();
      showSaved();
      if (e.code !== "canceled") show(t("profile.avatar.failed", { why: avatarWhy(e) }), "error");
      return;
    }
    uploading = null;
    try {
      await app.profiles.setAvatar(att);
    } catch (e) {
      buttons();
      showSaved();
      return show(t("profile.avatar.failed", { why: avatarWhy(e) }), "error");
    }
    buttons();
    await pushAll();
  });
  remove.addEventListener("click", () => busy(remove, async () => {
    show("");
    clear(failures);
    try {
      await app.profiles.setAvatar(null);
    } catch (e) {
      return show(errorText(e), "error");
    }
    setPreview("");
    buttons();
    await pushAll();
  }));
  buttons();
  showSaved();
  app.profiles.load().then((p) => {
    if (!name.value) name.value = p.name || "";
    if (!bio.value) bio.value = p.bio || "";
    chooser.set(p.groups || []);
    paint();
  }).catch((e) => show(errorText(e), "error"));

  // pushAll carries the saved profile to the groups (or to only).
  const pushAll = async (only) => {
    let groups;
    try {
      groups = only || (await app.api.myGroups()).filter((g) => !g.pending).map((g) => ({ gid: g.group, name: g.name }));
    } catch (e) {
      show(errorText(e), "error");
      return;
    }
    clear(failures);
    const failed = [];
    for (let i = 0; i < groups.length; i++) {
      progress.textContent = t("profile.updating", { i: i + 1, n: groups.length });
      try {
        await app.profiles.push(groups[i].gid);
      } catch (e) {
        failed.push(groups[i]);
        failures.append(h("li", { class: "status error", "data-group": groups[i].gid },
          t("profile.groupFailed", { group: groups[i].name || groups[i].gid.slice(0, 8), why: errorText(e) })));
      }
    }
    progress.textContent = "";
    if (!failed.length) {
      show(groups.length ? t("profile.savedIn", { n: groups.length }) : t("profile.saved"), "ok");
      return;
    }
    show(t("profile.someFailed", { failed: failed.length, n: groups.length }), "error");
    failures.append(h("li", {}, h("button", {
      type: "button", id: "btn-profile-retry", onclick: (e) => busy(e.target, () => pushAll(failed)),
    }, t("profile.retry"))));
  };

  const form = h("form", {
    class: "form",
    onsubmit: (e) => {
      e.preventDefault();
      busy(save, async () => {
        show("");
        clear(failures);
        const c = checkProfile({ name: name.value, bio: bio.value }, { name: MAX_NAME_RUNES, bio: MAX_BIO_RUNES });
        if (c.error) return show(c.error, "error");
        name.value = c.profile.name || "";
        bio.value = c.profile.bio || "";
        try {
          await app.profiles.save({ ...c.profile, groups: chooser.value() });
        } catch (err) {
          return show(errorText(err), "error");
        }
        app.onProfile();
        await pushAll();
      });
    },
  },
  h("div", { class: "row" }, preview, h("label", { class: "grow" }, t("profile.field.name"), name)),
  h("div", { class: "row wrap avatar-row" }, pick, remove, avatarInput, upload),
  h("p", { class: "hint" }, t("profile.avatar.hint")),
  h("label", {}, t("profile.field.bio"), bio),
  chooser.el,
  h("p", { class: "hint" }, t("profile.hint")),
  save, progress, failures);
  return h("section", { class: "card", id: "profile" }, h("h1", {}, t("profile.title")), form, status);
}

