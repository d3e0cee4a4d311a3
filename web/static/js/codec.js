// Byte helpers and the canonical protobuf subset of docs/PROTOCOL.md:
// varints, length-delimited fields, hex, base64, base64url and base58btc.

export const utf8 = (s) => new TextEncoder().encode(s);
export const fromUtf8 = (b) => new TextDecoder("utf-8", { fatal: true }).decode(b);

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
export function fromHex(s) {
  if (!/^([0-9a-f]{2})*$/i.test(s)) throw new Error("not hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}

export function toBase64(b) {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
export function fromBase64(s) {
  const bin = atob(s.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
export const toBase64url = (b) => toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
export function fromBase64url(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error("not base64url");
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(std + "===".slice((std.length + 3) % 4));
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function toBase58(b) {
  let zeros = 0;
  while (zeros < b.length && b[zeros] === 0) zeros++;
  const digits = []; // base 58, least significant first
  for (let k = zeros; k < b.length; k++) {
    let carry = b[k];
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j] * 256;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry) { digits.push(carry % 58); carry = Math.floor(carry / 58); }
  }
  return "1".repeat(zeros) + digits.reverse().map((d) => B58[d]).join("");
}

export function fromBase58(s) {
  let zeros = 0;
  while (zeros < s.length && s[zeros] === "1") zeros++;
  const bytes = []; // least significant first
  for (let k = zeros; k < s.length; k++) {
    let carry = B58.indexOf(s[k]);
    if (carry < 0) throw new Error("not base58");
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j] * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry) { bytes.push(carry & 0xff); carry >>= 8; }
  }
  return new Uint8Array([...new Array(zeros).fill(0), ...bytes.reverse()]);
}

// uvarint encodes a non-negative integer (a Number up to 2^53, or a BigInt).
export function uvarint(n) {
  const out = [];
  if (typeof n === "bigint") {
    while (n >= 0x80n) { out.push(Number(n & 0x7fn) | 0x80); n >>= 7n; }
    out.push(Number(n));
  } else {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error("bad varint value " + n);
    while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); }
    out.push(n);
  }
  return Uint8Array.from(out);
}

// Writer builds a canonical message: call its methods in ascending field
// order. Zero varints and empty bytes are omitted unless "always" is asked.
export class Writer {
  constructor() { this.parts = []; }
  varint(num, v) {
    if (v === undefined || v === null || v === 0 || v === 0n || v === false) return this;
    if (v === true) v = 1;
    this.parts.push(uvarint(num * 8), uvarint(v));
    return this;
  }
  bytesAlways(num, b) {
    this.parts.push(uvarint(num * 8 + 2), uvarint(b.length), b);
    return this;
  }
  bytes(num, b) {
    if (!b || b.length === 0) return this;
    return this.bytesAlways(num, b);
  }
  string(num, s) { return s ? this.bytes(num, utf8(s)) : this; }
  // key writes a 32-byte key or hash, omitted when absent or all zero.
  key(num, b) {
    if (!b || b.every((x) => x === 0)) return this;
    if (b.length !== 32) throw new Error("a key has 32 bytes");
    return this.bytes(num, b);
  }
  finish() { return concat(...this.parts); }
}

// readVarint returns [value, next offset]; values above 2^53 come as BigInt.
function readVarint(b, i) {
  let v = 0n, shift = 0n, start = i;
  for (;;) {
    if (i >= b.length) throw new Error("truncated varint");
    const x = b[i++];
    v |= BigInt(x & 0x7f) << shift;
    if (!(x & 0x80)) break;
    shift += 7n;
    if (shift > 63n) throw new Error("varint too long");
  }
  if (i - start > 1 && b[i - 1] === 0) throw new Error("non-minimal varint");
  return [v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v, i];
}

// fields decodes a message into {num: [values]}: numbers for varints,
// Uint8Arrays for length-delimited fields. It checks wire types, order and
// truncation; the caller checks what each field means.
export function fields(b) {
  const out = {};
  let i = 0, last = 0;
  while (i < b.length) {
    let tag;
    [tag, i] = readVarint(b, i);
    const num = Math.floor(Number(tag) / 8), wire = Number(tag) % 8;
    if (num === 0) throw new Error("field number 0");
    if (num < last) throw new Error("fields out of order");
    let v;
    if (wire === 0) {
      [v, i] = readVarint(b, i);
    } else if (wire === 2) {
      let n;
      [n, i] = readVarint(b, i);
      if (typeof n !== "number" || i + n > b.length) throw new Error("truncated field");
      v = b.subarray(i, i + n);
      i += n;
    } else {
      throw new Error("wire type " + wire);
    }
    (out[num] ||= []).push(v);
    last = num;
  }
  return out;
}

export const one = (f, num) => (f[num] ? f[num][0] : undefined);

export function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

export async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
}
