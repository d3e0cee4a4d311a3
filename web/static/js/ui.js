// Small DOM helpers shared by the screens. Text always goes in through
// textContent (never innerHTML), so nothing a member writes becomes markup.

import { t, lang } from "./i18n.js";

const PROPS = new Set(["value", "checked", "disabled", "selected", "readOnly", "hidden"]);

// h creates an element: h("button", {class: "x", onclick: f}, "text", child…).
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// short shows a user ID as its last six characters.
export const short = (id) => (id ? "…" + id.slice(-6) : "");

// errorText turns a refusal into one readable line: the node's sentence,
// with the translated meaning of its code first when the page is not English.
// Only the node's own sentences are shown: a fetch or dial failure, an HTTP
// status without the node's error body, or an exception of the page shows
// as the translated sentence of its code.
export function errorText(e) {
  if (!e) return "";
  if (!e.code) return t("err.client");
  const code = e.code;
  if (code === "unreachable") return t("err.unreachable");
  if (e instanceof Error && !e.fromNode) return t("err." + code, {}, t("err.internal"));
  const msg = e.message || "";
  if (lang === "en") return msg ? sentence(msg) : t("err." + code, {}, t("err.internal"));
  const label = t("err." + code, {}, "");
  return label ? (msg ? `${label}（${msg}）` : label) : msg;
}

// sentence capitalises a message and ends it with a full stop.
function sentence(s) {
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?。！？]$/.test(s) ? s : s + ".";
}

// statusLine is a line that shows an error (role=alert) or a note.
export function statusLine(id) {
  const el = h("p", { id, class: "status", role: "status", "aria-live": "polite" });
  el.show = (text, kind = "error") => {
    el.code = "";
    el.textContent = text || "";
    el.className = "status " + (text ? kind : "");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
  };
  el.error = (e) => { el.show(errorText(e), "error"); el.code = (e && e.code) || "internal"; };
  el.ok = (text) => el.show(text, "ok");
  el.clear = () => el.show("");
  // clearIf clears the line when it shows an error of one of codes.
  el.clearIf = (...codes) => { if (el.className.includes("error") && codes.includes(el.code)) el.clear(); };
  return el;
}

const formats = new Map();
function dtf(name, opts) {
  const k = lang + name;
  if (!formats.has(k)) formats.set(k, new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en", opts));
  return formats.get(k);
}

export const fmtTime = (ms) => dtf("t", { hour: "2-digit", minute: "2-digit" }).format(new Date(ms));
export const fmtDateTime = (ms) => dtf("dt", { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(new Date(ms));

// busy disables a button while an action runs.
export async function busy(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } finally {
    if (button) button.disabled = false;
  }
}

// colorOf gives a stable hue for a user ID.
export function hueOf(id) {
  let x = 0;
  for (const c of id || "") x = (x * 31 + c.charCodeAt(0)) >>> 0;
  return x % 360;
}

export function copyText(text) {
  if (navigator.clipboard) return navigator.clipboard.writeText(text).catch(() => {});
  return Promise.resolve();
}
