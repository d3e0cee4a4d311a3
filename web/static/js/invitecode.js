// Invite text codes: the handle and host of a short invite link
// (https://HOST/j/HANDLE) written as a line a person can type or paste
// where an app blocks links: "群口令 Ab3dE9xK @ shop.example:7780". The
// join box takes such a line, a short link, a full link or a bare token;
// a handle is resolved by its host (GET /api/v1/invites/short/HANDLE),
// which is what opening the short link does, and the token it gives is
// checked like any other.

import { Api } from "./api.js";
import { tokenFromLink } from "./proto.js";

// A handle: 8 characters of the base58 alphabet (node/shortinvite.go).
const HANDLE = "[1-9A-HJ-NP-Za-km-z]{8}";
const SHORT_LINK = new RegExp(`^(https?:)//([^/\\s?#]+)/j/(${HANDLE})/?$`);
const TEXT_CODE = new RegExp(`(?<![0-9A-Za-z])(${HANDLE})\\s*@\\s*([0-9A-Za-z.\\-\\[\\]:]+)`);

// textCode returns the text code of a short link, or "" for any other link.
export function textCode(link, prefix) {
  const m = SHORT_LINK.exec((link || "").trim());
  return m ? `${prefix} ${m[3]} @ ${m[2]}` : "";
}

// parseInvite reads what a person pasted: {handle, host, scheme} for a text
// code or a short link (scheme "" when the code does not say), else
// {token} (possibly empty).
export function parseInvite(text) {
  // Full-width letters, digits, "@" and ":" from an input method become ASCII.
  const s = (text || "").normalize("NFKC").trim();
  let m = SHORT_LINK.exec(s);
  if (m) return { handle: m[3], host: m[2].toLowerCase(), scheme: m[1] };
  if (!/^https?:\/\//.test(s) && (m = TEXT_CODE.exec(s))) {
    const host = m[2].replace(/[.:]+$/, "").toLowerCase();
    if (validHost(host)) return { handle: m[1], host, scheme: "" };
  }
  return { token: tokenFromLink(s) };
}

function validHost(host) {
  try { return new URL("http://" + host).host === host.replace(/:80$/, ""); } catch { return false; }
}

// ResolveError says why a handle gave no token: "unreachable" (the host
// did not answer) or the host's refusal (its code, e.g. invite_unknown).
export class ResolveError extends Error {
  constructor(code, host, cause) {
    super(code);
    this.code = code;
    this.host = host;
    this.cause = cause;
  }
}

// resolveHandle asks the host of a handle for the invite token. Without a
// scheme it tries the page's own first (an https page cannot read http).
export async function resolveHandle({ handle, host, scheme }) {
  const own = location.protocol;
  const schemes = scheme ? [scheme] : own === "https:" ? ["https:"] : ["http:", "https:"];
  let last = null;
  for (const sc of schemes) {
    const base = sc === own && host === location.host ? "" : `${sc}//${host}`;
    try {
      const r = await new Api(null, base).fetchJSON("GET", "/api/v1/invites/short/" + handle);
      if (r && typeof r.token === "string" && r.token) return r.token;
      last = new ResolveError("internal", host);
    } catch (e) {
      if (e.code !== "unreachable") throw new ResolveError(e.code || "internal", host, e);
      last = new ResolveError("unreachable", host, e);
    }
  }
  throw last;
}

// inviteToken returns the token of what a person pasted, resolving a text
// code or a short link through its host.
export async function inviteToken(text) {
  const p = parseInvite(text);
  return p.handle ? resolveHandle(p) : p.token;
}
