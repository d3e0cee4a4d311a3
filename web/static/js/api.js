// The light-client API of the home node (docs/API.md): a session proved by
// signing a challenge, JSON endpoints, submissions signed here, and the
// WebSocket that pushes a group's events and resumes from a seq.

import { equal, fromBase64, toBase64 } from "./codec.js";
import { DOMAIN, parsePeerID, peerID, signSubmission } from "./proto.js";

// ApiError is a refusal: code (the API's code name) and message (its sentence).
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status || 0;
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
      const e = new ApiError(err ? err.code : byStatus[resp.status] || "internal", err ? err.message : `HTTP ${resp.status}`, resp.status);
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
  group(gid) { return this.call("GET", `/api/v1/groups/${gid}`); }
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

  wsURL() {
    const u = new URL(this.base || location.href);
    return (u.protocol === "https:" ? "wss://" : "ws://") + u.host + "/api/v1/ws?token=" +
      encodeURIComponent(this.session ? this.session.token : "");
  }
}

// Live keeps one WebSocket open and a subscription per group. Each
// subscription has a next seq; after a reconnect it subscribes again from
// there, so nothing is missed and nothing is shown twice.
export class Live {
  constructor(api, onStatus) {
    this.api = api;
    this.onStatus = onStatus || (() => {});
    this.subs = new Map(); // gid -> {next, onEvent, onError, onEnded}
    this.ws = null;
    this.closed = false;
    this.backoff = 500;
    this.timer = null;
    this.pinger = null;
    this.status = "idle";
  }

  setStatus(s) { if (s !== this.status) { this.status = s; this.onStatus(s); } }

  subscribe(gid, next, onEvent, onError, onEnded) {
    this.subs.set(gid, { next, onEvent, onError, onEnded });
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendSub(gid);
    else this.connect();
  }

  unsubscribe(gid) {
    if (!this.subs.delete(gid)) return;
    this.send({ type: "unsubscribe", group: gid });
  }

  ack(gid, seq) { this.send({ type: "ack", group: gid, seq }); }

  send(m) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  sendSub(gid) {
    const s = this.subs.get(gid);
    this.send({ type: "subscribe", group: gid, from: s.next });
  }

  async connect() {
    if (this.closed || this.ws || this.timer) return;
    if (this.status === "idle") this.setStatus("connecting");
    try {
      await this.api.ensureSession();
    } catch (e) {
      this.retry();
      return;
    }
    if (this.closed || this.ws) return;
    const ws = new WebSocket(this.api.wsURL());
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 500;
      this.setStatus("live");
      for (const gid of this.subs.keys()) this.sendSub(gid);
      this.pinger = setInterval(() => this.send({ type: "ping" }), 25_000);
    };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      const s = this.subs.get(msg.group);
      if (msg.type === "event" && s && msg.event) {
        if (msg.event.seq < s.next) return; // already shown
        s.next = msg.event.seq + 1;
        s.onEvent(msg.event);
      } else if (msg.type === "ended" && s) {
        // The user may no longer read the group: nothing more comes, and
        // it is not subscribed again after a reconnect.
        this.subs.delete(msg.group);
        if (s.onEnded) s.onEnded(msg);
      } else if (msg.type === "error" && s && s.onError) {
        s.onError(msg);
      }
    };
    ws.onclose = (ev) => {
      clearInterval(this.pinger);
      this.ws = null;
      if (this.closed) return;
      if (ev.code === 4001) this.api.session = null; // session expired: sign in again
      this.setStatus("reconnecting");
      this.retry();
    };
  }

  retry() {
    if (this.closed || this.timer) return;
    this.setStatus("reconnecting");
    this.timer = setTimeout(() => { this.timer = null; this.connect(); }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, 10_000);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }
}
