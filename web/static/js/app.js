// The web client: boot, routing, the key screens, the list of groups, the
// create-group form and the invite preview. The chat and the management
// panel are in chat.js and manage.js.

import { t, lang, setLang } from "./i18n.js";
import { h, clear, short, statusLine, busy, fmtDateTime, fmtTime, errorText } from "./ui.js";
import * as keys from "./keys.js";
import { Api, Live } from "./api.js";
import { KIND, body, decodeInvite, verifyInvite, tokenFromLink, parsePeerID } from "./proto.js";
import { inviteToken, ResolveError } from "./invitecode.js";
import { GroupScreen } from "./chat.js";
import { ProfileSync, profileCard } from "./names.js";
import { Inbox, notificationSupport, notificationsOn, enableNotifications, disableNotifications } from "./inbox.js";
import { Contacts, contactsCard } from "./contacts.js";
import { profileScreen, shopLink } from "./directory.js";
import { shopScreen, shopEntry } from "./shop.js";

const app = {
  signer: null,
  api: null,
  live: null,
  node: null,
  inbox: null,
  contacts: null, // the requests and offers of private conversations (contacts.js)
  flash: null, // a line the next group screen shows once (contacts.js)
  profiles: null, // the user's profile, carried to their groups (names.js)
  screen: null, // the open GroupScreen, if any
  cleanup: null, // what the current screen stops when another one comes
  title: "Qun", // the page's title, without the unread count
  liveWatchers: new Set(), // functions called with the connection's status
};

// setTitle sets the page's title; the unread count goes before it: "(3) Qun".
app.setTitle = (title) => {
  app.title = title;
  updateTitle();
};

function updateTitle() {
  const n = (app.inbox ? app.inbox.total() : 0) + (app.contacts ? app.contacts.count() : 0);
  document.title = (n ? `(${n > 99 ? "99+" : n}) ` : "") + app.title;
}

const root = document.getElementById("app");

function topbar() {
  const s = app.live ? app.live.status : "idle";
  const status = h("span", { id: "conn", class: "conn " + (app.live ? s : ""), title: t("conn." + s) });
  // While the WebSocket is down, one line says so; it goes when it is back.
  const line = h("p", { id: "conn-line", class: "conn-line", role: "status", "aria-live": "polite", hidden: s !== "reconnecting" }, t("conn.reconnecting"));
  return h("header", { class: "topbar" },
    line,
    h("a", { href: "/#/", class: "brand" }, "Qun 群"),
    status,
    h("span", { class: "spacer" }),
    app.signer ? h("a", { href: "/#/me", id: "me", class: "me", title: app.signer.id }, meText()) : null,
    h("button", { class: "link lang", onclick: () => { setLang(lang === "zh" ? "en" : "zh"); route(); } }, lang === "zh" ? "EN" : "中文"),
  );
}

// meText is the topbar's link to the "me" screen: the user's name, else
// their short ID.
function meText() {
  const p = app.profiles && app.profiles.profile;
  return t("nav.me", { id: (p && p.name) || short(app.signer.id) });
}

app.onProfile = () => {
  const el = document.getElementById("me");
  if (el) el.textContent = meText();
};

function page(...content) {
  dropSide();
  clear(root, topbar(), h("main", { class: "page" }, ...content));
}

// The desktop layout: at 900 px and wider the list of groups stays on the
// left and the open group, the manage panel, a form or a hint fills the
// right. The list stays mounted from one route to the next, so its scroll
// position (and a tap under way) survive a switch of group.
const wide = window.matchMedia("(min-width: 900px)");
let side = null; // the list beside the pane: {el, pane, stop, mark, lang, inbox}

// splitPage shows content on the right of the list of groups on a wide
// screen; on a narrow one it shows it alone, as page does.
function splitPage(...content) {
  if (!wide.matches || !app.inbox) return page(...content);
  if (!side || side.lang !== lang || side.inbox !== app.inbox || !root.contains(side.el)) {
    dropSide();
    const list = groupsList();
    side = {
      el: h("aside", { class: "side", id: "side", "aria-label": t("groups.title") }, list.els),
      pane: h("section", { class: "pane", id: "pane" }),
      stop: list.stop, mark: list.mark, lang, inbox: app.inbox,
    };
    root.classList.add("split");
    clear(root, topbar(), h("main", { class: "page split" }, side.el, side.pane));
  }
  clear(side.pane, ...content);
  side.mark();
}

function dropSide() {
  if (side) side.stop();
  side = null;
  root.classList.remove("split");
}

function onLiveStatus(s) {
  const el = document.getElementById("conn");
  if (el) { el.className = "conn " + s; el.title = t("conn." + s); }
  const line = document.getElementById("conn-line");
  if (line) line.hidden = s !== "reconnecting";
  for (const f of [...app.liveWatchers]) f(s);
}

async function setSigner(signer) {
  if (app.live) app.live.close();
  if (app.inbox) app.inbox.close();
  if (app.contacts) app.contacts.close();
  if (app.profiles) app.profiles.close();
  app.signer = signer;
  app.profiles = signer ? new ProfileSync(app) : null;
  app.api = new Api(signer);
  app.live = signer ? new Live(app.api, onLiveStatus) : null;
  app.inbox = signer ? new Inbox(app) : null;
  app.contacts = signer ? new Contacts(app) : null;
  if (signer) {
    app.inbox.watch(updateTitle);
    app.contacts.watch(updateTitle);
    // A group joined or approved (or a profile changed elsewhere) gets
    // the user's profile.
    const profiles = app.profiles;
    app.inbox.watch(() => { if (app.inbox.loaded) profiles.ensureSoon(() => app.inbox.list()); });
    profiles.load().then(app.onProfile).catch(() => { /* shown on the "me" screen */ });
    // Before every new WebSocket: the list of groups (and a new session
    // if the node forgot the old one), then the requests and offers of
    // private conversations (what was pushed while the socket was down).
    const contacts = app.contacts;
    app.live.start(() => app.inbox.refresh().then(() => { contacts.refresh().catch(() => { /* the next reconnect reads them */ }); }));
    // What an event did to the user (approved, removed, muted, a new
    // role), pushed by the node for any group: the list of groups is read
    // again at once (the open chat reads its group itself).
    const inbox = app.inbox;
    app.live.watchMembership(() => inbox.refresh().catch(() => { /* the next reconnect reads it */ }));
  }
  updateTitle();
}

// ---- routing

// joinToken returns the invite token of /join#TOKEN or /join/TOKEN, or "".
function joinToken() {
  if (location.pathname === "/join") return location.hash.slice(1);
  if (location.pathname.startsWith("/join/")) return tokenFromLink(location.pathname);
  return "";
}

export function go(hash) {
  if (location.pathname !== "/") history.pushState(null, "", "/" + hash);
  else if (location.hash !== hash) { location.hash = hash; return; }
  route();
}

let routeGen = 0; // counts the routes taken: a screen that waited knows whether it is still shown

async function route() {
  routeGen++;
  if (app.screen) { app.screen.close(); app.screen = null; }
  if (app.cleanup) { app.cleanup(); app.cleanup = null; }
  if (app.inbox) app.inbox.setOpen(null);
  app.setTitle("Qun");
  const token = joinToken();
  if (!keys.supported()) return page(h("p", { class: "status error", id: "no-crypto" }, t("key.unsupported")));
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  // The shop's profile is for anyone; joining from it asks for a key.
  if (parts[0] === "p" && !token) return profileScreen(app, { page, keySetup: () => keySetup(""), openJoin });
  if (!app.signer) return keySetup(token);
  if (token) return joinScreen(token);
  switch (parts[0]) {
    case "me": case "key": return keyScreen();
    case "new": return createScreen();
    case "shop": return shopScreen(app, parts.slice(1), { page: splitPage });
    case "g":
      if (/^[0-9a-f]{64}$/.test(parts[1] || "")) {
        app.screen = new GroupScreen(app, parts[1], parts[2] === "manage" ? "manage" : "chat");
        splitPage(app.screen.el);
        return app.screen.open();
      }
      break;
  }
  return groupsScreen();
}

// ---- key setup and key screen

function keySetup(token) {
  const status = statusLine("key-status");
  const text = h("textarea", { id: "key-import-text", rows: 3, placeholder: t("key.pastePlaceholder"), spellcheck: "false", autocomplete: "off" });
  const file = h("input", { type: "file", id: "key-import-file", accept: ".key,.txt,text/plain" });
  file.addEventListener("change", async () => { if (file.files[0]) text.value = await file.files[0].text(); });
  const use = async (signer) => { keys.save(signer); await setSigner(signer); route(); };
  page(
    h("section", { class: "card", id: "key-setup" },
      h("h1", {}, t("key.welcome")),
      h("p", {}, t(token ? "key.introJoin" : "key.intro")),
      h("button", {
        id: "btn-new-key", class: "primary",
        onclick: (e) => busy(e.target, async () => {
          try { await use(await keys.generate()); } catch (err) { status.show(t("key.genFailed", { why: err.message })); }
        }),
      }, t("key.create")),
      h("h2", {}, t("key.importTitle")),
      h("p", { class: "hint" }, t("key.importHint")),
      text,
      h("div", { class: "row" }, h("label", { class: "file" }, t("key.chooseFile"), file),
        h("button", {
          id: "btn-import-key",
          onclick: (e) => busy(e.target, async () => {
            try { await use(await keys.parseKeyFile(text.value)); } catch (err) {
              status.show(err instanceof keys.KeyError ? t("key.bad." + err.message) : t("key.bad.notEd25519"));
            }
          }),
        }, t("key.import"))),
      status,
    ),
  );
}

function keyScreen() {
  const s = app.signer;
  const keyText = h("textarea", { id: "key-export-text", rows: 3, readOnly: true, hidden: true, spellcheck: "false" }, s.keyFile().trim());
  const url = URL.createObjectURL(new Blob([s.keyFile()], { type: "text/plain" }));
  let armed = false;
  const forget = h("button", {
    id: "btn-forget", class: "danger",
    onclick: () => {
      if (!armed) { armed = true; forget.textContent = t("key.forgetConfirm"); return; }
      keys.forget();
      setSigner(null).then(() => go("#/"));
    },
  }, t("key.forget"));
  page(profileCard(app), h("section", { class: "card" },
    h("h1", {}, t("key.yours")),
    h("p", { class: "hint" }, t("key.idHint")),
    h("code", { id: "my-id", class: "id" }, s.id),
    app.node ? h("p", { class: "hint" }, t("key.nodeIs", { id: short(app.node.peer_id) }),
      app.node.admins.includes(s.id) ? h("strong", { class: "badge" }, t("key.nodeAdmin")) : null) : null,
    h("h2", {}, t("key.exportTitle")),
    h("p", { class: "hint" }, t("key.exportHint")),
    h("div", { class: "row" },
      h("a", { class: "button", href: url, download: "qun-user.key", id: "btn-download-key" }, t("key.download")),
      h("button", { id: "btn-show-key", onclick: () => { keyText.hidden = !keyText.hidden; } }, t("key.show"))),
    keyText,
    notifySection(),
    h("h2", {}, t("key.other")),
    h("p", { class: "hint" }, t("key.forgetHint")),
    forget,
  ));
}

// notifySection turns the browser's notifications on and off; the browser
// asks for the permission on this click only.
function notifySection() {
  const status = statusLine("notify-status");
  const box = h("div", { id: "notify" });
  const fill = () => {
    const p = notificationSupport();
    const on = notificationsOn();
    clear(box,
      h("h2", {}, t("key.notifyTitle")),
      h("p", { class: "hint" }, t("key.notifyHint")),
      p === "unsupported" ? h("p", { class: "hint", id: "notify-state" }, t("key.notifyUnsupported")) :
        p === "denied" ? h("p", { class: "hint", id: "notify-state" }, t("key.notifyDenied")) :
          h("div", { class: "row" },
            h("span", { id: "notify-state", class: "grow" }, t(on ? "key.notifyOn" : "key.notifyOff")),
            h("button", {
              id: on ? "btn-notify-off" : "btn-notify-on",
              onclick: (e) => busy(e.target, async () => {
                status.clear();
                if (on) disableNotifications();
                else if ((await enableNotifications()) !== "granted") status.show(t("key.notifyDenied"), "error");
                fill();
              }),
            }, t(on ? "key.notifyDisable" : "key.notifyEnable"))),
      status);
  };
  fill();
  return box;
}

// ---- my groups

// On a phone the list of groups is a screen of its own; on a wide screen
// it is beside (splitPage) and the right side says what to do.
function groupsScreen() {
  if (wide.matches) return splitPage(h("div", { class: "pane-hint", id: "pane-hint" }, h("p", {}, t("split.hint"))));
  const g = groupsList();
  page(g.els);
  app.cleanup = g.stop;
}

// groupsList is the list of groups and the form that opens an invite link.
// The list follows the inbox (inbox.js): each group's last message, its
// time and the unread messages change live, until stop; mark shows which
// group is open.
function groupsList() {
  const list = h("ul", { id: "groups", class: "list" }, h("li", { class: "muted" }, t("common.loading")));
  const status = statusLine("groups-status");
  // A link, a token or a text code ("群口令 Ab3dE9xK @ host", invitecode.js):
  // type text, since a code is no URL.
  const link = h("input", { id: "join-link", type: "text", inputmode: "url", placeholder: t("groups.linkOrCode"), autocomplete: "off", spellcheck: "false" });
  const linkStatus = statusLine("join-link-status");
  const contacts = contactsCard(app);
  const els = [
    contacts.el,
    shopEntry(app),
    shopLink(app),
    h("section", { class: "card" },
      h("div", { class: "row between" }, h("h1", {}, t("groups.title")),
        h("a", { class: "button", href: "/#/new", id: "btn-new-group" }, t("groups.create"))),
      list, status),
    h("section", { class: "card" },
      h("h2", {}, t("groups.openLink")),
      h("form", {
        class: "row",
        onsubmit: (e) => {
          e.preventDefault();
          const button = e.target.querySelector("button");
          busy(button, async () => {
            linkStatus.clear();
            let tok;
            try {
              tok = await inviteToken(link.value);
            } catch (err) {
              if (!(err instanceof ResolveError)) return linkStatus.error(err);
              if (err.code === "unreachable") return linkStatus.show(t("groups.codeUnreachable", { host: err.host }));
              if (err.code === "invite_unknown" || err.code === "not_found") return linkStatus.show(t("groups.codeUnknown", { host: err.host }));
              return linkStatus.error(err.cause || err);
            }
            if (tok) openJoin(tok);
          });
        },
      }, link, h("button", { type: "submit", id: "btn-open-link" }, t("groups.open"))),
      linkStatus),
  ];
  const inbox = app.inbox;
  const items = new Map(); // gid -> li
  const mark = () => {
    for (const [gid, li] of items) {
      if (gid === inbox.openGid) li.firstChild.setAttribute("aria-current", "page");
      else li.firstChild.removeAttribute("aria-current");
    }
  };
  const render = () => {
    if (!inbox.loaded) {
      if (inbox.error) { clear(list); status.error(inbox.error); }
      return;
    }
    status.clear();
    const groups = inbox.list();
    if (!groups.length) {
      items.clear();
      clear(list, h("li", { class: "muted", id: "no-groups" }, t("groups.none")));
      return;
    }
    const lis = groups.map((g) => {
      let li = items.get(g.gid);
      if (!li) { li = groupItem(g.gid); items.set(g.gid, li); }
      li.fill(g);
      return li;
    });
    for (const [gid, li] of items) if (!lis.includes(li)) items.delete(gid);
    // Moving the same elements keeps a tap that is under way.
    if (lis.some((li, k) => list.children[k] !== li) || list.children.length !== lis.length) clear(list, lis);
    mark();
  };
  const unwatch = inbox.watch(render);
  render();
  const stop = () => { unwatch(); contacts.stop(); };
  return { els, stop, mark };
}

function groupItem(gid) {
  const avatar = h("span", { class: "avatar" });
  const name = h("span", { class: "name grow" });
  const time = h("span", { class: "time" });
  const meta = h("span", { class: "meta preview" });
  const unread = h("span", { class: "unread", hidden: true });
  const a = h("a", { class: "group-link", "data-group": gid },
    avatar,
    h("span", { class: "grow" }, h("span", { class: "line" }, name, time), h("span", { class: "line" }, meta, unread)));
  const li = h("li", { class: "group-item", "data-group": gid }, a);
  li.fill = (g) => {
    const s = g.summary;
    if (s.pending) a.removeAttribute("href");
    else a.setAttribute("href", `/#/g/${gid}`);
    avatar.textContent = (s.name || "#").slice(0, 1);
    name.textContent = s.name || gid.slice(0, 8);
    time.textContent = g.last ? fmtWhen(g.last.time) : "";
    time.title = g.last ? fmtDateTime(g.last.time) : "";
    meta.textContent = s.pending ? t("groups.pending") : app.inbox.preview(g) ||
      t(s.members === 1 ? "groups.meta1" : "groups.meta", { members: s.members, role: t("role." + (s.role || "member")) }) +
      (s.announcement ? " · " + s.announcement : "");
    const n = g.unread.size;
    unread.hidden = !n;
    unread.textContent = n > 99 ? "99+" : String(n) + (g.more ? "+" : "");
    unread.title = t("groups.unread", { n });
  };
  return li;
}

// fmtWhen is a time of today, else the day.
function fmtWhen(ms) {
  const d = new Date(ms), now = new Date();
  if (d.toDateString() === now.toDateString()) return fmtTime(ms);
  return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en", { month: "short", day: "numeric" }).format(d);
}

// ---- create a group

function createScreen() {
  const status = statusLine("create-status");
  const name = h("input", { id: "new-name", required: true, maxlength: 64, autocomplete: "off" });
  const desc = h("textarea", { id: "new-description", rows: 2, maxlength: 1000 });
  const policy = h("select", { id: "new-policy" }, ["invite", "approval", "open"].map((p) => h("option", { value: p }, t("policy." + p))));
  const cap = h("input", { id: "new-cap", type: "number", min: 1, max: 10000, value: "500" });
  const pub = h("input", { id: "new-public", type: "checkbox" });
  const history = h("select", { id: "new-history" }, ["all", "join"].map((v) => h("option", { value: v }, t("history." + v))));
  const isAdmin = app.node && app.node.admins.includes(app.signer.id);
  const submit = h("button", { id: "btn-create", type: "submit", class: "primary" }, t("create.submit"));
  splitPage(h("section", { class: "card" },
    h("h1", {}, t("create.title")),
    h("p", { class: "hint", id: "create-hint" }, t(isAdmin ? "create.hintAdmin" : "create.hintNotAdmin")),
    h("form", {
      class: "form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(submit, async () => {
          status.clear();
          try {
            const node = app.node || (app.node = await app.api.node());
            const settings = { name: name.value.trim(), policy: policy.value, cap: Number(cap.value) || 500 };
            if (desc.value.trim()) settings.description = desc.value.trim();
            if (pub.checked) settings.public = true;
            if (history.value === "join") settings.history = "join";
            const resp = await app.api.submit(KIND.create, null, body.create(settings, parsePeerID(node.peer_id)));
            go("#/g/" + resp.group);
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    h("label", {}, t("settings.name"), name),
    h("label", {}, t("settings.description"), desc),
    h("label", {}, t("settings.policy"), policy),
    h("label", {}, t("settings.cap"), cap),
    h("label", { class: "check" }, pub, t("settings.public")),
    h("label", {}, t("settings.history"), history),
    submit),
    status,
  ));
}

// ---- invite preview and join

// openJoin shows the join screen of an invite token.
function openJoin(token) {
  history.pushState(null, "", "/join#" + token);
  route();
}

async function joinScreen(token) {
  const gen = routeGen;
  const status = statusLine("join-status");
  const box = h("div", { id: "preview" }, h("p", { class: "muted" }, t("common.loading")));
  page(h("section", { class: "card" }, h("h1", {}, t("join.title")), box, status));
  let inv;
  try {
    inv = decodeInvite(token);
    if (!(await verifyInvite(inv))) throw new Error("signature");
  } catch {
    clear(box, h("p", { class: "status error", id: "preview-reason" }, t("join.badToken")));
    return;
  }
  let pv = null;
  try {
    pv = await app.api.preview(token);
  } catch (e) {
    status.error(e);
  }
  const name = pv ? pv.name : "";
  const policy = pv ? pv.policy : "";
  const expires = inv.expires;
  const uses = pv ? (pv.max_uses ? t("join.usesOf", { uses: pv.uses, max: pv.max_uses }) : t("join.usesUnlimited", { uses: pv.uses })) : "";
  const note = h("input", { id: "join-note", maxlength: 500, placeholder: t("join.notePlaceholder") });
  const joined = (gid) => { history.replaceState(null, "", "/#/g/" + gid); route(); };
  // A live code's link (/l/CODE) comes with live=CODE: a group that filled
  // up meanwhile sends the person on to the code's next group.
  const live = new URLSearchParams(location.search).get("live");
  const doJoin = (kind) => (e) => busy(e.target, async () => {
    status.clear();
    try {
      const resp = kind === KIND.join && live ? await joinLive(live, token) : await app.api.joinInvite(token, kind, note.value.trim());
      if (kind === KIND.join) {
        app.profiles.push(resp.group).catch(() => { /* ensure tries again */ });
        joined(resp.group);
      }
      else {
        status.ok(t("join.requested"));
        waitForAnswer(inv.group, status, joined, gen);
      }
    } catch (err) {
      if (err.code === "conflict" && kind === KIND.join) return joined(inv.group);
      status.error(err);
    }
  });
  app.setTitle(name || "Qun");
  clear(box,
    h("h2", { id: "preview-name" }, name || t("join.unknownName")),
    pv && pv.description ? h("p", { id: "preview-description" }, pv.description) : null,
    h("dl", { class: "facts" },
      pv ? [h("dt", {}, t("join.members")), h("dd", { id: "preview-members" }, t("join.membersOf", { n: pv.members, cap: pv.cap }))] : null,
      policy ? [h("dt", {}, t("settings.policy")), h("dd", {}, t("policy." + policy))] : null,
      h("dt", {}, t("join.host")), h("dd", { id: "preview-host", title: inv.host }, short(inv.host)),
      // The inviter is a stranger here: a name (when the node knows it)
      // never comes without the ID.
      h("dt", {}, t("join.inviter")), h("dd", { id: "preview-inviter", title: inv.inviter },
        pv && pv.inviter_name ? [pv.inviter_name, h("span", { class: "meta" }, " · " + short(inv.inviter))] : short(inv.inviter)),
      h("dt", {}, t("join.expires")), h("dd", {}, expires ? fmtDateTime(expires) : t("join.never")),
      uses ? [h("dt", {}, t("join.uses")), h("dd", {}, uses)] : null),
    pv && !pv.valid ? h("p", { class: "status error", id: "preview-reason" }, errorText({ code: "invite_invalid", message: pv.reason || t("join.invalid") })) : null,
    h("div", { class: "row" },
      h("button", { id: "btn-join", class: "primary", disabled: pv && !pv.valid, onclick: doJoin(KIND.join) }, t("join.join")),
      h("a", { class: "button", href: "/#/" }, t("common.cancel"))),
    policy === "approval" ? h("div", { class: "request" },
      h("p", { class: "hint" }, t("join.requestHint")), note,
      h("button", { id: "btn-request", onclick: doJoin(KIND.join_request) }, t("join.request"))) : null,
  );
}

// joinLive joins with token, the invite a live code gave; when that group
// is full by now it asks the code again (a few times) for the group with
// room, and joins that one. The answer is the submission's answer, or the
// group the person is in already.
async function joinLive(code, token) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await app.api.joinInvite(token, KIND.join, "");
    } catch (e) {
      if (e.code !== "group_full" || attempt >= 3) throw e;
    }
    const next = await app.api.fetchJSON("GET", `/api/v1/live/${encodeURIComponent(code)}?user=${app.signer.id}`);
    if (next.member) return { group: next.group };
    token = next.token;
  }
}

// waitForAnswer keeps the join screen on a request to join gid until an
// admin answers: approved, the group opens; declined, the line says so.
function waitForAnswer(gid, status, joined, gen) {
  if (!app.live || gen !== routeGen) return;
  const stop = app.live.watchMembership((m) => {
    if (m.group !== gid) return;
    if (gen !== routeGen) { stop(); return; }
    if (m.change === "approve") { stop(); joined(gid); }
    if (m.change === "reject") { stop(); status.show(t("join.declined"), "error"); }
  });
  const prev = app.cleanup;
  app.cleanup = () => { stop(); if (prev) prev(); };
}

// ---- boot

async function boot() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  window.addEventListener("hashchange", route);
  window.addEventListener("popstate", route);
  // Across 900 px the open group moves into (or out of) the split layout
  // as it is; any other screen is shown again.
  wide.addEventListener("change", () => { if (app.screen) splitPage(app.screen.el); else route(); });
  app.go = go;
  if (await keys.detect()) await setSigner(await keys.load());
  app.api = app.api || new Api(null);
  try { app.node = await app.api.node(); } catch { /* shown where it matters */ }
  route();
}

boot();
