// Qun protocol v1 in the browser (docs/PROTOCOL.md): submissions, bodies,
// invites, the signed envelope, peer IDs, binary multiaddrs, and decoders
// for events and invite tokens.

import {
  Writer, fields, one, concat, equal, utf8, fromUtf8, uvarint, toBase58, fromBase58,
  fromBase64url, toBase64url, randomBytes, sha256, toHex, fromHex, fromBase64, toBase64,
} from "./codec.js";

export const VERSION = 1;

export const KIND = {
  create: 1, update: 2, announce: 3, pin: 4, unpin: 5, role: 6, invite_create: 7,
  invite_revoke: 8, join: 9, join_request: 10, approve: 11, reject: 12, leave: 13,
  kick: 14, ban: 15, unban: 16, mute: 17, unmute: 18, message: 19, recall: 20, profile: 21,
  reaction: 22, edit: 23, close: 24, rules: 25, confirm: 26,
};
export const ROLE = { member: 1, admin: 2, owner: 3, bridge: 4 };
export const RANK = { member: 1, admin: 2, owner: 3, bridge: 1 };
export const POLICY = { open: 1, approval: 2, invite: 3 };
export const RECALL_WINDOW_MS = 120_000;
export const MAX_TEXT_RUNES = 4000;
export const MAX_MENTIONS = 50;
// Images and files of a message (since 1.1).
export const MAX_ATTACHMENTS = 9;
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
export const MAX_FILE_BYTES = 50 * 1024 * 1024;
export const MAX_FILE_NAME_BYTES = 255;
export const IMAGE_MIMES = ["image/jpeg", "image/png", "image/webp", "image/gif"];
// Profile strings (kind profile, since 1.1), in characters (code points).
export const MAX_NAME_RUNES = 32;
export const MAX_BIO_RUNES = 160;
export const MAX_NICK_RUNES = 32;
// A profile's avatar: its image types and size (MaxAvatarBytes).
export const AVATAR_MIMES = ["image/png", "image/jpeg", "image/webp"];
export const MAX_AVATAR_BYTES = 512 * 1024;
// Reactions and edits (since 1.1).
export const MAX_REACTION_BYTES = 32;
export const MAX_REACTION_RUNES = 8;
export const EDIT_WINDOW_MS = 24 * 3600_000;

export const DOMAIN = {
  submission: "qun/1/submission",
  event: "qun/1/event",
  invite: "qun/1/invite",
  auth: "qun/1/auth",
  contact: "qun/1/contact",
};

// signingInput is SigningBytes(domain, payload) = uvarint(len(domain)) || domain || payload.
export function signingInput(domain, payload) {
  const d = utf8(domain);
  return concat(uvarint(d.length), d, payload);
}

// envelope is the signed envelope: field 1 the payload, field 2 the signature.
export const envelope = (payload, signature) => new Writer().bytes(1, payload).bytes(2, signature).finish();

export function openEnvelope(raw) {
  const f = fields(raw);
  const payload = one(f, 1), signature = one(f, 2);
  if (!(payload instanceof Uint8Array) || !(signature instanceof Uint8Array) || signature.length !== 64 ||
      Object.keys(f).some((k) => k !== "1" && k !== "2") || f[1].length !== 1 || f[2].length !== 1) {
    throw new Error("not a signed envelope");
  }
  return { payload, signature };
}

// ---- peer IDs

const PEER_PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);

export const peerIDBytes = (key) => concat(PEER_PREFIX, key);
export const peerID = (key) => toBase58(peerIDBytes(key));

// parsePeerID returns the 32-byte ed25519 key of a 12D3KooW… peer ID.
export function parsePeerID(s) {
  let b;
  try { b = fromBase58(s.trim()); } catch { throw new Error("not a user ID"); }
  if (b.length !== 38 || !equal(b.subarray(0, 6), PEER_PREFIX)) throw new Error("not an ed25519 user ID");
  return b.slice(6);
}

export const isPeerID = (s) => { try { parsePeerID(s); return true; } catch { return false; } };

// ---- bodies (each returns the encoded body bytes)

// settings: {name, description, avatar} strings (undefined = not set, "" =
// set to empty), policy ("open"|"approval"|"invite"), cap (number), public
// (bool), history ("all"|"join", since 1.2: field 8, after a create's host).
const HISTORY = { all: 1, join: 2 };
function writeLater(w, s) {
  if (s.history !== undefined) w.varint(8, HISTORY[s.history]);
  return w;
}
function writeSettings(w, s) {
  if (s.name !== undefined) w.bytesAlways(1, utf8(s.name));
  if (s.description !== undefined) w.bytesAlways(2, utf8(s.description));
  if (s.avatar !== undefined) w.bytesAlways(3, utf8(s.avatar));
  if (s.policy !== undefined) w.varint(4, POLICY[s.policy]);
  if (s.cap !== undefined) w.varint(5, s.cap);
  if (s.public !== undefined) w.varint(6, s.public ? 2 : 1);
  return w;
}

export const body = {
  create: (settings, host) => writeLater(writeSettings(new Writer(), settings).key(7, host), settings).finish(),
  update: (settings) => writeLater(writeSettings(new Writer(), settings), settings).finish(),
  announce: (text) => new Writer().string(1, text).finish(),
  target: (seq) => new Writer().varint(1, seq).finish(),
  role: (member, role) => new Writer().key(1, member).varint(2, ROLE[role]).finish(),
  inviteCreate: (token) => new Writer().bytes(1, token).finish(),
  inviteRevoke: (id) => new Writer().key(1, id).finish(),
  join: (token, note) => new Writer().bytes(1, token).string(2, note).finish(),
  leave: () => new Uint8Array(0),
  member: (member, reason) => new Writer().key(1, member).string(2, reason).finish(),
  mute: (member, until, reason) => new Writer().key(1, member).varint(2, until).string(3, reason).finish(),
  // message: {text, mentions: [key], mentionAll, replyTo, link,
  // attachments}. attachments are as the upload answers them (and events
  // show them): {hash, mime, size, width, height, name, thumb (base64 or
  // bytes)}, at most MAX_ATTACHMENTS.
  message: (m) => {
    const w = new Writer().string(1, m.text);
    for (const k of m.mentions || []) w.bytesAlways(2, k);
    w.varint(3, m.mentionAll ? 1 : 0).varint(4, m.replyTo || 0).string(6, m.link);
    for (const a of m.attachments || []) w.bytesAlways(7, attachment(a));
    return w.finish();
  },
  // profile: {name, bio, nick, avatar}; an empty or absent string is not
  // set, and the event replaces the author's whole profile in the group.
  // avatar is a BlobRef as the API shows it ({hash, mime, size, width,
  // height}): the page sets none yet, but keeps one set elsewhere. groups
  // (since 1.5) are the groups the author shows, as the API's shown views.
  profile: (p) => {
    const w = new Writer().string(1, p.name).string(2, p.bio).string(3, p.nick);
    if (p.avatar) w.bytesAlways(4, blobRef(p.avatar));
    for (const g of p.groups || []) w.bytesAlways(5, shownGroup(g));
    return w.finish();
  },
  // reaction: {target (seq), emoji, remove (true takes the author's
  // reaction back)}.
  reaction: (r) => new Writer().varint(1, r.target).string(2, r.emoji).varint(3, r.remove ? 1 : 0).finish(),
  // edit: {target (seq), text}: the new text of the author's own message.
  edit: (e) => new Writer().varint(1, e.target).string(2, e.text).finish(),
};

// checkEmoji returns null for what a reaction may carry (1 to 32 bytes of
// UTF-8, at most 8 characters, no control character or white space), else
// the reason: "empty" | "tooLong" | "space".
export function checkEmoji(s) {
  if (!s) return "empty";
  if (/[\uD800-\uDFFF]/u.test(s)) return "space"; // a lone surrogate is no character
  if (utf8(s).length > MAX_REACTION_BYTES || [...s].length > MAX_REACTION_RUNES) return "tooLong";
  if (/[\p{Cc}\p{Z}]/u.test(s)) return "space";
  return null;
}

// blobRef encodes a BlobRef: hash, media type, size, width, height.
const blobRef = (r) => new Writer().key(1, fromHex(r.hash)).string(2, r.mime).varint(3, r.size)
  .varint(4, r.width || 0).varint(5, r.height || 0).finish();

// shownGroup encodes a ShownGroup (since 1.5) from its API view {group,
// host, host_addrs}: the host's addresses without their /p2p/ part (the
// host is named apart); those this page cannot encode are left out.
function shownGroup(g) {
  const w = new Writer().key(1, fromHex(g.group)).key(2, parsePeerID(g.host));
  for (const a of (g.host_addrs || []).slice(0, 8)) {
    try { w.bytesAlways(3, multiaddrBytes(a.replace(/\/p2p\/[^/]+$/, ""))); } catch { /* not one of the node's protocols */ }
  }
  return w.finish();
}

// attachment encodes an Attachment: the BlobRef, the file name, the thumbnail.
function attachment(a) {
  const thumb = typeof a.thumb === "string" ? fromBase64(a.thumb) : a.thumb;
  return new Writer().bytesAlways(1, blobRef(a)).string(2, a.name).bytes(3, thumb).finish();
}

// isImageMIME: an attachment the chat shows inline.
export const isImageMIME = (m) => IMAGE_MIMES.includes(m);

// cleanFileName makes a file name what an attachment may carry: no
// control characters, no / or \, 1 to 255 bytes of UTF-8.
export function cleanFileName(s) {
  let n = [...(s || "")].map((c) => (c < " " || c === "\x7f" || c === "/" || c === "\\" ? "_" : c)).join("").trim();
  if (n === "." || n === "..") n = "";
  while (utf8(n).length > MAX_FILE_NAME_BYTES) {
    const dot = n.lastIndexOf(".");
    const ext = dot > 0 && n.length - dot <= 10 ? n.slice(dot) : "";
    n = [...n.slice(0, n.length - ext.length)].slice(0, -1).join("") + ext;
  }
  return n || "file";
}

// ---- profile strings (docs/PROTOCOL.md, "Profile strings")

// The code points a profile string never holds: a frozen list (Cc, Zl, Zp
// and Cf of Unicode 15.0 but U+200C and U+200D).
const REFUSED = [
  [0x0000, 0x001f], [0x007f, 0x009f], [0x00ad, 0x00ad], [0x0600, 0x0605], [0x061c, 0x061c], [0x06dd, 0x06dd],
  [0x070f, 0x070f], [0x0890, 0x0891], [0x08e2, 0x08e2], [0x180e, 0x180e], [0x200b, 0x200b], [0x200e, 0x200f],
  [0x2028, 0x2029], [0x202a, 0x202e], [0x2060, 0x2064], [0x2066, 0x206f], [0xfeff, 0xfeff], [0xfff9, 0xfffb],
  [0x110bd, 0x110bd], [0x110cd, 0x110cd], [0x13430, 0x1343f], [0x1bca0, 0x1bca3], [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001], [0xe0020, 0xe007f],
];
// White space and joiners may not begin or end one.
const EDGE = (c) => c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
  c === 0x202f || c === 0x205f || c === 0x3000 || c === 0x200c || c === 0x200d;

// cleanProfileText is what a person typed, as it is signed: NFC, white
// space trimmed at both ends.
export const cleanProfileText = (s) => (s || "").normalize("NFC").trim();

// checkProfileText returns null for a valid profile string of at most max
// characters (the empty string: not set), else the reason:
// {code: "utf8" | "tooLong" | "control" | "edge", max, char: "U+XXXX"}.
export function checkProfileText(s, max) {
  const cps = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return { code: "utf8" }; // a lone surrogate
    if (c > 0xffff) i++;
    cps.push(c);
  }
  if (!cps.length) return null;
  if (cps.length > max) return { code: "tooLong", max };
  const hex = (c) => "U+" + c.toString(16).toUpperCase().padStart(4, "0");
  for (const c of cps) {
    if (REFUSED.some(([a, b]) => c >= a && c <= b)) return { code: "control", char: hex(c) };
  }
  if (EDGE(cps[0]) || EDGE(cps[cps.length - 1])) return { code: "edge" };
  return null;
}

// submissionPayload encodes a Submission: {group (absent for create), kind,
// author, time, nonce, body}.
export function submissionPayload(s) {
  return new Writer()
    .varint(1, VERSION)
    .key(2, s.group)
    .varint(3, s.kind)
    .key(4, s.author)
    .varint(5, s.time)
    .bytes(6, s.nonce)
    .bytes(7, s.body)
    .finish();
}

// signSubmission builds and signs a submission with signer.sign(domain,
// payload) → 64-byte signature. It returns the signed bytes and their ID.
export async function signSubmission(signer, s) {
  const payload = submissionPayload({
    ...s, author: signer.publicKey, time: s.time ?? Date.now(), nonce: s.nonce ?? randomBytes(16),
  });
  const raw = envelope(payload, await signer.sign(DOMAIN.submission, payload));
  return { raw, id: toHex(await sha256(raw)) };
}

// ---- invites

// invitePayload encodes an Invite: {group, host, addrs: [bytes], inviter,
// expires, maxUses, nonce, ref}.
export function invitePayload(i) {
  const w = new Writer().varint(1, VERSION).key(2, i.group).key(3, i.host);
  for (const a of i.addrs || []) w.bytesAlways(4, a);
  return w.key(5, i.inviter).varint(6, i.expires || 0).varint(7, i.maxUses || 0)
    .bytes(8, i.nonce).string(9, i.ref).finish();
}

export async function signInvite(signer, i) {
  const payload = invitePayload({ ...i, inviter: signer.publicKey, nonce: i.nonce ?? randomBytes(16) });
  const raw = envelope(payload, await signer.sign(DOMAIN.invite, payload));
  return { raw, token: toBase64url(raw), id: toHex(await sha256(raw)) };
}

// tokenFromLink takes the text after the last "#" or "/" of a link, or a bare token.
export function tokenFromLink(s) {
  s = (s || "").trim();
  const i = Math.max(s.lastIndexOf("#"), s.lastIndexOf("/"));
  return i >= 0 ? s.slice(i + 1) : s;
}

// decodeInvite decodes a token (or link) into its fields; it throws on
// anything that is not an invite. verifyInvite checks the signature.
export function decodeInvite(tokenOrLink) {
  const raw = fromBase64url(tokenFromLink(tokenOrLink));
  if (raw.length === 0 || raw.length > 4096) throw new Error("not an invite");
  const { payload, signature } = openEnvelope(raw);
  const f = fields(payload);
  const k32 = (n) => { const v = one(f, n); if (!(v instanceof Uint8Array) || v.length !== 32) throw new Error("not an invite"); return v; };
  if (one(f, 1) !== VERSION) throw new Error("unsupported invite version");
  const inv = {
    raw, payload, signature,
    group: toHex(k32(2)), host: peerID(k32(3)), hostKey: k32(3), inviter: peerID(k32(5)), inviterKey: k32(5),
    addrs: (f[4] || []).map((a) => { try { return multiaddrToString(a); } catch { return null; } }).filter(Boolean),
    expires: Number(one(f, 6) || 0), maxUses: Number(one(f, 7) || 0),
    ref: one(f, 9) ? fromUtf8(one(f, 9)) : "",
  };
  return inv;
}

export async function verifyInvite(inv) {
  return verify(inv.inviterKey, DOMAIN.invite, inv.payload, inv.signature);
}

// ---- contacts (private conversations, since 1.2)

// A contact asks the group's staff for a private conversation (a request,
// no invite) or offers one (an invite into a conversation the sender
// created). It goes to 1 to MAX_CONTACT_TARGETS people, never the sender;
// an offer's invite expires at most CONTACT_LIFE_MS after it is sent.
export const MAX_CONTACT_TARGETS = 10;
export const MAX_NOTE_RUNES = 500;
export const CONTACT_LIFE_MS = 7 * 24 * 3600_000;

// contactPayload encodes a Contact: {group, from, to: [key] (written in
// the order given), invite (signed bytes, absent for a request), note}.
export function contactPayload(c) {
  const w = new Writer().varint(1, VERSION).key(2, c.group).key(3, c.from);
  for (const k of c.to) w.bytesAlways(4, k);
  return w.bytes(5, c.invite).string(6, c.note).finish();
}

// compareBytes orders byte strings as unsigned bytes, the shorter first.
function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// signContact signs a contact {group, to: [key], invite, note} with
// signer (the sender): to is sorted and each person kept once, as the
// protocol wants. It throws for a contact the nodes would refuse for its
// shape. It returns the signed bytes and their ID (the contact's).
export async function signContact(signer, c) {
  const to = [];
  for (const k of [...c.to].sort(compareBytes)) if (!to.length || compareBytes(to[to.length - 1], k) !== 0) to.push(k);
  if (!to.length || to.length > MAX_CONTACT_TARGETS) throw new Error(`a contact goes to 1 to ${MAX_CONTACT_TARGETS} people`);
  if (to.some((k) => k.length !== 32 || equal(k, signer.publicKey))) throw new Error("a contact goes to other people than its sender");
  const note = (c.note || "").trim();
  if ([...note].length > MAX_NOTE_RUNES) throw new Error(`a note has at most ${MAX_NOTE_RUNES} characters`);
  const payload = contactPayload({ group: c.group, from: signer.publicKey, to, invite: c.invite, note });
  const raw = envelope(payload, await signer.sign(DOMAIN.contact, payload));
  return { raw, id: toHex(await sha256(raw)) };
}

// ---- events

// decodeEvent decodes a signed event (raw bytes) and the submission inside.
export function decodeEvent(raw) {
  const env = openEnvelope(raw);
  const f = fields(env.payload);
  const subRaw = one(f, 7);
  const sub = openEnvelope(subRaw);
  const s = fields(sub.payload);
  return {
    payload: env.payload, signature: env.signature,
    group: toHex(one(f, 2)), seq: one(f, 3), time: one(f, 5), via: one(f, 6),
    submission: {
      raw: subRaw, payload: sub.payload, signature: sub.signature,
      kind: one(s, 3), author: one(s, 4), time: one(s, 5), body: one(s, 7) || new Uint8Array(0),
    },
  };
}

// decodeMessage reads a message body: {text, mentions: [peer ID],
// mentionAll, replyTo, link, product, attachments: [{hash, mime, size,
// width, height, name, thumb (base64)}]}.
export function decodeMessage(b) {
  const f = fields(b);
  const product = one(f, 5) ? fields(one(f, 5)) : null;
  const str = (x) => (x ? fromUtf8(x) : "");
  const attachments = (f[7] || []).map((raw) => {
    const a = fields(raw);
    const r = fields(one(a, 1) || new Uint8Array(0));
    const hash = one(r, 1);
    if (!(hash instanceof Uint8Array) || hash.length !== 32) throw new Error("an attachment without its hash");
    const thumb = one(a, 3);
    return {
      hash: toHex(hash), mime: str(one(r, 2)), size: Number(one(r, 3) || 0),
      width: Number(one(r, 4) || 0), height: Number(one(r, 5) || 0),
      name: str(one(a, 2)), thumb: thumb ? toBase64(thumb) : "",
    };
  });
  return {
    text: str(one(f, 1)),
    mentions: (f[2] || []).map((k) => peerID(k)),
    mentionAll: one(f, 3) === 1,
    replyTo: one(f, 4) || 0,
    link: str(one(f, 6)),
    product: product && {
      id: str(one(product, 1)), title: str(one(product, 2)), price: str(one(product, 3)),
      currency: str(one(product, 4)), url: str(one(product, 5)), image: str(one(product, 6)),
    },
    attachments,
  };
}

// verifyEvent checks the host's signature of an event and its author's
// signature of the submission inside.
export async function verifyEvent(ev, hostKey) {
  const hostOK = await verify(hostKey, DOMAIN.event, ev.payload, ev.signature);
  const sub = ev.submission;
  const authorOK = await verify(sub.author, DOMAIN.submission, sub.payload, sub.signature);
  return hostOK && authorOK;
}

const keyCache = new Map();
export async function verify(publicKey, domain, payload, signature) {
  const id = toHex(publicKey);
  let k = keyCache.get(id);
  if (!k) {
    k = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    keyCache.set(id, k);
  }
  return crypto.subtle.verify({ name: "Ed25519" }, k, signature, signingInput(domain, payload));
}

// ---- multiaddrs (the protocols a Qun node listens on)

const MA = [
  // [name, code, value: 0 none | n fixed bytes | -1 length-prefixed]
  ["ip4", 4, 4], ["tcp", 6, 2], ["udp", 273, 2], ["ip6", 41, 16], ["dns", 53, -1], ["dns4", 54, -1],
  ["dns6", 55, -1], ["dnsaddr", 56, -1], ["quic", 460, 0], ["quic-v1", 461, 0], ["p2p", 421, -1],
  ["p2p-circuit", 290, 0], ["ws", 477, 0], ["wss", 478, 0], ["tls", 448, 0], ["webtransport", 465, 0],
  ["http", 480, 0], ["noise", 454, 0],
];
const MA_BY_NAME = new Map(MA.map((p) => [p[0], p]));
const MA_BY_CODE = new Map(MA.map((p) => [p[1], p]));

function ip6Bytes(s) {
  let [head, tail] = s.includes("::") ? s.split("::") : [s, null];
  const part = (x) => (x ? x.split(":") : []);
  let groups = part(head);
  if (tail !== null) {
    const t = part(tail);
    groups = [...groups, ...new Array(8 - groups.length - t.length).fill("0"), ...t];
  }
  if (groups.length !== 8) throw new Error("bad ip6 " + s);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error("bad ip6 " + s);
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

// multiaddrBytes encodes a text multiaddr ("/ip4/1.2.3.4/tcp/7781/p2p/12D3…")
// in binary; it throws for a protocol it does not know.
export function multiaddrBytes(s) {
  const parts = s.split("/");
  if (parts[0] !== "") throw new Error("a multiaddr starts with /");
  const out = [];
  for (let i = 1; i < parts.length; i++) {
    const p = MA_BY_NAME.get(parts[i]);
    if (!p) throw new Error("unknown multiaddr protocol " + parts[i]);
    out.push(uvarint(p[1]));
    if (p[2] === 0) continue;
    const v = parts[++i];
    if (v === undefined) throw new Error("missing value for " + p[0]);
    let b;
    switch (p[0]) {
      case "ip4": {
        const o = v.split(".").map(Number);
        if (o.length !== 4 || o.some((x) => !(x >= 0 && x <= 255 && Number.isInteger(x)))) throw new Error("bad ip4 " + v);
        b = Uint8Array.from(o);
        break;
      }
      case "tcp": case "udp": {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error("bad port " + v);
        b = Uint8Array.from([n >> 8, n & 0xff]);
        break;
      }
      case "ip6": b = ip6Bytes(v); break;
      case "p2p": b = fromBase58(v); break;
      default: b = utf8(v);
    }
    if (p[2] === -1) out.push(uvarint(b.length));
    out.push(b);
  }
  return concat(...out);
}

export function multiaddrToString(b) {
  let s = "", i = 0;
  const rd = () => {
    let v = 0, shift = 1;
    for (;;) {
      if (i >= b.length) throw new Error("truncated multiaddr");
      const x = b[i++];
      v += (x & 0x7f) * shift;
      if (!(x & 0x80)) return v;
      shift *= 128;
    }
  };
  while (i < b.length) {
    const p = MA_BY_CODE.get(rd());
    if (!p) throw new Error("unknown multiaddr protocol");
    s += "/" + p[0];
    if (p[2] === 0) continue;
    const n = p[2] === -1 ? rd() : p[2];
    const v = b.subarray(i, i + n);
    if (v.length !== n) throw new Error("truncated multiaddr");
    i += n;
    if (p[0] === "ip4") s += "/" + v.join(".");
    else if (p[0] === "tcp" || p[0] === "udp") s += "/" + ((v[0] << 8) | v[1]);
    else if (p[0] === "ip6") s += "/" + Array.from({ length: 8 }, (_, k) => ((v[2 * k] << 8) | v[2 * k + 1]).toString(16)).join(":");
    else if (p[0] === "p2p") s += "/" + toBase58(v);
    else s += "/" + fromUtf8(v);
  }
  return s;
}

// inviteAddrs converts a host's text multiaddrs to what an invite carries:
// the ones this encoder knows, each at most 256 bytes, at most 8.
// inviteAddrs picks the host addresses an invite carries, encoded: the
// ones reachable from the internet; only when the host has none (a LAN, one
// machine) its private and loopback ones. Same rule as the Go SDK.
export function inviteAddrs(list) {
  const pub = [], local = [];
  for (const s of list || []) {
    try {
      const b = multiaddrBytes(s);
      if (b.length <= 256) (isLocalAddr(s) ? local : pub).push(b);
    } catch { /* skip what we cannot encode */ }
  }
  return (pub.length ? pub : local).slice(0, 8);
}

// isLocalAddr reports whether a multiaddr's IP is loopback, private,
// link-local, shared (CGNAT) or unspecified; DNS names count as public.
export function isLocalAddr(s) {
  const p = s.split("/");
  if (p[1] === "ip4") {
    const [a, b] = p[2].split(".").map(Number);
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) ||
      (a === 169 && b === 254) || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168);
  }
  if (p[1] === "ip6") {
    const ip = p[2].toLowerCase();
    return ip === "::" || ip === "::1" || /^fe[89ab]/.test(ip) || /^f[cd]/.test(ip);
  }
  return false;
}

export { fromHex, toHex };
