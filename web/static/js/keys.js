// The user's ed25519 key: made and used with the browser's WebCrypto,
// kept in localStorage as the text of a Qun key file (standard base64 of
// libp2p's PrivateKey protobuf {Type = 1 (Ed25519), Data = seed || public
// key}), so that it can be exported to and imported from `qun --key FILE`.

import { concat, equal, fromBase64, toBase64, fromBase64url } from "./codec.js";
import { signingInput, peerID } from "./proto.js";

const STORE = "qun.key";
// PKCS#8 wrapping of an Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
// libp2p PrivateKey protobuf: 08 01 (Type = Ed25519) 12 40 (Data, 64 bytes).
const KEYFILE_PREFIX = Uint8Array.from([0x08, 0x01, 0x12, 0x40]);

export class KeyError extends Error {}

// Signer holds a private key; sign(domain, payload) signs SigningBytes(domain, payload).
export class Signer {
  constructor(privateKey, seed, publicKey) {
    this.privateKey = privateKey;
    this.seed = seed;
    this.publicKey = publicKey;
    this.id = peerID(publicKey);
  }
  async sign(domain, payload) {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, this.privateKey, signingInput(domain, payload)));
  }
  // keyFile is the content of a Qun key file for this key.
  keyFile() {
    return toBase64(concat(KEYFILE_PREFIX, this.seed, this.publicKey)) + "\n";
  }
}

let canSign = false;

// detect finds out once whether this browser signs with Ed25519 here
// (WebCrypto exists only on https:// and localhost pages, and older
// browsers lack Ed25519); supported() then answers from memory.
export async function detect() {
  try {
    await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    canSign = true;
  } catch {
    canSign = false;
  }
  return canSign;
}

export function supported() {
  return canSign;
}

// fromSeed imports a 32-byte seed and derives its public key.
export async function fromSeed(seed) {
  const pk = await crypto.subtle.importKey("pkcs8", concat(PKCS8_PREFIX, seed), { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", pk);
  const pub = fromBase64url(jwk.x);
  return new Signer(pk, seed, pub);
}

export async function generate() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  if (pkcs8.length !== 48 || !equal(pkcs8.subarray(0, 16), PKCS8_PREFIX)) throw new KeyError("unexpected PKCS#8 key from the browser");
  const pub = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return new Signer(pair.privateKey, pkcs8.slice(16), pub);
}

// parseKeyFile reads the text of a Qun key file (or a bare base64 line).
export async function parseKeyFile(text) {
  let b;
  try { b = fromBase64(text.trim()); } catch { throw new KeyError("badBase64"); }
  if (b.length !== 68 || !equal(b.subarray(0, 4), KEYFILE_PREFIX)) throw new KeyError("notEd25519");
  const s = await fromSeed(b.slice(4, 36));
  if (!equal(s.publicKey, b.subarray(36))) throw new KeyError("pubMismatch");
  return s;
}

export async function load() {
  const text = localStorage.getItem(STORE);
  if (!text) return null;
  try { return await parseKeyFile(text); } catch { return null; }
}

export function save(signer) { localStorage.setItem(STORE, signer.keyFile()); }
export function forget() { localStorage.removeItem(STORE); }
