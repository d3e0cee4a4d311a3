// The shop's profile page (#/p, 展示我的粉丝群): who the shop is and the
// groups a fan may join or apply to, read from GET /api/v1/profile of the
// node that serves the page — no key is needed to look, joining asks for
// one. A node admin edits the profile here (PUT /api/v1/merchant/profile).

import { t, addWords } from "./i18n.js";
import { h, clear, statusLine, busy } from "./ui.js";
import { KIND, body } from "./proto.js";
import { fromHex } from "./codec.js";
import { fitAvatar } from "./names.js";

addWords({
  "dir.title": "The shop's groups",
  "dir.find": "Find the shop's groups",
  "dir.findHint": "The groups this shop invites you to join.",
  "dir.none": "The shop lists no groups yet.",
  "dir.members": "{n} / {cap} members",
  "dir.open": "Anyone may join",
  "dir.approval": "An admin approves each request",
  "dir.full": "Full",
  "dir.join": "Join",
  "dir.apply": "Apply to join",
  "dir.applyTitle": "Apply to join {name}",
  "dir.note": "A word for the admins (optional)",
  "dir.notePlaceholder": "e.g. your order number",
  "dir.send": "Send the request",
  "dir.sent": "Your request was sent. The group opens here as soon as an admin approves it.",
  "dir.pending": "Request sent",
  "dir.declined": "The admins declined your request.",
  "dir.openGroup": "Open",
  "dir.needKey": "To join, first make a key for this browser: it signs what you write.",
  "dir.makeKey": "Make a key to join",
  "dir.edit": "Edit the profile",
  "dir.editHint": "What everyone sees on this page. List the groups fans may join (open) or apply to (by approval); invite-only groups cannot be listed.",
  "dir.name": "Shop name",
  "dir.description": "Description",
  "dir.avatar": "Picture",
  "dir.avatarRemove": "Remove the picture",
  "dir.groups": "Groups shown",
  "dir.noCandidates": "No group can be listed yet: make an open or approval group first.",
  "dir.save": "Save the profile",
  "dir.saved": "Saved.",
  "dir.uploading": "Uploading the picture…",
}, {
  "dir.title": "本店的群",
  "dir.find": "找本店的群",
  "dir.findHint": "本店邀请你加入的群。",
  "dir.none": "本店还没有展示群。",
  "dir.members": "{n} / {cap} 人",
  "dir.open": "任何人都可以加入",
  "dir.approval": "需管理员审核",
  "dir.full": "已满",
  "dir.join": "加入",
  "dir.apply": "申请加入",
  "dir.applyTitle": "申请加入「{name}」",
  "dir.note": "给管理员留言（可不填）",
  "dir.notePlaceholder": "例如你的订单号",
  "dir.send": "发送申请",
  "dir.sent": "申请已发送，管理员通过后群会在这里打开。",
  "dir.pending": "已申请",
  "dir.declined": "管理员拒绝了你的申请。",
  "dir.openGroup": "进入",
  "dir.needKey": "加入之前，请先为这个浏览器生成密钥：你发的内容都用它签名。",
  "dir.makeKey": "生成密钥后加入",
  "dir.edit": "编辑主页",
  "dir.editHint": "这个页面所有人都能看到。选择要展示的群：公开群可直接加入，审核群可申请加入；仅限邀请的群不能展示。",
  "dir.name": "店铺名称",
  "dir.description": "简介",
  "dir.avatar": "头像",
  "dir.avatarRemove": "去掉头像",
  "dir.groups": "展示的群",
  "dir.noCandidates": "还没有可展示的群：请先创建公开群或审核群。",
  "dir.save": "保存主页",
  "dir.saved": "已保存。",
  "dir.uploading": "正在上传头像…",
});

// profileScreen shows the profile; show holds what app.js lends it: page
// (renders a screen), keySetup (the key screen, which comes back here) and
// openJoin (the join screen of an invite token).
export async function profileScreen(app, show) {
  const status = statusLine("dir-status");
  const box = h("div", { id: "shop-profile" }, h("p", { class: "muted" }, t("common.loading")));
  const editor = h("div", { id: "dir-editor" });
  show.page(h("section", { class: "card" }, box, status), editor);
  app.setTitle(t("dir.title"));
  let p;
  try {
    p = await app.api.fetchJSON("GET", "/api/v1/profile");
  } catch (e) {
    clear(box);
    return status.error(e);
  }
  app.setTitle(p.name || t("dir.title"));
  const list = h("ul", { class: "list", id: "dir-groups" });
  clear(box,
    h("div", { class: "row dir-head" },
      p.avatar ? h("img", { class: "avatar dir-avatar", src: p.avatar + "?v=" + Date.now(), alt: "" }) : h("span", { class: "avatar dir-avatar" }, (p.name || "#").slice(0, 1)),
      h("div", { class: "grow" }, h("h1", { id: "dir-name" }, p.name), p.description ? h("p", { id: "dir-description" }, p.description) : null)),
    h("h2", {}, t("dir.title")),
    app.signer ? null : h("p", { class: "hint", id: "dir-need-key" }, t("dir.needKey")),
    list);
  const items = p.groups.map((g) => groupItem(app, show, p, g, status));
  if (!items.length) clear(list, h("li", { class: "muted", id: "dir-none" }, t("dir.none")));
  else clear(list, items.map((i) => i.li));
  // Buttons follow the user's groups: joined, asked, approved.
  if (app.inbox) {
    const fill = () => items.forEach((i) => i.fill());
    const unwatch = app.inbox.watch(fill);
    const stopMembership = app.live ? app.live.watchMembership((m) => {
      if (m.change === "reject" && items.some((i) => i.gid === m.group)) status.show(t("dir.declined"), "error");
      app.inbox.refresh().catch(() => { /* the next reconnect reads it */ });
    }) : () => {};
    const prev = app.cleanup;
    app.cleanup = () => { unwatch(); stopMembership(); if (prev) prev(); };
    fill();
  }
  if (app.signer && app.node && app.node.admins.includes(app.signer.id)) editProfile(app, editor, () => profileScreen(app, show));
}

// groupItem is one group of the profile, with what the user can do.
function groupItem(app, show, p, g, status) {
  const action = h("div", { class: "dir-action" });
  const form = h("form", { class: "form dir-apply", hidden: true });
  const li = h("li", { class: "dir-group", "data-group": g.group },
    h("div", { class: "row" },
      h("span", { class: "avatar" }, (g.name || "#").slice(0, 1)),
      h("div", { class: "grow" },
        h("strong", { class: "dir-group-name" }, g.name),
        h("p", { class: "meta" }, t("dir.members", { n: g.members, cap: g.cap }), " · ", t(g.policy === "open" ? "dir.open" : "dir.approval")),
        g.description ? h("p", { class: "dir-group-description" }, g.description) : null),
      action),
    form);
  const note = h("input", { class: "dir-note", maxlength: 500, placeholder: t("dir.notePlaceholder"), autocomplete: "off" });
  const sendBtn = h("button", { type: "submit", class: "primary dir-send" }, t("dir.send"));
  clear(form, h("h3", {}, t("dir.applyTitle", { name: g.name })), h("label", {}, t("dir.note"), note), sendBtn);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(sendBtn, async () => {
      status.clear();
      try {
        await app.api.submit(KIND.join_request, fromHex(g.group), body.join(new Uint8Array(0), note.value.trim()), p.host_addrs);
        form.hidden = true;
        status.ok(t("dir.sent"));
        await app.inbox.refresh().catch(() => {});
      } catch (err) {
        status.error(err);
      }
    });
  });
  const joinOpen = (e) => busy(e.target, async () => {
    status.clear();
    if (g.token) return show.openJoin(g.token);
    try {
      await app.api.submit(KIND.join, fromHex(g.group), body.join(new Uint8Array(0), ""), p.host_addrs);
      if (app.profiles) app.profiles.push(g.group).catch(() => { /* ensure tries again */ });
      app.go("#/g/" + g.group);
    } catch (err) {
      if (err.code === "conflict") return app.go("#/g/" + g.group);
      status.error(err);
    }
  });
  const fill = () => {
    const mine = app.inbox && app.inbox.loaded ? app.inbox.list().find((x) => x.gid === g.group) : null;
    let el;
    if (!app.signer) {
      el = h("button", { class: "dir-key", onclick: () => show.keySetup() }, t(g.policy === "open" ? "dir.join" : "dir.apply"));
    } else if (mine && !mine.summary.pending) {
      form.hidden = true;
      el = h("a", { class: "button dir-open", href: "/#/g/" + g.group }, t("dir.openGroup"));
    } else if (mine) {
      el = h("span", { class: "badge dir-pending" }, t("dir.pending"));
    } else if (g.full) {
      el = h("span", { class: "badge dir-full" }, t("dir.full"));
    } else if (g.policy === "open") {
      el = h("button", { class: "primary dir-join", onclick: joinOpen }, t("dir.join"));
    } else {
      el = h("button", { class: "dir-request", onclick: () => { form.hidden = !form.hidden; if (!form.hidden) note.focus(); } }, t("dir.apply"));
    }
    clear(action, el);
  };
  fill();
  return { li, fill, gid: g.group };
}

// editProfile is the admin's form: name, description, picture, and the
// groups shown — the service's open and approval groups and the admin's
// own groups hosted here (the node refuses, with its reason, any other).
async function editProfile(app, el, reload) {
  let set, svc;
  try {
    [set, svc] = await Promise.all([app.api.call("GET", "/api/v1/merchant/profile"), app.api.call("GET", "/api/v1/merchant/service")]);
  } catch (e) {
    const st = statusLine("dir-edit-status");
    clear(el, h("section", { class: "card" }, h("h2", {}, t("dir.edit")), st));
    return st.error(e);
  }
  const status = statusLine("dir-edit-status");
  const name = h("input", { id: "dir-edit-name", required: true, maxlength: 64, value: set.name || "", autocomplete: "off" });
  const desc = h("textarea", { id: "dir-edit-description", rows: 3, maxlength: 1000 });
  desc.value = set.description || "";
  let avatar = set.avatar || null;
  const file = h("input", { id: "dir-edit-avatar", type: "file", accept: "image/*" });
  const removeAvatar = h("button", { type: "button", class: "link", id: "dir-edit-avatar-remove", hidden: !avatar, onclick: () => { avatar = null; removeAvatar.hidden = true; } }, t("dir.avatarRemove"));
  file.addEventListener("change", () => {
    const f = file.files[0];
    if (!f) return;
    busy(save, async () => {
      status.show(t("dir.uploading"));
      try {
        const fit = await fitAvatar(f);
        const up = app.api.upload(fit, f.name, null, "avatar");
        const v = await up.promise;
        avatar = { hash: v.hash, mime: v.mime, size: v.size, width: v.width, height: v.height };
        removeAvatar.hidden = false;
        status.clear();
      } catch (e) {
        if (e instanceof Error && !e.code && e.message.startsWith("profile.")) return status.show(t(e.message), "error");
        status.error(e);
      }
    });
  });
  // The candidates: listed ones first, in their order, then the others.
  const cands = new Map();
  for (const gid of set.groups) cands.set(gid, { gid, name: gid.slice(0, 8) });
  for (const g of svc.groups) if (!g.closed && g.policy !== "invite") cands.set(g.group, { gid: g.group, name: g.name });
  if (app.inbox && app.inbox.loaded) {
    for (const g of app.inbox.list()) if (g.summary.hosted && !cands.has(g.gid) && g.summary.role === "owner") cands.set(g.gid, { gid: g.gid, name: g.summary.name });
  }
  for (const g of svc.groups) if (cands.has(g.group)) cands.get(g.group).name = g.name;
  const boxes = [...cands.values()].map((c) => {
    const cb = h("input", { type: "checkbox", value: c.gid, checked: set.groups.includes(c.gid) });
    return { c, cb, el: h("label", { class: "check dir-candidate", "data-group": c.gid }, cb, c.name) };
  });
  const save = h("button", { type: "submit", class: "primary", id: "dir-edit-save" }, t("dir.save"));
  clear(el, h("section", { class: "card", id: "dir-edit" },
    h("h2", {}, t("dir.edit")),
    h("p", { class: "hint" }, t("dir.editHint")),
    h("form", {
      class: "form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(save, async () => {
          status.clear();
          const groups = boxes.filter((b) => b.cb.checked).map((b) => b.c.gid);
          const req = { name: name.value.trim(), description: desc.value.trim(), groups };
          if (avatar) req.avatar = avatar;
          try {
            await app.api.call("PUT", "/api/v1/merchant/profile", req);
            status.ok(t("dir.saved"));
            reload();
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    h("label", {}, t("dir.name"), name),
    h("label", {}, t("dir.description"), desc),
    h("label", {}, t("dir.avatar"), file), removeAvatar,
    h("fieldset", { class: "dir-candidates" }, h("legend", {}, t("dir.groups")),
      boxes.length ? boxes.map((b) => b.el) : h("p", { class: "muted" }, t("dir.noCandidates"))),
    save),
    status));
}

// shopLink is the groups screen's way to the profile: shown when the shop
// lists groups (or to a node admin, who edits it there).
export function shopLink(app) {
  const el = h("section", { class: "card", id: "dir-find", hidden: true },
    h("a", { class: "button", href: "/#/p", id: "btn-dir-find" }, t("dir.find")),
    h("p", { class: "hint" }, t("dir.findHint")));
  const admin = app.signer && app.node && app.node.admins.includes(app.signer.id);
  app.api.fetchJSON("GET", "/api/v1/profile").then((p) => { el.hidden = !(p.groups.length || admin); }).catch(() => { el.hidden = !admin; });
  return el;
}
