// The light-client API of the home node (docs/API.md): a session proved by
// signing a challenge, JSON endpoints, submissions signed here, and the
// WebSocket that pushes a group's events and resumes from a seq.

import { equal, fromBase64, fromBase64url, fromHex, toBase64 } from "./codec.js";
import { DOMAIN, KIND, body, decodeInvite, parsePeerID, peerID, signSubmission, tokenFromLink } from "./proto.js";

// ApiError is a refusal: code (the API's code name) and message (its
// sentence). fromNode says the message is the node's sentence for people;
// otherwise it is a technical detail (a fetch failure, an HTTP status) that
// the page never shows: it shows the translated meaning of the code.
export class ApiError extends Error {
  constructor(code, message, status, fromNode) {
    super(message);
    this.code = code;
    this.status = status || 0;
    this.fromNode = !!fromNode;
  }
}

export class Api {
  constructor(signer, base = "") {
    this.signer = signer;
    this.base = base;
    this.session = null; // {token, expires}
    this.authPending = null;
    const saved = signer && sessionStorage.getItem("qun.session." + signer.id);
    if (saved) { try { this.session = JSON.parse(saved); } catch { /* sign in again */ } }
  }

  // fetchJSON makes one request; a 429 is retried (up to three times) after
  // the Retry-After the node asks for: the node refused it before doing
  // anything, and a submission is retried with the same signed bytes.
  async fetchJSON(method, path, body, auth) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchOnce(method, path, body, auth);
      } catch (e) {
        if (e.code !== "rate_limited" || attempt >= 3) throw e;
        await new Promise((r) => setTimeout(r, (e.retryAfter || 1) * 1000));
      }
    }
  }

  async fetchOnce(method, path, body, auth) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && this.session) headers.Authorization = "Bearer " + this.session.token;
    let resp;
    try {
      resp = await fetch(this.base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
      });
    } catch (e) {
      throw new ApiError("unreachable", String(e.message || e));
    }
    let data = null;
    try { data = await resp.json(); } catch { /* not JSON */ }
    if (!resp.ok) {
      const err = data && data.error;
      const byStatus = { 401: "unauthenticated", 403: "forbidden", 404: "not_found", 413: "too_large", 429: "rate_limited", 503: "unavailable" };
      const e = new ApiError(err ? err.code : byStatus[resp.status] || "internal", err ? err.message : `HTTP ${resp.status}`, resp.status, !!err);
      e.retryAfter = Number(resp.headers.get("Retry-After")) || 0;
      throw e;
    }
    return data;
  }

  // signIn proves the key: challenge, signature, session.
  async signIn() {
    if (!this.signer) throw new ApiError("unauthenticated", "no key");
    if (!this.authPending) {
      this.authPending = (async () => {
        const ch = await this.fetchJSON("POST", "/api/v1/auth/challenge", { user: this.signer.id });
        const challenge = fromBase64(ch.challenge);
        const learned = await this.checkNode(challenge.subarray(0, 32));
        const sig = await this.signer.sign(DOMAIN.auth, challenge);
        const s = await this.fetchJSON("POST", "/api/v1/auth/session", {
          user: this.signer.id, challenge: ch.challenge, signature: toBase64(sig),
        });
        if (learned) localStorage.setItem(this.nodeKey(), learned);
        this.session = { token: s.token, expires: s.expires };
        sessionStorage.setItem("qun.session." + this.signer.id, JSON.stringify(this.session));
      })().finally(() => { this.authPending = null; });
    }
    return this.authPending;
  }

  // checkNode refuses a challenge of another node than the one this origin
  // signed in to before (kept in localStorage), or, the first time, than
  // the one the node says it is; it returns the ID to remember, if new.
  // So a node cannot pass on another node's challenge (docs/API.md).
  nodeKey() { return "qun.node." + (this.base || location.origin); }

  async checkNode(key) {
    let want = localStorage.getItem(this.nodeKey());
    const learned = !want;
    if (learned) want = (await this.node()).peer_id;
    let wantKey = null;
    try { wantKey = parsePeerID(want || ""); } catch { /* refused below */ }
    if (key.length !== 32 || !wantKey || !equal(wantKey, key)) {
      throw new ApiError("node_changed", `this node's identity changed: its challenge is for node ${key.length === 32 ? peerID(key) : "?"}, ` +
        `but this address is node ${want}; nothing was signed`);
    }
    return learned ? want : null;
  }

  async ensureSession() {
    if (this.session && this.session.expires > Date.now() + 60_000) return;
    await this.signIn();
  }

  // call makes a request that needs a session; it signs in when there is
  // none and once more when the node says the session ended.
  async call(method, path, body) {
    await this.ensureSession();
    try {
      return await this.fetchJSON(method, path, body, true);
    } catch (e) {
      if (e.code !== "unauthenticated") throw e;
      this.session = null;
      await this.signIn();
      return this.fetchJSON(method, path, body, true);
    }
  }

  node() { return this.fetchJSON("GET", "/api/v1/node"); }
  // preview sends the session when there is a key: only then does the node
  // ask the host of a group it does not hold.
  preview(token) {
    const path = "/api/v1/invites/preview?token=" + encodeURIComponent(token);
    return this.signer ? this.call("GET", path) : this.fetchJSON("GET", path);
  }
  myGroups() { return this.call("GET", "/api/v1/me/groups"); }
  // The user's profile kept by the home node ({name, bio}, each absent when
  // not set); the page signs the profile events that carry it to groups.
  setInviteRef(gid, id, ref) { return this.call("PUT", `/api/v1/groups/${gid}/invites/${id}/ref`, { ref }); }
  myProfile() { return this.call("GET", "/api/v1/me/profile"); }
  setMyProfile(p) { return this.call("PUT", "/api/v1/me/profile", p); }
  // shortInvite asks the host for a short link of an open invite.
  shortInvite(token) { return this.call("POST", "/api/v1/invites/short", { token }); }
  group(gid) { return this.call("GET", `/api/v1/groups/${gid}`); }
  // merchant calls the merchant API (docs/MERCHANT.md), which takes a node
  // admin's session as its token: merchant("GET", "orders?state=closed").
  merchant(method, path, body) { return this.call(method, "/api/v1/merchant/" + path, body); }
  // merchantFile reads a file of the merchant API (an analytics CSV) as a
  // Blob, with the session.
  async merchantFile(path) {
    const once = async () => {
      let resp;
      try {
        resp = await fetch(this.base + "/api/v1/merchant/" + path, { headers: { Authorization: "Bearer " + this.session.token }, cache: "no-store" });
      } catch (e) {
        throw new ApiError("unreachable", String(e.message || e));
      }
      if (resp.ok) return resp.blob();
      let err = null;
      try { err = (await resp.json()).error; } catch { /* not JSON */ }
      throw new ApiError(err ? err.code : resp.status === 401 ? "unauthenticated" : "internal", err ? err.message : `HTTP ${resp.status}`, resp.status, !!err);
    };
    await this.ensureSession();
    try {
      return await once();
    } catch (e) {
      if (e.code !== "unauthenticated") throw e;
      this.session = null;
      await this.signIn();
      return once();
    }
  }
  eventsBefore(gid, before, limit) { return this.call("GET", `/api/v1/groups/${gid}/events?before=${before}&limit=${limit}`); }
  eventsFrom(gid, from, limit) { return this.call("GET", `/api/v1/groups/${gid}/events?from=${from}&limit=${limit}`); }

  // submitRaw posts signed bytes; after a network failure it retries the
  // same bytes (the host sequences them once).
  async submitRaw(raw, hostAddrs) {
    const body = { submission: toBase64(raw) };
    if (hostAddrs && hostAddrs.length) body.host_addrs = hostAddrs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call("POST", "/api/v1/submit", body);
      } catch (e) {
        if (e.code !== "unreachable" || attempt >= 2) throw e;
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
  }

  // submit signs a submission of kind with body bytes for group (null for create).
  async submit(kind, group, bodyBytes, hostAddrs) {
    const { raw } = await signSubmission(this.signer, { group, kind, body: bodyBytes });
    return this.submitRaw(raw, hostAddrs);
  }

  // joinInvite joins (or, kind join_request, asks to join) the group of an
  // invite token or link, through the host addresses the invite carries.
  // It answers the submission's answer (resp.group is the group's ID).
  joinInvite(token, kind = KIND.join, note = "") {
    const inv = decodeInvite(token);
    const raw = fromBase64url(tokenFromLink(token));
    return this.submit(kind, fromHex(inv.group), body.join(raw, kind === KIND.join_request ? note : ""), inv.addrs);
  }

  // Private conversations (docs/API.md): a signed contact is sent through
  // the home node; the requests and offers kept for the user are listed
  // and dismissed.
  sendContact(raw) { return this.call("POST", "/api/v1/contacts", { offer: toBase64(raw) }); }
  myContacts() { return this.call("GET", "/api/v1/me/contacts"); }
  dismissContact(id) { return this.call("DELETE", `/api/v1/me/contacts/${id}`); }

  // upload sends a file (a File or Blob) to the home node for a message:
  // POST /api/v1/blobs?name=NAME with the bytes as the body. onProgress
  // gets the fraction sent (0..1). It returns {promise, abort}: the promise
  // gives the attachment ({hash, mime, size, width, height, name, thumb})
  // or fails with an ApiError (code "canceled" after abort). purpose
  // "avatar" has the node check it as a profile's avatar (?for=avatar).
  upload(file, name, onProgress, purpose) {
    const xhr = new XMLHttpRequest();
    let aborted = false;
    const query = purpose === "avatar" ? "?for=avatar" : "?name=" + encodeURIComponent(name);
    const once = () => new Promise((resolve, reject) => {
      xhr.open("POST", this.base + "/api/v1/blobs" + query);
      xhr.setRequestHeader("Authorization", "Bearer " + this.session.token);
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      xhr.responseType = "text";
      xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
      xhr.onerror = () => reject(new ApiError("unreachable", "upload failed"));
      xhr.onabort = () => reject(new ApiError("canceled", "upload canceled"));
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 200 && data && data.hash) return resolve(data);
        const err = data && data.error;
        const byStatus = { 401: "unauthenticated", 403: "forbidden", 413: "too_large", 429: "rate_limited", 503: "unavailable" };
        reject(new ApiError(err ? err.code : byStatus[xhr.status] || "internal", err ? err.message : `HTTP ${xhr.status}`, xhr.status, !!err));
      };
      xhr.send(file);
    });
    const promise = (async () => {
      await this.ensureSession();
      if (aborted) throw new ApiError("canceled", "upload canceled");
      try {
        return await once();
      } catch (e) {
        if (e.code !== "unauthenticated" || aborted) throw e;
        this.session = null;
        await this.signIn();
        return once();
      }
    })();
    return { promise, abort: () => { aborted = true; xhr.abort(); } };
  }

  // blobURL is where a group's image or file is, usable as an <img src>
  // or a download link (the session token in the query); name sets the
  // file name of a download.
  blobURL(gid, hash, name) {
    let u = `${this.base}/api/v1/groups/${gid}/blobs/${hash}?token=${encodeURIComponent(this.session ? this.session.token : "")}`;
    if (name) u += "&name=" + encodeURIComponent(name);
    return u;
  }

  wsURL() {
    const u = new URL(this.base || location.href);
    return (u.protocol === "https:" ? "wss://" : "ws://") + u.host + "/api/v1/ws?token=" +
      encodeURIComponent(this.session ? this.session.token : "");
  }
}

// Live keeps one WebSocket open while the page is signed in, and one
// subscription per group on it, shared by every listener of the group (the
// open chat, the list of groups). Each subscription has a next seq, and each
// listener its own: after a reconnect the page subscribes again from there,
// so nothing is missed, and a listener never gets an event twice.
//
// When the socket drops (the node restarts, the network goes), it tries
// again after 0.5 s, doubling to 10 s, with jitter, and at once when the
// browser comes back online. Before each new socket it runs the probe (the
// list of groups): a request that needs the session, so a session the node
// no longer knows (sessions live in the node's memory) is replaced by a new
// sign-in, transparently, before the socket is opened with its token.
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 10_000;
const PING_MS = 25_000;

export class Live {
  constructor(api, onStatus) {
    this.api = api;
    this.onStatus = onStatus || (() => {});
    this.subs = new Map(); // gid -> {next, pending, listeners: Set<{next, onEvent, onError, onEnded}>}
    this.acks = new Map(); // gid -> seq, acks to send once the socket is open
    this.ws = null;
    this.closed = false;
    this.connecting = false;
    this.backoff = BACKOFF_MIN;
    this.timer = null;
    this.pinger = null;
    this.status = "idle";
    this.membership = new Set(); // functions called with each membership push
    this.contacts = new Set(); // functions called with each contact push
    this.probe = () => this.api.call("GET", "/api/v1/me/groups");
    this.needProbe = false;
    this.onOnline = () => this.soon();
    this.onVisible = () => { if (document.visibilityState === "visible") this.soon(); };
    window.addEventListener("online", this.onOnline);
    document.addEventListener("visibilitychange", this.onVisible);
  }

  setStatus(s) { if (s !== this.status) { this.status = s; this.onStatus(s); } }

  // start opens the socket now; probe (async) is run before every new socket.
  start(probe) {
    if (probe) this.probe = probe;
    this.needProbe = true;
    this.connect();
  }

  // subscribe adds a listener for gid's events from seq from on; it
  // returns the listener, for unsubscribe.
  subscribe(gid, from, handlers) {
    const l = { next: from, ...handlers };
    let s = this.subs.get(gid);
    if (!s) {
      s = { next: from, pending: 0, listeners: new Set([l]) };
      this.subs.set(gid, s);
      this.sendSub(gid, s);
    } else {
      s.listeners.add(l);
      // The subscription is past what this listener wants: the node sends
      // again from there (the other listeners skip what they have).
      if (from < s.next) { s.next = from; this.sendSub(gid, s); }
    }
    this.connect();
    return l;
  }

  // watchMembership calls f with every {"type": "membership", group,
  // change, head} the node pushes: what an event of any group did to the
  // user (approve, reject, role, mute, unmute, kick, ban), subscribed to
  // that group or not. It returns the function that stops it.
  watchMembership(f) {
    this.membership.add(f);
    return () => this.membership.delete(f);
  }

  // watchContacts calls f with the ContactView of every {"type":
  // "contact", contact} the node pushes: a request or an offer of a
  // private conversation that just arrived for the user. It returns the
  // function that stops it.
  watchContacts(f) {
    this.contacts.add(f);
    return () => this.contacts.delete(f);
  }

  unsubscribe(gid, l) {
    const s = this.subs.get(gid);
    if (!s || !s.listeners.delete(l) || s.listeners.size) return;
    this.subs.delete(gid);
    this.send({ type: "unsubscribe", group: gid });
  }

  ack(gid, seq) {
    if (!this.send({ type: "ack", group: gid, seq })) this.acks.set(gid, Math.max(this.acks.get(gid) || 0, seq));
  }

  send(m) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(m));
    return true;
  }

  // sendSub (re)subscribes: until the node confirms, events of gid are of
  // the subscription it replaces, and are ignored.
  sendSub(gid, s) {
    if (this.send({ type: "subscribe", group: gid, from: s.next })) s.pending++;
  }

  async connect() {
    if (this.closed || this.ws || this.timer || this.connecting) return;
    this.connecting = true;
    if (this.status === "idle") this.setStatus("connecting");
    try {
      if (this.needProbe) await this.probe();
      else await this.api.ensureSession();
      this.needProbe = false;
    } catch (e) {
      this.connecting = false;
      this.needProbe = true;
      this.retry();
      return;
    }
    this.connecting = false;
    if (this.closed || this.ws || this.timer) return;
    const ws = new WebSocket(this.api.wsURL());
    this.ws = ws;
    let openedAt = 0;
    ws.onopen = () => {
      openedAt = Date.now();
      this.setStatus("live");
      for (const [gid, s] of this.subs) { s.pending = 0; this.sendSub(gid, s); }
      for (const [gid, seq] of this.acks) this.send({ type: "ack", group: gid, seq });
      this.acks.clear();
      this.awaitingPong = false;
      this.pinger = setInterval(() => {
        // No answer since the last ping: the connection is dead.
        if (this.awaitingPong) { this.drop(ws, { code: 1006 }, openedAt); ws.close(); return; }
        this.awaitingPong = this.send({ type: "ping" });
      }, PING_MS);
    };
    ws.onmessage = (m) => {
      this.awaitingPong = false;
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      this.onMessage(msg);
    };
    ws.onclose = (ev) => this.drop(ws, ev, openedAt);
  }

  onMessage(msg) {
    if (msg.type === "membership" && msg.group) {
      for (const f of [...this.membership]) guard(() => f(msg));
      return;
    }
    if (msg.type === "contact" && msg.contact) {
      for (const f of [...this.contacts]) guard(() => f(msg.contact));
      return;
    }
    const s = msg.group ? this.subs.get(msg.group) : null;
    if (!s) return;
    if (msg.type === "subscribed") {
      if (s.pending > 0) s.pending--;
    } else if (msg.type === "event" && msg.event) {
      const seq = msg.event.seq;
      if (s.pending > 0 || seq < s.next) return; // of a replaced subscription, or already had
      s.next = seq + 1;
      for (const l of [...s.listeners]) {
        if (seq < l.next) continue;
        l.next = seq + 1;
        guard(() => l.onEvent(msg.event));
      }
    } else if (msg.type === "ended") {
      // The user may no longer read the group: nothing more comes, and
      // it is not subscribed again after a reconnect.
      this.subs.delete(msg.group);
      for (const l of s.listeners) if (l.onEnded) guard(() => l.onEnded(msg));
    } else if (msg.type === "status") {
      // The group's condition: forked, quarantined, recovering, or ok again.
      for (const l of s.listeners) if (l.onStatus) guard(() => l.onStatus(msg));
    } else if (msg.type === "error") {
      if (s.pending > 0) s.pending--; // the subscribe was refused
      for (const l of s.listeners) if (l.onError) guard(() => l.onError(msg));
    }
  }

  // drop forgets the socket ws after it closed (or died), and tries again.
  drop(ws, ev, openedAt) {
    if (this.ws !== ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    clearInterval(this.pinger);
    this.ws = null;
    if (this.closed) return;
    if (ev.code === 4001) this.api.session = null; // session expired: sign in again
    // A socket that lived a while starts the backoff over; one that
    // failed at once (or was refused) keeps doubling it.
    if (openedAt && Date.now() - openedAt > 5_000) this.backoff = BACKOFF_MIN;
    this.needProbe = true;
    this.retry();
  }

  retry() {
    if (this.closed || this.timer) return;
    this.setStatus("reconnecting");
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.timer = setTimeout(() => { this.timer = null; this.connect(); }, delay);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
  }

  // soon tries again now (the browser is online again, the tab visible).
  soon() {
    if (this.closed || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.backoff = BACKOFF_MIN;
    this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    window.removeEventListener("online", this.onOnline);
    document.removeEventListener("visibilitychange", this.onVisible);
    if (this.ws) {
      const ws = this.ws;
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.close(1000);
    }
    this.ws = null;
  }
}

// guard runs a listener; its exception does not stop the others (it is
// thrown again on its own, so it still shows in the console).
function guard(f) {
  try { f(); } catch (e) { setTimeout(() => { throw e; }); }
}
