// The owner's and admins' panel of a group: members (mute, kick, ban,
// role), the people of other networks that bridges relay for (mute, kick,
// let back, ban: the same submissions, naming their bridged identity),
// join requests, invite links with a QR code, settings and the
// announcement. Every action is a submission signed here; the host decides,
// and a refusal shows as the node's sentence.

import { t } from "./i18n.js";
import { h, clear, short, statusLine, fmtDateTime, copyText } from "./ui.js";
import { KIND, RANK, MAX_NICK_RUNES, body, signInvite, inviteAddrs, parsePeerID } from "./proto.js";
import { nameEl, avatarEl, checkProfile } from "./names.js";
import { drawQR, svgQR, printQR, withDPI } from "./qr.js";
import { textCode } from "./invitecode.js";

const MUTE_CHOICES = [["10m", 600e3], ["1h", 3600e3], ["1d", 86400e3], ["7d", 7 * 86400e3], ["forever", 0]];
const TTL_CHOICES = [["1h", 3600e3], ["1d", 86400e3], ["7d", 7 * 86400e3], ["30d", 30 * 86400e3], ["never", 0]];

const tokensKey = (gid) => "qun.invites." + gid;
function savedTokens(gid) {
  try { return JSON.parse(localStorage.getItem(tokensKey(gid))) || {}; } catch { return {}; }
}
export function saveToken(gid, id, token) {
  const all = savedTokens(gid);
  all[id] = token;
  localStorage.setItem(tokensKey(gid), JSON.stringify(all));
}

// signGroupInvite signs an invite into group (its ID's bytes) hosted by
// hostKey at the host's addresses hostAddrs (as a group view gives them):
// expires (unix ms, 0 for none) and maxUses (0 for no limit). Registering
// it is an invite_create submission of the group.
export function signGroupInvite(signer, group, hostKey, hostAddrs, expires, maxUses) {
  return signInvite(signer, { group, host: hostKey, addrs: inviteAddrs(hostAddrs), expires, maxUses });
}

export function renderManage(screen) {
  const status = screen.manageStatus || (screen.manageStatus = statusLine("manage-status"));
  // Members below admin see the members and their own settings (the nick).
  const tabs = screen.rank >= 2 ? ["members", "requests", "invites", "settings"] : ["members", "settings"];
  if (!tabs.includes(screen.tab)) screen.tab = "members";
  const nReq = screen.state.requests.length;
  const content = { members, requests, invites, settings }[screen.tab](screen, status);
  return h("div", {},
    h("nav", { class: "tabs", role: "tablist" }, tabs.map((name) => h("button", {
      id: "tab-" + name, role: "tab", class: "tab" + (screen.tab === name ? " active" : ""),
      "aria-selected": screen.tab === name ? "true" : "false",
      onclick: () => { screen.tab = name; status.clear(); screen.renderBody(); },
    }, t("manage.tab." + name), name === "requests" && nReq ? h("span", { class: "unread" }, String(nReq)) : null))),
    status,
    h("section", { class: "card", id: "panel-" + screen.tab }, content));
}

// run submits one action and refreshes the view.
async function run(screen, status, kind, bodyBytes, button, okText) {
  const resp = await screen.act(kind, bodyBytes, status, button);
  if (resp) {
    if (okText) status.ok(okText);
    screen.refreshState();
  }
  return resp;
}

// confirmButton asks for a second click before it acts.
function confirmButton(props, label, onConfirm) {
  const b = h("button", {
    ...props,
    onclick: () => {
      if (b.dataset.armed !== "1") {
        b.dataset.armed = "1";
        b.textContent = t("common.confirm", { what: label });
        setTimeout(() => { b.dataset.armed = ""; b.textContent = label; }, 4000);
        return;
      }
      onConfirm(b);
    },
  }, label);
  return b;
}

function members(screen, status) {
  const s = screen.state;
  const names = screen.names;
  const who = (id) => names.plain(id);
  const myRank = screen.rank;
  const iAmOwner = screen.member && screen.member.role === "owner";
  const rows = s.member_list.map((m) => {
    const me = m.user === screen.me;
    const outrank = !me && m.role !== "owner" && myRank > (RANK[m.role] || 1);
    const mutedText = m.muted ? (m.muted_until ? t("manage.mutedUntil", { time: fmtDateTime(m.muted_until) }) : t("manage.mutedForever")) : "";
    const dur = h("select", { class: "mute-dur", "aria-label": t("manage.muteFor") },
      MUTE_CHOICES.map(([k]) => h("option", { value: k }, t("dur." + k))));
    const roles = iAmOwner ? ["member", "admin", "bridge", "owner"] : ["member", "bridge"];
    const roleSel = h("select", { class: "role-select", "aria-label": t("manage.role") },
      roles.map((r) => h("option", { value: r, selected: r === m.role }, t("role." + r))));
    const target = parsePeerID(m.user);
    const canRole = !me && m.role !== "owner" && (iAmOwner || (myRank >= 2 && (m.role === "member" || m.role === "bridge")));
    // The nick shows first; the name it hides, and the ID, under it.
    const sub = [m.nick && m.name ? m.name : "", short(m.user)].filter(Boolean).join(" · ");
    return h("li", { class: "member", "data-user": m.user, hidden: !names.matches(m.user, screen.memberQuery || "") },
      h("div", { class: "row between" },
        avatarEl(names, m.user),
        h("span", { class: "who" }, nameEl(names, m.user), h("span", { class: "meta sub" }, sub)),
        h("span", { class: "badge role-" + m.role }, t("role." + m.role)),
        mutedText ? h("span", { class: "badge muted-badge" }, mutedText) : null,
        // The invite's reference (an order), which only admins are shown.
        m.ref ? h("span", { class: "badge ref-badge", title: t("manage.ref") }, m.ref) : null),
      outrank ? h("div", { class: "row actions" },
        dur,
        h("button", {
          class: "act-mute", onclick: (e) => {
            const ms = MUTE_CHOICES.find(([k]) => k === dur.value)[1];
            const until = ms ? Date.now() + (screen.app.skew || 0) + ms : 0;
            run(screen, status, KIND.mute, body.mute(target, until, ""), e.target, t("manage.done.mute", { who: who(m.user) }));
          },
        }, t("manage.mute")),
        m.muted || m.muted_until ? h("button", {
          class: "act-unmute", onclick: (e) => run(screen, status, KIND.unmute, body.member(target, ""), e.target, t("manage.done.unmute", { who: who(m.user) })),
        }, t("manage.unmute")) : null,
        confirmButton({ class: "act-kick" }, t("manage.kick"), (b) => run(screen, status, KIND.kick, body.member(target, ""), b, t("manage.done.kick", { who: who(m.user) }))),
        confirmButton({ class: "act-ban danger" }, t("manage.ban"), (b) => run(screen, status, KIND.ban, body.member(target, ""), b, t("manage.done.ban", { who: who(m.user) })))) : null,
      canRole ? h("div", { class: "row actions" }, roleSel, h("button", {
        class: "act-role", onclick: (e) => run(screen, status, KIND.role, body.role(target, roleSel.value), e.target, t("manage.done.role", { who: who(m.user) })),
      }, t("manage.setRole"))) : null,
      // A private conversation (contacts.js): a member with the owner or an
      // admin, staff with anyone.
      screen.canPrivate(m.user) ? h("div", { class: "row actions" }, h("button", {
        class: "act-private", onclick: (e) => screen.privateChat(m.user, e.currentTarget),
      }, t("contact.private"))) : null);
  });
  const bridged = bridgedRows(screen, status);
  const allDur = h("select", { id: "mute-all-dur" }, MUTE_CHOICES.map(([k]) => h("option", { value: k }, t("dur." + k))));
  const list = h("ul", { class: "list members", id: "member-list" }, rows);
  const none = h("p", { class: "muted", id: "no-member-match", hidden: true }, t("manage.noMatch"));
  const filter = () => {
    const q = screen.memberQuery = search.value.trim();
    let n = 0;
    for (const li of [...list.children, ...(bridged ? bridged.list.children : [])]) { li.hidden = !names.matches(li.dataset.user, q); if (!li.hidden) n++; }
    none.hidden = n > 0;
  };
  const search = h("input", {
    id: "member-search", type: "search", value: screen.memberQuery || "", autocomplete: "off",
    placeholder: t("manage.search"), "aria-label": t("manage.search"), oninput: filter,
  });
  return [
    h("h2", {}, t("manage.members", { n: s.members, cap: s.cap })),
    search,
    myRank < 2 ? null : h("div", { class: "row" },
      s.muted_all ? h("button", {
        id: "btn-unmute-all", onclick: (e) => run(screen, status, KIND.unmute, body.member(null, ""), e.target, t("manage.done.unmuteAll")),
      }, t("manage.unmuteAll")) : [allDur, h("button", {
        id: "btn-mute-all", onclick: (e) => {
          const ms = MUTE_CHOICES.find(([k]) => k === allDur.value)[1];
          run(screen, status, KIND.mute, body.mute(null, ms ? Date.now() + (screen.app.skew || 0) + ms : 0, ""), e.target, t("manage.done.muteAll"));
        },
      }, t("manage.muteAll"))]),
    list, none,
    bridged ? bridged.section : null,
    s.banned.length ? [h("h2", {}, t("manage.banned")), h("ul", { class: "list", id: "banned-list" }, s.banned.map((u) => h("li", { class: "row between", "data-user": u },
      nameEl(names, u),
      myRank >= 2 ? h("button", { class: "act-unban", onclick: (e) => run(screen, status, KIND.unban, body.member(parsePeerID(u), ""), e.target, t("manage.done.unban", { who: who(u) })) }, t("manage.unban")) : null)))] : null,
  ];
}

// bridgedRows lists the people of other networks (bridged_list): the
// network, the remote ID, the bridge, muted and removed; the owner and
// admins mute, unmute, remove, let back and ban them. It returns
// {section, list}, or null when a bridge never relayed for anyone.
function bridgedRows(screen, status) {
  const s = screen.state;
  const all = s.bridged_list || [];
  if (!all.length) return null;
  const names = screen.names;
  const who = (id) => names.plain(id);
  const admin = screen.rank >= 2;
  const banned = new Set(s.banned || []);
  const rows = all.map((p) => {
    const target = parsePeerID(p.id);
    const mutedText = p.muted ? (p.muted_until ? t("manage.mutedUntil", { time: fmtDateTime(p.muted_until) }) : t("manage.mutedForever")) : "";
    const dur = h("select", { class: "mute-dur", "aria-label": t("manage.muteFor") },
      MUTE_CHOICES.map(([k]) => h("option", { value: k }, t("dur." + k))));
    const isBanned = banned.has(p.id);
    const sub = [p.user, t("manage.relayedBy", { who: who(p.bridge) })].join(" · ");
    return h("li", { class: "member bridged", "data-user": p.id, "data-network": p.network, hidden: !names.matches(p.id, screen.memberQuery || "") },
      h("div", { class: "row between" },
        avatarEl(names, p.id),
        h("span", { class: "who" }, nameEl(names, p.id), h("span", { class: "meta sub" }, sub)),
        mutedText ? h("span", { class: "badge muted-badge" }, mutedText) : null,
        p.removed ? h("span", { class: "badge removed-badge" }, t("manage.removedBadge")) : null,
        isBanned ? h("span", { class: "badge banned-badge" }, t("manage.bannedBadge")) : null),
      admin ? h("div", { class: "row actions" },
        dur,
        h("button", {
          class: "act-mute", onclick: (e) => {
            const ms = MUTE_CHOICES.find(([k]) => k === dur.value)[1];
            const until = ms ? Date.now() + (screen.app.skew || 0) + ms : 0;
            run(screen, status, KIND.mute, body.mute(target, until, ""), e.target, t("manage.done.mute", { who: who(p.id) }));
          },
        }, t("manage.mute")),
        p.muted || p.muted_until ? h("button", {
          class: "act-unmute", onclick: (e) => run(screen, status, KIND.unmute, body.member(target, ""), e.target, t("manage.done.unmute", { who: who(p.id) })),
        }, t("manage.unmute")) : null,
        p.removed ? h("button", {
          class: "act-approve", onclick: (e) => run(screen, status, KIND.approve, body.member(target, ""), e.target, t("manage.done.letBack", { who: who(p.id) })),
        }, t("manage.letBack")) :
          confirmButton({ class: "act-kick" }, t("manage.kick"), (b) => run(screen, status, KIND.kick, body.member(target, ""), b, t("manage.done.kick", { who: who(p.id) }))),
        isBanned ? null : confirmButton({ class: "act-ban danger" }, t("manage.ban"), (b) => run(screen, status, KIND.ban, body.member(target, ""), b, t("manage.done.ban", { who: who(p.id) })))) : null);
  });
  const list = h("ul", { class: "list members", id: "bridged-list" }, rows);
  return {
    list,
    section: h("div", { id: "bridged-section" },
      h("h2", {}, t("manage.bridgedTitle", { n: all.length })),
      h("p", { class: "hint" }, t("manage.bridgedHint")),
      list),
  };
}

function requests(screen, status) {
  const s = screen.state;
  if (!s.requests.length) return [h("h2", {}, t("manage.tab.requests")), h("p", { class: "muted", id: "no-requests" }, t("manage.noRequests"))];
  return [
    h("h2", {}, t("manage.tab.requests")),
    h("ul", { class: "list", id: "request-list" }, s.requests.map((r) => {
      const target = parsePeerID(r.user);
      const who = screen.names.plain(r.user);
      return h("li", { class: "request", "data-user": r.user },
        h("div", { class: "row" }, avatarEl(screen.names, r.user), nameEl(screen.names, r.user), r.note ? h("q", { class: "note" }, r.note) : null),
        h("div", { class: "row actions" },
          h("button", { class: "act-approve primary", onclick: (e) => run(screen, status, KIND.approve, body.member(target, ""), e.target, t("manage.done.approve", { who })) }, t("manage.approve")),
          h("button", { class: "act-reject", onclick: (e) => run(screen, status, KIND.reject, body.member(target, ""), e.target, t("manage.done.reject", { who })) }, t("manage.reject"))));
    })),
  ];
}

function inviteLink(token) { return location.origin + "/join#" + token; }

// inviteBox shows an invite: its short link (when the host registered
// one) with a QR code small enough for a receipt, the QR code as SVG and
// as a PNG for printing, the text code of the short link, and the full
// link. group is the group's name, for the names of the files.
function inviteBox(token, short, group) {
  const link = short ? short.link : inviteLink(token);
  const code = short ? textCode(short.link, t("manage.codePrefix")) : "";
  const canvas = h("canvas", { id: "invite-qr", class: "qr", "aria-label": t("manage.qr") });
  let ok = true;
  try { drawQR(canvas, link); } catch { ok = false; }
  const field = h("input", { id: "invite-link", readOnly: true, value: link, onfocus: (e) => e.target.select() });
  const full = short ? h("details", { class: "full-link" }, h("summary", {}, t("manage.fullLink")),
    h("input", { id: "invite-full-link", readOnly: true, value: inviteLink(token), onfocus: (e) => e.target.select() })) : null;
  return h("div", { class: "invite-result", id: "invite-result" },
    h("div", { class: "row" }, field,
      h("button", { type: "button", id: "btn-copy-link", onclick: (e) => { copyText(link); e.target.textContent = t("manage.copied"); } }, t("manage.copy"))),
    full,
    ok ? canvas : h("p", { class: "status error" }, t("manage.qrTooLong")),
    ok ? h("div", { class: "row wrap" },
      h("a", { class: "button", download: "qun-invite.png", href: "#", onclick: (e) => { e.currentTarget.href = canvas.toDataURL("image/png"); } }, t("manage.downloadQR")),
      h("button", {
        type: "button", id: "btn-qr-svg", title: t("manage.qrSVGTitle"),
        onclick: () => download(new Blob([svgQR(link).svg], { type: "image/svg+xml" }), fileBase(group) + ".svg"),
      }, t("manage.qrSVG")),
      h("button", {
        type: "button", id: "btn-qr-print", title: t("manage.qrPrintTitle"),
        onclick: () => {
          const c = document.createElement("canvas");
          const { dpi } = printQR(c, link, PRINT_MM, PRINT_DPI);
          c.toBlob(async (png) => {
            if (png) download(new Blob([withDPI(new Uint8Array(await png.arrayBuffer()), dpi)], { type: "image/png" }), fileBase(group) + `-${PRINT_MM}mm.png`);
          }, "image/png");
        },
      }, t("manage.qrPrint"))) : null,
    code ? h("div", { class: "text-code" },
      h("h3", {}, t("manage.codeTitle")),
      h("p", { class: "hint" }, t("manage.codeHint")),
      h("div", { class: "row" },
        h("input", { id: "invite-code", readOnly: true, value: code, onfocus: (e) => e.target.select() }),
        h("button", { type: "button", id: "btn-copy-code", onclick: (e) => { copyText(code); e.target.textContent = t("manage.copied"); } }, t("manage.copy")))) : null);
}

// The printed size of an invite's QR code: 30 mm (a receipt) at 600 dpi.
const PRINT_MM = 30, PRINT_DPI = 600;

// fileBase names the files of a group's invite QR code.
function fileBase(group) {
  const name = (group || "").normalize("NFC").replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, "_").replace(/\s+/g, "-").replace(/^[-_.]+|[-_.]+$/g, "");
  return "qun-invite-" + ([...name].slice(0, 60).join("") || "group");
}

// download saves blob as a file called name.
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // after the download has started
}

function invites(screen, status) {
  const s = screen.state;
  const uses = h("input", { id: "inv-uses", type: "number", min: 0, max: 1000000, value: "0" });
  const ttl = h("select", { id: "inv-ttl" }, TTL_CHOICES.map(([k]) => h("option", { value: k, selected: k === "7d" }, t("dur." + k))));
  const ref = h("input", { id: "inv-ref", maxlength: 128, autocomplete: "off", placeholder: t("manage.refPlaceholder") });
  const result = h("div", { id: "invite-slot" }, screen.lastInvite ? inviteBox(screen.lastInvite, screen.lastShort, s.name) : null);
  // showInvite puts an invite into the panel on screen: the event that
  // registered it may have rebuilt the panel while the short link was
  // asked for, and result is then no longer the one shown.
  const showInvite = (token, short) => {
    screen.lastInvite = token;
    screen.lastShort = short;
    const slot = result.isConnected ? result : document.getElementById("invite-slot");
    if (slot) clear(slot, inviteBox(token, short, s.name));
    return slot;
  };
  const tokens = savedTokens(screen.gid);
  const create = h("button", { id: "btn-invite", class: "primary", type: "submit" }, t("manage.createInvite"));
  const form = h("form", {
    class: "form",
    onsubmit: async (e) => {
      e.preventDefault();
      status.clear();
      const ms = TTL_CHOICES.find(([k]) => k === ttl.value)[1];
      let inv;
      try {
        inv = await signGroupInvite(screen.app.signer, screen.gidBytes, screen.hostKey, s.host_addrs,
          ms ? Date.now() + ms : 0, Math.max(0, Math.floor(Number(uses.value) || 0)));
      } catch (err) {
        return status.show(String(err.message || err));
      }
      const resp = await run(screen, status, KIND.invite_create, body.inviteCreate(inv.raw), create, t("manage.done.invite"));
      if (resp) {
        // The reference is kept by the host for the admins, never put into
        // the token the buyer is given.
        const r = ref.value.trim();
        if (r) {
          try { await screen.app.api.setInviteRef(screen.gid, inv.id, r); } catch (err) { status.show(String(err.message || err)); }
        }
        saveToken(screen.gid, inv.id, inv.token);
        // A short link needs the host: on another node the full link serves.
        let short = null;
        try { short = await screen.app.api.shortInvite(inv.token); } catch { /* full link only */ }
        showInvite(inv.token, short);
      }
    },
  },
  h("div", { class: "row wrap" },
    h("label", {}, t("manage.uses"), uses),
    h("label", {}, t("manage.validFor"), ttl),
    h("label", {}, t("manage.ref"), ref)),
  create);
  const now = Date.now();
  const rows = s.invites.map((i) => {
    const state = i.revoked ? "revoked" : i.expires && i.expires <= now ? "expired" : i.max_uses && i.uses >= i.max_uses ? "usedUp" : "active";
    const canRevoke = !i.revoked && (screen.rank >= 2 || i.inviter === screen.me);
    return h("li", { class: "invite", "data-invite": i.id },
      h("div", { class: "row between" },
        h("code", { title: i.id }, i.id.slice(0, 8)),
        h("span", { class: "badge inv-" + state }, t("manage.inv." + state))),
      h("div", { class: "meta" },
        t("manage.invMeta", {
          uses: i.uses, max: i.max_uses ? String(i.max_uses) : "∞",
          expires: i.expires ? fmtDateTime(i.expires) : t("join.never"), who: screen.names.label(i.inviter),
        }), i.ref ? " · " + i.ref : ""),
      h("div", { class: "row actions" },
        tokens[i.id] && state === "active" ? h("button", { class: "act-show-qr", onclick: async () => {
          // The host gives an invite the same short link each time it is asked.
          let short = null;
          try { short = await screen.app.api.shortInvite(tokens[i.id]); } catch { /* full link only */ }
          const slot = showInvite(tokens[i.id], short);
          if (slot) slot.scrollIntoView();
        } }, t("manage.showLink")) : null,
        canRevoke ? confirmButton({ class: "act-revoke" }, t("manage.revoke"), (b) => {
          const id = new Uint8Array(i.id.match(/../g).map((x) => parseInt(x, 16)));
          run(screen, status, KIND.invite_revoke, body.inviteRevoke(id), b, t("manage.done.revoke"));
        }) : null));
  });
  return [
    h("h2", {}, t("manage.newInvite")), form, result,
    h("h2", {}, t("manage.invites")),
    rows.length ? h("ul", { class: "list", id: "invite-list" }, rows) : h("p", { class: "muted" }, t("manage.noInvites")),
  ];
}

// nickForm sets the user's nickname in this group (群昵称): a profile event
// for this group with the name and bio of the home node.
function nickForm(screen, status) {
  const mine = screen.member;
  if (!mine) return null;
  const nick = h("input", { id: "set-nick", value: mine.nick || "", autocomplete: "off", enterkeyhint: "done", placeholder: t("manage.nickPlaceholder") });
  const save = h("button", { id: "btn-save-nick", type: "submit" }, t("manage.save"));
  return [
    h("h2", {}, t("manage.nickTitle")),
    h("form", {
      class: "form",
      onsubmit: (e) => {
        e.preventDefault();
        status.clear();
        const c = checkProfile({ nick: nick.value }, { nick: MAX_NICK_RUNES });
        if (c.error) return status.show(c.error);
        const v = c.profile.nick || "";
        nick.value = v;
        if (v === (mine.nick || "")) return status.ok(t("manage.noChange"));
        save.disabled = true;
        screen.app.profiles.push(screen.gid, v).then(() => {
          status.ok(t(v ? "manage.done.nick" : "manage.done.nickCleared", { nick: v }));
          screen.refreshState();
        }, (err) => status.error(err)).finally(() => { save.disabled = false; });
      },
    },
    h("label", {}, t("profile.field.nick"), nick),
    h("p", { class: "hint" }, t("manage.nickHint")),
    save),
  ];
}

function settings(screen, status) {
  const s = screen.state;
  if (screen.rank < 2) return nickForm(screen, status);
  const name = h("input", { id: "set-name", value: s.name, maxlength: 64, required: true });
  const desc = h("textarea", { id: "set-description", rows: 3, maxlength: 1000 }, s.description || "");
  const avatar = h("input", { id: "set-avatar", type: "url", value: s.avatar || "", placeholder: "https://…" });
  const policy = h("select", { id: "set-policy" }, ["invite", "approval", "open"].map((p) => h("option", { value: p, selected: p === s.policy }, t("policy." + p))));
  const cap = h("input", { id: "set-cap", type: "number", min: 1, max: 10000, value: String(s.cap) });
  const pub = h("input", { id: "set-public", type: "checkbox", checked: !!s.public });
  const hist = s.history || "all";
  const history = h("select", { id: "set-history" }, ["all", "join"].map((v) => h("option", { value: v, selected: v === hist }, t("history." + v))));
  const save = h("button", { id: "btn-save-settings", class: "primary", type: "submit" }, t("manage.save"));
  const ann = h("textarea", { id: "set-announcement", rows: 2, maxlength: 4000 }, s.announcement || "");
  const annBtn = h("button", { id: "btn-announce", type: "submit" }, t("manage.publish"));
  return [
    nickForm(screen, status),
    h("h2", {}, t("manage.tab.settings")),
    h("form", {
      class: "form",
      onsubmit: (e) => {
        e.preventDefault();
        const ch = {};
        if (name.value.trim() !== s.name) ch.name = name.value.trim();
        if (desc.value.trim() !== (s.description || "")) ch.description = desc.value.trim();
        if (avatar.value.trim() !== (s.avatar || "")) ch.avatar = avatar.value.trim();
        if (policy.value !== s.policy) ch.policy = policy.value;
        if (Number(cap.value) !== s.cap) ch.cap = Number(cap.value);
        if (pub.checked !== !!s.public) ch.public = pub.checked;
        if (history.value !== hist) ch.history = history.value;
        if (!Object.keys(ch).length) return status.ok(t("manage.noChange"));
        run(screen, status, KIND.update, body.update(ch), save, t("manage.done.settings"));
      },
    },
    h("label", {}, t("settings.name"), name),
    h("label", {}, t("settings.description"), desc),
    h("label", {}, t("settings.avatar"), avatar),
    h("label", {}, t("settings.policy"), policy),
    h("label", {}, t("settings.cap"), cap),
    h("label", { class: "check" }, pub, t("settings.public")),
    h("label", {}, t("settings.history"), history),
    h("p", { class: "hint" }, t("settings.historyHint")),
    save),
    h("h2", {}, t("chat.announcement")),
    h("form", {
      class: "form",
      onsubmit: (e) => {
        e.preventDefault();
        run(screen, status, KIND.announce, body.announce(ann.value.trim()), annBtn, t(ann.value.trim() ? "manage.done.announce" : "manage.done.unannounce"));
      },
    }, ann, h("p", { class: "hint" }, t("manage.announceHint")), annBtn),
  ];
}
