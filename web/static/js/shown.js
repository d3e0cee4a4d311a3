// The groups people show on their profiles (展示我加入的群聊, since 1.5):
// the "me" screen's choice of the user's groups to show, and the person
// card's list of what a member shows, each described by its host (GET
// /api/v1/groups/{gid}/about) with a way to join or apply.

import { t, addWords } from "./i18n.js";
import { h, clear, busy, errorText, short } from "./ui.js";
import { KIND, body } from "./proto.js";
import { fromHex } from "./codec.js";

// MAX_SHOWN is protocol.MaxShownGroups.
const MAX_SHOWN = 10;

addWords({
  "shown.title": "Groups shown",
  "shown.hint": "What the group's host says of each; a member chooses what to show.",
  "shown.loading": "Asking the group's host…",
  "shown.members": "{n} / {cap} members",
  "shown.open": "anyone may join",
  "shown.approval": "an admin approves each request",
  "shown.inviteOnly": "Invite only: ask a member for an invite.",
  "shown.unreachable": "The group's host cannot be reached now.",
  "shown.retry": "Try again",
  "shown.join": "Join",
  "shown.apply": "Apply",
  "shown.note": "A word for the admins (optional)",
  "shown.send": "Send the request",
  "shown.sent": "Request sent: the group appears in your list once an admin approves it.",
  "shown.pending": "Request sent",
  "shown.full": "Full",
  "shown.openGroup": "Open",
  "shown.mine": "Groups I show on my profile",
  "shown.mineHint": "Members of your groups see these on your profile and may apply to join. At most {max}.",
  "shown.none": "Join a group to show it here.",
  "shown.tooMany": "At most {max} groups can be shown.",
}, {
  "shown.title": "TA 展示的群",
  "shown.hint": "以下信息来自各群的主节点；展示哪些群由成员自己决定。",
  "shown.loading": "正在询问群主节点…",
  "shown.members": "{n} / {cap} 人",
  "shown.open": "任何人都可以加入",
  "shown.approval": "需管理员审核",
  "shown.inviteOnly": "仅限邀请：请向群成员要邀请。",
  "shown.unreachable": "暂时连不上这个群的主节点。",
  "shown.retry": "重试",
  "shown.join": "加入",
  "shown.apply": "申请加入",
  "shown.note": "给管理员留言（可不填）",
  "shown.send": "发送申请",
  "shown.sent": "申请已发送，管理员通过后群会出现在你的列表里。",
  "shown.pending": "已申请",
  "shown.full": "已满",
  "shown.openGroup": "进入",
  "shown.mine": "在我的资料里展示的群",
  "shown.mineHint": "你所在群的成员能在你的资料里看到这些群，并申请加入。最多 {max} 个。",
  "shown.none": "加入群之后可以在这里展示。",
  "shown.tooMany": "最多展示 {max} 个群。",
});

// about asks the home node about a shown group ({group, host, host_addrs}).
function about(app, g) {
  const q = new URLSearchParams({ host: g.host });
  for (const a of g.host_addrs || []) q.append("addr", a);
  return app.api.call("GET", `/api/v1/groups/${g.group}/about?${q}`);
}

// shownGroups is the person card's list of the groups a member shows,
// asked of their hosts one after another; leave closes the card (a join
// opens the group).
export function shownGroups(app, groups, leave) {
  if (!app || !app.api || !groups || !groups.length) return null;
  const list = h("ul", { class: "list shown-list" });
  const items = groups.map((g) => shownItem(app, g, leave));
  clear(list, items.map((i) => i.li));
  (async () => { for (const i of items) await i.load(); })();
  return h("section", { class: "person-groups", id: "person-groups" },
    h("h3", {}, t("shown.title")), list, h("p", { class: "hint" }, t("shown.hint")));
}

function shownItem(app, g, leave) {
  const name = h("strong", { class: "shown-name" }, short(g.group));
  const meta = h("p", { class: "meta shown-meta" }, t("shown.loading"));
  const action = h("div", { class: "shown-action" });
  const status = h("p", { class: "status shown-status", role: "status", "aria-live": "polite" });
  const note = h("input", { class: "shown-note", maxlength: 500, "aria-label": t("shown.note"), placeholder: t("shown.note"), autocomplete: "off" });
  const send = h("button", { type: "submit", class: "primary shown-send" }, t("shown.send"));
  const form = h("form", { class: "form shown-apply", hidden: true }, note, send);
  const li = h("li", { class: "shown-group", "data-group": g.group },
    h("div", { class: "row" }, h("div", { class: "grow" }, name, meta), action), form, status);
  const say = (text, kind) => { status.textContent = text || ""; status.className = "status shown-status " + (kind || ""); };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(send, async () => {
      say("");
      try {
        await app.api.submit(KIND.join_request, fromHex(g.group), body.join(new Uint8Array(0), note.value.trim()), g.host_addrs);
        form.hidden = true;
        clear(action, h("span", { class: "badge shown-pending" }, t("shown.pending")));
        say(t("shown.sent"), "ok");
        if (app.inbox) app.inbox.refresh().catch(() => { /* the next reconnect reads it */ });
      } catch (err) {
        say(errorText(err), "error");
      }
    });
  });
  const join = (e) => busy(e.target, async () => {
    say("");
    try {
      await app.api.submit(KIND.join, fromHex(g.group), body.join(new Uint8Array(0), ""), g.host_addrs);
    } catch (err) {
      if (err.code !== "conflict") return say(errorText(err), "error");
    }
    if (app.profiles) app.profiles.push(g.group).catch(() => { /* ensure tries again */ });
    leave();
    app.go("#/g/" + g.group);
  });
  const load = async () => {
    let d;
    try {
      d = await about(app, g);
    } catch (err) {
      if (err.code === "invite_required") { meta.textContent = t("shown.inviteOnly"); return; }
      meta.textContent = err.code === "unavailable" ? t("shown.unreachable") : errorText(err);
      clear(action, h("button", { type: "button", class: "shown-retry", onclick: (e) => busy(e.target, load) }, t("shown.retry")));
      return;
    }
    name.textContent = d.name || short(g.group);
    meta.textContent = t("shown.members", { n: d.members, cap: d.cap }) + " · " + t(d.policy === "open" ? "shown.open" : "shown.approval");
    const mine = app.inbox && app.inbox.loaded ? app.inbox.list().find((x) => x.gid === g.group) : null;
    let el;
    if (mine && !mine.summary.pending) el = h("a", { class: "button shown-open", href: "/#/g/" + g.group, onclick: () => leave() }, t("shown.openGroup"));
    else if (mine) el = h("span", { class: "badge shown-pending" }, t("shown.pending"));
    else if (d.full) el = h("span", { class: "badge" }, t("shown.full"));
    else if (d.policy === "open") el = h("button", { type: "button", class: "primary shown-join", onclick: join }, t("shown.join"));
    else el = h("button", { type: "button", class: "shown-request", onclick: () => { form.hidden = !form.hidden; if (!form.hidden) note.focus(); } }, t("shown.apply"));
    clear(action, el);
  };
  return { li, load };
}

// shownChooser is the "me" screen's choice of the groups to show: the
// user's groups (not those asked to join), at most MAX_SHOWN. value()
// lists the chosen, in the order of the list; set(ids) checks them; stop
// ends its watch of the list of groups.
export function shownChooser(app) {
  const list = h("div", { class: "shown-choices", id: "shown-choices" });
  const warn = h("p", { class: "hint", id: "shown-warn" });
  const boxes = new Map(); // gid -> checkbox
  const chosen = new Set(); // the gids checked
  const limit = () => {
    for (const b of boxes.values()) b.disabled = !b.checked && chosen.size >= MAX_SHOWN;
    warn.textContent = chosen.size >= MAX_SHOWN ? t("shown.tooMany", { max: MAX_SHOWN }) : "";
  };
  const render = () => {
    const groups = app.inbox && app.inbox.loaded ? app.inbox.list().filter((g) => !g.summary.pending) : [];
    boxes.clear();
    clear(list, groups.length ? groups.map((g) => {
      const cb = h("input", {
        type: "checkbox", value: g.gid, checked: chosen.has(g.gid),
        onchange: () => { if (cb.checked) chosen.add(g.gid); else chosen.delete(g.gid); limit(); },
      });
      boxes.set(g.gid, cb);
      return h("label", { class: "check shown-choice", "data-group": g.gid }, cb, g.summary.name || short(g.gid));
    }) : h("p", { class: "muted" }, t("shown.none")));
    limit();
  };
  const unwatch = app.inbox ? app.inbox.watch(render) : () => {};
  render();
  return {
    el: h("fieldset", { class: "shown-mine", id: "shown-mine" }, h("legend", {}, t("shown.mine")),
      h("p", { class: "hint" }, t("shown.mineHint", { max: MAX_SHOWN })), list, warn),
    value: () => [...boxes.keys()].filter((gid) => chosen.has(gid)),
    set: (ids) => { chosen.clear(); for (const id of ids || []) chosen.add(id); render(); },
    stop: unwatch,
  };
}
