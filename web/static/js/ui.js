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

// fmtSize shows a number of bytes as B, KB or MB.
export function fmtSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.max(1, Math.round(n / 1024))} KB`;
  const mb = n / (1024 * 1024);
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

// confirmDialog asks once before a destructive action: a dialog of the
// page with the question, a cancel and a confirm button. It resolves true
// when confirmed; Esc, a tap outside or cancel resolve false.
export function confirmDialog(question, confirmLabel) {
  const old = document.getElementById("confirm-dialog");
  if (old) old.remove();
  return new Promise((resolve) => {
    const done = (v) => { back.remove(); resolve(v); };
    const ok = h("button", { type: "button", id: "btn-confirm-ok", class: "danger", onclick: () => done(true) }, confirmLabel);
    const cancel = h("button", { type: "button", id: "btn-confirm-cancel", onclick: () => done(false) }, t("common.cancel"));
    const back = h("div", {
      class: "backdrop", id: "confirm-dialog",
      onclick: (e) => { if (e.target === back) done(false); },
      onkeydown: (e) => { if (e.key === "Escape") done(false); },
    }, h("div", { class: "sheet", role: "alertdialog", "aria-modal": "true", "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, question),
      h("div", { class: "row" }, h("span", { class: "spacer" }), cancel, ok)));
    document.body.append(back);
    cancel.focus();
  });
}

// attachmentsLabel is a line for a message's images and files where only
// text fits (a quote, the list of groups, a notification): "[Image]",
// "[2 images]", "[File] invoice.pdf".
export function attachmentsLabel(list) {
  if (!list || !list.length) return "";
  const images = list.filter((a) => /^image\/(jpeg|png|webp|gif)$/.test(a.mime));
  const files = list.filter((a) => !images.includes(a));
  const parts = [];
  if (images.length) parts.push(images.length === 1 ? t("chat.label.image") : t("chat.label.images", { n: images.length }));
  if (files.length) parts.push(t("chat.label.file", { name: files.map((a) => a.name || "").join(", ") }));
  return parts.join(" ");
}
