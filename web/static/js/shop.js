// The merchant's admin panel (店铺后台, #/shop) for the node's admins: the
// order groups, the rules of a group, broadcasts, live codes (活码) and the
// analytics with the confirmations of a group's announcement. Everything is
// the merchant API (docs/MERCHANT.md), which takes a node admin's session
// as its token; a refusal shows as the node's sentence. The charts are
// inline SVG drawn here, with their figures also in a table.

import { t, lang, addWords } from "./i18n.js";
import { h, clear, short, statusLine, busy, fmtDateTime, copyText } from "./ui.js";

addWords({
  "shop.open": "Shop admin",
  "shop.openHint": "Orders, rules, broadcasts, live codes and figures of the shop's groups.",
  "shop.title": "Shop admin",
  "shop.notAdmin": "Only this node's admins can use the shop admin: import the node's admin key (qun-data/admin.key).",
  "shop.tab.orders": "Orders",
  "shop.tab.rules": "Rules",
  "shop.tab.broadcasts": "Broadcasts",
  "shop.tab.live": "Live codes",
  "shop.tab.stats": "Analytics",
  "shop.noGroups": "The shop has no groups yet: open an order group or make a live code first.",
  "shop.copy": "Copy",
  "shop.copied": "Copied",
  "shop.qr": "QR code of {what}",
  "shop.more": "Show more",
  "shop.none": "None",

  "shop.order.openTitle": "Open an order group",
  "shop.order.openHint": "One small group per order, with the buyer, your staff and, once it ships, the courier. Never put a phone number or an address here: the buyer's reference is shown to your staff.",
  "shop.order.id": "Order ID",
  "shop.order.idPlaceholder": "e.g. A1001",
  "shop.order.buyer": "Buyer's reference (optional)",
  "shop.order.buyerPlaceholder": "e.g. u-77",
  "shop.order.submit": "Open the group",
  "shop.order.opened": "The group of order {order} is open.",
  "shop.order.existing": "Order {order} had its group already.",
  "shop.order.listTitle": "Order groups",
  "shop.order.filter": "State",
  "shop.order.all": "All states",
  "shop.order.empty": "No order groups.",
  "shop.order.buyerRef": "Buyer {buyer}",
  "shop.order.since": "since {time}",
  "shop.order.back": "All orders",
  "shop.order.title": "Order {order}",
  "shop.order.states": "Progress",
  "shop.order.notYet": "not yet",
  "shop.order.invites": "Invites",
  "shop.order.invitesClosed": "A closed order's group takes no one new: it has no invites.",
  "shop.order.inviteExpires": "Valid until {time}",
  "shop.order.courier": "Courier",
  "shop.order.courierUntil": "The courier leaves the group at {time}.",
  "shop.order.courierRemoved": "The courier has left the group.",
  "shop.order.closesAt": "The group closes at {time}.",
  "shop.order.openChat": "Open the group",
  "shop.order.next": "Next step",
  "shop.order.grace": "Courier keeps access (hours)",
  "shop.order.closeAfter": "Close the group after (days)",
  "shop.order.delayHint": "Empty: the node's defaults (2 hours, 7 days).",
  "shop.order.moved": "Order {order} is now: {state}.",
  "shop.state.accepted": "Accepted",
  "shop.state.dispatched": "Dispatched",
  "shop.state.delivered": "Delivered",
  "shop.state.closed": "Closed",
  "shop.next.dispatched": "Mark as dispatched",
  "shop.next.delivered": "Mark as delivered",
  "shop.next.closed": "Close the order group",
  "shop.invite.buyer": "Buyer's invite",
  "shop.invite.staff": "Staff invite",
  "shop.invite.courier": "Courier's invite",

  "shop.rules.group": "Group",
  "shop.rules.hint": "The host enforces these rules on everyone below admin; the shop assistant posts the welcome and the replies. The shop assistant must be an admin of the group.",
  "shop.rules.welcome": "Welcome message for new members",
  "shop.rules.replies": "Keyword replies",
  "shop.rules.keyword": "Keyword",
  "shop.rules.replyText": "Reply",
  "shop.rules.addReply": "Add a reply",
  "shop.rules.removeReply": "Remove",
  "shop.rules.refuse": "Refuse",
  "shop.rules.refuseLinks": "Links",
  "shop.rules.refuseMedia": "Images, files and product cards",
  "shop.rules.refuseWords": "Words (one per line)",
  "shop.rules.newDays": "Only from members who joined less than this many days ago (0: everyone)",
  "shop.rules.strikes": "Refusals before the action (0: no action)",
  "shop.rules.action": "Action",
  "shop.rules.muteMinutes": "Mute for (minutes)",
  "shop.rules.slow": "Slow mode: one message per member every so many seconds (0: off)",
  "shop.rules.save": "Save the rules",
  "shop.rules.saved": "The rules are saved.",
  "shop.rules.none": "The group has no rules yet.",
  "shop.action.warn": "Warn",
  "shop.action.mute": "Mute",
  "shop.action.kick": "Remove from the group",

  "shop.bc.compose": "New broadcast",
  "shop.bc.text": "Text",
  "shop.bc.textPlaceholder": "e.g. The live stream starts now!",
  "shop.bc.link": "Link (optional)",
  "shop.bc.mentionAll": "Mention everyone (@all)",
  "shop.bc.kind": "Send as",
  "shop.bc.kind.message": "A message",
  "shop.bc.kind.announce": "The announcement",
  "shop.bc.to": "To",
  "shop.bc.to.all": "All the shop's groups",
  "shop.bc.to.groups": "The groups chosen below",
  "shop.bc.to.family": "Every group of a live code",
  "shop.bc.to.tags": "The groups with these tags",
  "shop.bc.tags": "Tags, separated by commas",
  "shop.bc.tagsInUse": "Tags in use: {tags}. Set a group's tags with qun tag GID TAG….",
  "shop.bc.groups": "Groups",
  "shop.bc.family": "Live code",
  "shop.bc.when": "When",
  "shop.bc.now": "Now",
  "shop.bc.later": "At a time",
  "shop.bc.at": "Date and time",
  "shop.bc.send": "Send",
  "shop.bc.sent": "The broadcast is on its way.",
  "shop.bc.scheduledFor": "The broadcast goes out at {time}.",
  "shop.bc.listTitle": "Broadcasts",
  "shop.bc.empty": "No broadcasts yet.",
  "shop.bc.progress": "{done} of {groups} groups",
  "shop.bc.failed": "Refused in {group}: {why}",
  "shop.bc.announceBadge": "Announcement",
  "shop.bc.noText": "Write the text of the broadcast.",
  "shop.bc.noTime": "Choose the date and time.",
  "shop.bc.state.scheduled": "Scheduled",
  "shop.bc.state.sending": "Sending",
  "shop.bc.state.sent": "Sent",

  "shop.live.create": "New live code",
  "shop.live.hint": "One link and QR code for a family of groups: each takes people up to its cap, then the next one opens.",
  "shop.live.name": "Name",
  "shop.live.namePlaceholder": "e.g. Fans",
  "shop.live.cap": "People per group",
  "shop.live.submit": "Make the live code",
  "shop.live.created": "Live code “{name}” is ready.",
  "shop.live.listTitle": "Live codes",
  "shop.live.empty": "No live codes yet.",
  "shop.live.members": "{n} people · up to {cap} per group",
  "shop.live.shard": "Group {k}",
  "shop.live.shardMembers": "{n} / {cap}",
  "shop.live.download": "Download the QR code",

  "shop.stats.subject": "Figures of",
  "shop.stats.groups": "Groups",
  "shop.stats.families": "Live codes",
  "shop.stats.days": "Last {n} days",
  "shop.stats.membersNow": "Members",
  "shop.stats.active7": "Wrote in 7 days",
  "shop.stats.active30": "Wrote in 30 days",
  "shop.stats.joinsTotal": "Joined",
  "shop.stats.messagesTotal": "Messages",
  "shop.stats.membersChart": "Members at the end of each day",
  "shop.stats.joinsChart": "Joins per day, by source",
  "shop.stats.messagesChart": "Messages per day",
  "shop.stats.axisDay": "Day (UTC)",
  "shop.stats.axisMembers": "Members",
  "shop.stats.axisJoins": "Joins",
  "shop.stats.axisMessages": "Messages",
  "shop.stats.table": "The figures per day",
  "shop.stats.date": "Day",
  "shop.stats.members": "Members",
  "shop.stats.joins": "Joins: {source}",
  "shop.stats.joinsAll": "Joins",
  "shop.stats.leaves": "Left",
  "shop.stats.removed": "Removed",
  "shop.stats.messages": "Messages",
  "shop.stats.csv": "Download CSV",
  "shop.stats.csvLoading": "Preparing the CSV…",
  "shop.src.order": "Orders",
  "shop.src.live": "Live code",
  "shop.src.invite": "Other invites",
  "shop.src.open": "Open group",
  "shop.src.approval": "Approved",
  "shop.src.directory": "Shop profile",
  "shop.confirm.title": "Confirmations of the announcement",
  "shop.confirm.none": "The group has no announcement to confirm.",
  "shop.confirm.summary": "{confirmed} of {total} members confirmed.",
  "shop.confirm.yes": "Confirmed ({n})",
  "shop.confirm.no": "Not yet ({n})",
}, {
  "shop.open": "店铺后台",
  "shop.openHint": "订单群、群规则、群发、活码和数据，都在这里管理。",
  "shop.title": "店铺后台",
  "shop.notAdmin": "只有本节点的管理员能使用店铺后台：请导入节点的管理员密钥（qun-data/admin.key）。",
  "shop.tab.orders": "订单",
  "shop.tab.rules": "群规则",
  "shop.tab.broadcasts": "群发",
  "shop.tab.live": "活码",
  "shop.tab.stats": "数据",
  "shop.noGroups": "店铺还没有群：请先开一个订单群或创建活码。",
  "shop.copy": "复制",
  "shop.copied": "已复制",
  "shop.qr": "{what}的二维码",
  "shop.more": "加载更多",
  "shop.none": "无",

  "shop.order.openTitle": "开订单群",
  "shop.order.openHint": "每个订单一个小群：买家、店员，发货后再加上快递员。不要填手机号或地址：买家编号店员都能看到。",
  "shop.order.id": "订单号",
  "shop.order.idPlaceholder": "例如 A1001",
  "shop.order.buyer": "买家编号（可不填）",
  "shop.order.buyerPlaceholder": "例如 u-77",
  "shop.order.submit": "开群",
  "shop.order.opened": "订单 {order} 的群已开好。",
  "shop.order.existing": "订单 {order} 已经有群了。",
  "shop.order.listTitle": "订单群",
  "shop.order.filter": "状态",
  "shop.order.all": "全部状态",
  "shop.order.empty": "没有订单群。",
  "shop.order.buyerRef": "买家 {buyer}",
  "shop.order.since": "{time} 起",
  "shop.order.back": "全部订单",
  "shop.order.title": "订单 {order}",
  "shop.order.states": "进度",
  "shop.order.notYet": "尚未",
  "shop.order.invites": "邀请",
  "shop.order.invitesClosed": "订单群已关闭，不再加人，没有邀请。",
  "shop.order.inviteExpires": "有效期至 {time}",
  "shop.order.courier": "快递员",
  "shop.order.courierUntil": "快递员将于 {time} 移出群。",
  "shop.order.courierRemoved": "快递员已移出群。",
  "shop.order.closesAt": "群将于 {time} 关闭。",
  "shop.order.openChat": "进入群聊",
  "shop.order.next": "下一步",
  "shop.order.grace": "快递员保留权限（小时）",
  "shop.order.closeAfter": "多少天后关闭群",
  "shop.order.delayHint": "不填则用节点默认值（2 小时、7 天）。",
  "shop.order.moved": "订单 {order} 已更新为：{state}。",
  "shop.state.accepted": "已接单",
  "shop.state.dispatched": "已发货",
  "shop.state.delivered": "已送达",
  "shop.state.closed": "已关闭",
  "shop.next.dispatched": "标记为已发货",
  "shop.next.delivered": "标记为已送达",
  "shop.next.closed": "关闭订单群",
  "shop.invite.buyer": "买家邀请",
  "shop.invite.staff": "店员邀请",
  "shop.invite.courier": "快递员邀请",

  "shop.rules.group": "群",
  "shop.rules.hint": "规则由群主节点执行，对管理员以下的成员生效；欢迎语和自动回复由店铺助手发送。店铺助手必须是该群的管理员。",
  "shop.rules.welcome": "新成员欢迎语",
  "shop.rules.replies": "关键词自动回复",
  "shop.rules.keyword": "关键词",
  "shop.rules.replyText": "回复内容",
  "shop.rules.addReply": "添加回复",
  "shop.rules.removeReply": "删除",
  "shop.rules.refuse": "禁止发送",
  "shop.rules.refuseLinks": "链接",
  "shop.rules.refuseMedia": "图片、文件和商品卡片",
  "shop.rules.refuseWords": "违禁词（每行一个）",
  "shop.rules.newDays": "只限入群不满几天的成员（0 表示所有人）",
  "shop.rules.strikes": "违规几次后处理（0 表示不处理）",
  "shop.rules.action": "处理方式",
  "shop.rules.muteMinutes": "禁言时长（分钟）",
  "shop.rules.slow": "慢速模式：每位成员每隔几秒才能发一条（0 表示关闭）",
  "shop.rules.save": "保存规则",
  "shop.rules.saved": "规则已保存。",
  "shop.rules.none": "这个群还没有规则。",
  "shop.action.warn": "警告",
  "shop.action.mute": "禁言",
  "shop.action.kick": "移出群",

  "shop.bc.compose": "新建群发",
  "shop.bc.text": "内容",
  "shop.bc.textPlaceholder": "例如：开播啦！",
  "shop.bc.link": "链接（可不填）",
  "shop.bc.mentionAll": "@所有人",
  "shop.bc.kind": "发送为",
  "shop.bc.kind.message": "普通消息",
  "shop.bc.kind.announce": "群公告",
  "shop.bc.to": "发给",
  "shop.bc.to.all": "店铺的所有群",
  "shop.bc.to.groups": "下面选中的群",
  "shop.bc.to.family": "某个活码的所有群",
  "shop.bc.to.tags": "带这些标签的群",
  "shop.bc.tags": "标签，用逗号分隔",
  "shop.bc.tagsInUse": "已用的标签：{tags}。用 qun tag GID 标签… 给群加标签。",
  "shop.bc.groups": "群",
  "shop.bc.family": "活码",
  "shop.bc.when": "发送时间",
  "shop.bc.now": "立即发送",
  "shop.bc.later": "定时发送",
  "shop.bc.at": "日期和时间",
  "shop.bc.send": "发送",
  "shop.bc.sent": "群发已开始。",
  "shop.bc.scheduledFor": "将于 {time} 群发。",
  "shop.bc.listTitle": "群发记录",
  "shop.bc.empty": "还没有群发。",
  "shop.bc.progress": "已发 {done} / {groups} 个群",
  "shop.bc.failed": "“{group}”拒收：{why}",
  "shop.bc.announceBadge": "群公告",
  "shop.bc.noText": "请填写群发内容。",
  "shop.bc.noTime": "请选择日期和时间。",
  "shop.bc.state.scheduled": "待发送",
  "shop.bc.state.sending": "发送中",
  "shop.bc.state.sent": "已发送",

  "shop.live.create": "新建活码",
  "shop.live.hint": "一个链接、一个二维码对应一组群：一个群满了，自动开下一个。",
  "shop.live.name": "名称",
  "shop.live.namePlaceholder": "例如：粉丝群",
  "shop.live.cap": "每群人数上限",
  "shop.live.submit": "生成活码",
  "shop.live.created": "活码“{name}”已生成。",
  "shop.live.listTitle": "活码",
  "shop.live.empty": "还没有活码。",
  "shop.live.members": "共 {n} 人 · 每群最多 {cap} 人",
  "shop.live.shard": "{k} 号群",
  "shop.live.shardMembers": "{n} / {cap}",
  "shop.live.download": "下载二维码",

  "shop.stats.subject": "查看",
  "shop.stats.groups": "群",
  "shop.stats.families": "活码",
  "shop.stats.days": "近 {n} 天",
  "shop.stats.membersNow": "成员",
  "shop.stats.active7": "7 天内发言",
  "shop.stats.active30": "30 天内发言",
  "shop.stats.joinsTotal": "入群",
  "shop.stats.messagesTotal": "消息",
  "shop.stats.membersChart": "每日成员数（日终）",
  "shop.stats.joinsChart": "每日入群人数（按来源）",
  "shop.stats.messagesChart": "每日消息数",
  "shop.stats.axisDay": "日期（UTC）",
  "shop.stats.axisMembers": "成员",
  "shop.stats.axisJoins": "入群",
  "shop.stats.axisMessages": "消息",
  "shop.stats.table": "每日数据",
  "shop.stats.date": "日期",
  "shop.stats.members": "成员",
  "shop.stats.joins": "入群：{source}",
  "shop.stats.joinsAll": "入群",
  "shop.stats.leaves": "退群",
  "shop.stats.removed": "被移出",
  "shop.stats.messages": "消息",
  "shop.stats.csv": "下载 CSV",
  "shop.stats.csvLoading": "正在生成 CSV…",
  "shop.src.order": "订单",
  "shop.src.live": "活码",
  "shop.src.invite": "其他邀请",
  "shop.src.open": "公开群",
  "shop.src.approval": "审核通过",
  "shop.src.directory": "店铺主页",
  "shop.confirm.title": "公告确认情况",
  "shop.confirm.none": "这个群现在没有需要确认的公告。",
  "shop.confirm.summary": "{total} 位成员中已有 {confirmed} 位确认。",
  "shop.confirm.yes": "已确认（{n}）",
  "shop.confirm.no": "未确认（{n}）",
});

const TABS = ["orders", "rules", "broadcasts", "live", "stats"];
const STATES = ["accepted", "dispatched", "delivered", "closed"];
const INVITES = [["buyer", "buyer_invite"], ["staff", "staff_invite"], ["courier", "courier_invite"]];
const SOURCES = ["order", "live", "invite", "open", "approval", "directory"];

const isAdmin = (app) => !!(app.signer && app.node && app.node.admins.includes(app.signer.id));

// shopEntry is the groups screen's way in, for the node's admins only.
export function shopEntry(app) {
  if (!isAdmin(app)) return null;
  return h("section", { class: "card", id: "shop-entry" },
    h("a", { class: "button", href: "/#/shop", id: "btn-shop" }, t("shop.open")),
    h("p", { class: "hint" }, t("shop.openHint")));
}

// shopScreen shows the panel; parts are the route's parts after "shop"
// (the tab, and for an order its ID); show.page renders the screen.
export function shopScreen(app, parts, show) {
  app.setTitle(t("shop.title"));
  if (!isAdmin(app)) {
    return show.page(h("section", { class: "card" }, h("h1", {}, t("shop.title")),
      h("p", { class: "status error", id: "shop-not-admin" }, t("shop.notAdmin"))));
  }
  const tab = TABS.includes(parts[0]) ? parts[0] : "orders"; // #/shop/order/ID is of the orders
  const ctx = {
    app,
    alive: true,
    timers: new Set(),
    later(f, ms) { const id = setTimeout(() => { this.timers.delete(id); if (this.alive) f(); }, ms); this.timers.add(id); },
    service: null, // GET service, read once per screen
    async groups() {
      if (!this.service) this.service = await app.api.merchant("GET", "service");
      return this.service.groups || [];
    },
    groupName(gid) {
      const g = this.service && (this.service.groups || []).find((x) => x.group === gid);
      return g ? g.name : short(gid);
    },
  };
  app.cleanup = () => { ctx.alive = false; for (const id of ctx.timers) clearTimeout(id); ctx.timers.clear(); };
  const panel = h("section", { class: "card shop-panel", id: "shop-panel-" + tab, role: "tabpanel", "aria-labelledby": "shop-tab-" + tab });
  show.page(h("div", { class: "shop", id: "shop" },
    h("h1", { id: "shop-title" }, t("shop.title")),
    h("nav", { class: "tabs shop-tabs", role: "tablist" }, TABS.map((name) => h("button", {
      type: "button", id: "shop-tab-" + name, role: "tab", class: "tab" + (tab === name ? " active" : ""),
      "aria-selected": tab === name ? "true" : "false",
      onclick: () => app.go("#/shop/" + name),
    }, t("shop.tab." + name)))),
    panel));
  const render = { orders, rules, broadcasts, live, stats }[tab];
  if (tab === "orders" && parts[0] === "order" && parts[1]) return orderDetail(ctx, panel, decodeURIComponent(parts[1]));
  return render(ctx, panel);
}

// ---- small pieces

function field(label, input, hint) {
  return h("label", {}, label, input, hint ? h("span", { class: "hint block" }, hint) : null);
}

function loading() { return h("p", { class: "muted" }, t("common.loading")); }

const qrSrc = (b64) => "data:image/png;base64," + b64;

// linkBox is a link in a read-only field with a copy button.
function linkBox(id, link, cls) {
  const input = h("input", { type: "text", readOnly: true, value: link, class: "shop-link " + (cls || ""), id: id || null, "aria-label": "URL" });
  return h("div", { class: "row" }, input,
    h("button", { type: "button", class: "shop-copy", onclick: (e) => { copyText(link); e.currentTarget.textContent = t("shop.copied"); } }, t("shop.copy")));
}

// dayLabel shows a UTC day (YYYY-MM-DD) as a short date of the user's language.
function dayLabel(date) {
  const d = new Date(date + "T00:00:00Z");
  return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en", { month: "short", day: "numeric", timeZone: "UTC" }).format(d);
}

function stateBadge(state) {
  return h("span", { class: "badge shop-state state-" + state, "data-state": state }, t("shop.state." + state));
}

// ---- orders

async function orders(ctx, panel) {
  const api = ctx.app.api;
  const status = statusLine("shop-orders-status");
  const id = h("input", { id: "shop-order-id", maxlength: 60, autocomplete: "off", spellcheck: "false", placeholder: t("shop.order.idPlaceholder") });
  const buyer = h("input", { id: "shop-order-buyer", maxlength: 60, autocomplete: "off", spellcheck: "false", placeholder: t("shop.order.buyerPlaceholder") });
  const submit = h("button", { type: "submit", class: "primary", id: "shop-order-submit" }, t("shop.order.submit"));
  const filter = h("select", { id: "shop-order-filter", "aria-label": t("shop.order.filter") },
    h("option", { value: "" }, t("shop.order.all")),
    STATES.map((s) => h("option", { value: s }, t("shop.state." + s))));
  const list = h("ul", { class: "list shop-orders", id: "shop-orders" }, h("li", { class: "muted" }, t("common.loading")));
  const listStatus = statusLine("shop-orders-list-status");
  const more = h("button", { type: "button", id: "shop-orders-more", hidden: true }, t("shop.more"));
  let next = "";
  const load = async (append) => {
    listStatus.clear();
    const q = new URLSearchParams({ limit: "20" });
    if (filter.value) q.set("state", filter.value);
    if (append && next) q.set("after", next);
    try {
      const r = await api.merchant("GET", "orders?" + q);
      if (!ctx.alive) return;
      next = r.next || "";
      const items = (r.orders || []).map(orderItem);
      if (append) list.append(...items);
      else clear(list, items.length ? items : h("li", { class: "muted", id: "shop-orders-empty" }, t("shop.order.empty")));
      more.hidden = !next;
    } catch (e) {
      if (!append) clear(list);
      listStatus.error(e);
    }
  };
  filter.addEventListener("change", () => load(false));
  more.addEventListener("click", (e) => busy(e.currentTarget, () => load(true)));
  const orderItem = (o) => {
    const last = o.states && o.states.length ? o.states[o.states.length - 1] : null;
    return h("li", { class: "shop-order", "data-order": o.order },
      h("a", { class: "shop-row", href: "/#/shop/order/" + encodeURIComponent(o.order) },
        h("span", { class: "grow" },
          h("span", { class: "name" }, o.order),
          h("span", { class: "meta block" }, [o.buyer ? t("shop.order.buyerRef", { buyer: o.buyer }) : null,
            last ? t("shop.order.since", { time: fmtDateTime(last.at) }) : null].filter(Boolean).join(" · "))),
        stateBadge(o.state)));
  };
  clear(panel,
    h("h2", {}, t("shop.order.openTitle")),
    h("p", { class: "hint" }, t("shop.order.openHint")),
    h("form", {
      class: "form", id: "shop-order-form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(submit, async () => {
          status.clear();
          // Sent as typed: the node says what is wrong with an ID.
          const req = { order: id.value };
          if (buyer.value) req.buyer = buyer.value;
          try {
            const o = await api.merchant("POST", "orders", req);
            // The order's own address, without routing again.
            history.pushState(null, "", "/#/shop/order/" + encodeURIComponent(o.order));
            orderDetail(ctx, panel, o.order, t(o.existing ? "shop.order.existing" : "shop.order.opened", { order: o.order }));
          } catch (err) {
            status.error(err);
          }
        });
      },
    }, field(t("shop.order.id"), id), field(t("shop.order.buyer"), buyer), submit),
    status,
    h("div", { class: "row between shop-list-head" }, h("h2", {}, t("shop.order.listTitle")), filter),
    list, listStatus, more);
  await load(false);
}

// orderDetail shows an order; flash is a line to show first.
async function orderDetail(ctx, panel, order, flash) {
  const app = ctx.app;
  const api = app.api;
  const status = statusLine("shop-order-status");
  if (flash) status.ok(flash);
  const box = h("div", { id: "shop-order-detail" }, loading());
  clear(panel,
    h("a", { class: "button back-button", href: "/#/shop/orders", id: "shop-order-back" }, "← " + t("shop.order.back")),
    h("h2", { id: "shop-order-title" }, t("shop.order.title", { order })),
    status, box);
  const grace = h("input", { id: "shop-order-grace", type: "number", min: 0, step: "any", inputmode: "decimal" });
  const closeAfter = h("input", { id: "shop-order-close-after", type: "number", min: 0, step: "any", inputmode: "decimal" });
  const fill = (o) => {
    const at = new Map((o.states || []).map((s) => [s.state, s.at]));
    const idx = STATES.indexOf(o.state);
    const nexts = STATES.slice(idx + 1).filter((s) => s !== "accepted");
    const move = (state) => (e) => busy(e.currentTarget, async () => {
      status.clear();
      const req = { state };
      if (state === "delivered") {
        if (grace.value !== "") req.courier_grace = Math.round(Number(grace.value) * 3600);
        if (closeAfter.value !== "") req.close_after = Math.round(Number(closeAfter.value) * 86400);
      }
      try {
        const r = await api.merchant("POST", `orders/${encodeURIComponent(order)}/state`, req);
        if (!ctx.alive) return;
        fill(r);
        status.ok(t("shop.order.moved", { order, state: t("shop.state." + r.state) }));
      } catch (err) {
        status.error(err);
      }
    });
    const invites = INVITES.filter(([, k]) => o[k]).map(([kind, k]) => {
      const inv = o[k];
      return h("div", { class: "shop-invite", id: "shop-invite-" + kind, "data-kind": kind },
        h("h3", {}, t("shop.invite." + kind)),
        linkBox("shop-invite-" + kind + "-link", inv.link, "shop-invite-link"),
        inv.expires ? h("p", { class: "hint" }, t("shop.order.inviteExpires", { time: fmtDateTime(inv.expires) })) : null,
        inv.qr_png ? h("img", { class: "shop-qr", src: qrSrc(inv.qr_png), alt: t("shop.qr", { what: t("shop.invite." + kind) }), width: 320, height: 320 }) : null);
    });
    clear(box,
      h("p", {}, stateBadge(o.state), o.buyer ? h("span", { class: "meta" }, " " + t("shop.order.buyerRef", { buyer: o.buyer })) : null),
      h("h3", {}, t("shop.order.states")),
      h("ol", { class: "shop-steps", id: "shop-order-states" }, STATES.map((s) => h("li", {
        class: "shop-step" + (at.has(s) ? " done" : "") + (s === o.state ? " current" : ""), "data-state": s,
      }, h("span", { class: "name" }, t("shop.state." + s)), " ",
      h("span", { class: "meta" }, at.has(s) ? fmtDateTime(at.get(s)) : t("shop.order.notYet"))))),
      o.courier ? h("p", { id: "shop-order-courier" }, t("shop.order.courier") + ": " + short(o.courier)) : null,
      o.courier_removed ? h("p", { class: "hint" }, t("shop.order.courierRemoved")) :
        o.courier_until ? h("p", { class: "hint" }, t("shop.order.courierUntil", { time: fmtDateTime(o.courier_until) })) : null,
      o.closes_at && o.state !== "closed" ? h("p", { class: "hint", id: "shop-order-closes" }, t("shop.order.closesAt", { time: fmtDateTime(o.closes_at) })) : null,
      nexts.length ? [
        h("h3", {}, t("shop.order.next")),
        nexts.includes("delivered") ? h("div", { class: "row wrap" }, field(t("shop.order.grace"), grace), field(t("shop.order.closeAfter"), closeAfter)) : null,
        nexts.includes("delivered") ? h("p", { class: "hint" }, t("shop.order.delayHint")) : null,
        h("div", { class: "row wrap shop-actions" }, nexts.map((s) => h("button", {
          type: "button", class: "shop-next" + (s === nexts[0] ? " primary" : "") + (s === "closed" ? " danger" : ""),
          "data-state": s, id: "shop-next-" + s, onclick: move(s),
        }, t("shop.next." + s)))),
      ] : null,
      h("h3", {}, t("shop.order.invites")),
      invites.length ? invites : h("p", { class: "hint" }, t("shop.order.invitesClosed")),
      h("p", {}, h("a", { class: "button", href: "/#/g/" + o.group, id: "shop-order-chat" }, t("shop.order.openChat"))));
  };
  try {
    const o = await api.merchant("GET", "orders/" + encodeURIComponent(order));
    if (ctx.alive) fill(o);
  } catch (e) {
    clear(box);
    status.error(e);
  }
}

// ---- rules

async function rules(ctx, panel) {
  const api = ctx.app.api;
  const status = statusLine("shop-rules-status");
  clear(panel, loading());
  let groups;
  try { groups = await ctx.groups(); } catch (e) { clear(panel, status); status.error(e); return; }
  if (!ctx.alive) return;
  if (!groups.length) return clear(panel, h("p", { class: "muted", id: "shop-no-groups" }, t("shop.noGroups")));
  const pick = h("select", { id: "shop-rules-group" }, groups.map((g) => h("option", { value: g.group }, g.name || short(g.group))));
  if (ctx.app.shopRulesGroup && groups.some((g) => g.group === ctx.app.shopRulesGroup)) pick.value = ctx.app.shopRulesGroup;
  const welcome = h("textarea", { id: "rules-welcome", rows: 2, maxlength: 1000 });
  const replies = h("ul", { class: "list shop-replies", id: "rules-replies" });
  const addReply = (r) => {
    const kw = h("input", { class: "rules-keyword", maxlength: 32, value: r ? r.keyword : "", autocomplete: "off" });
    const tx = h("textarea", { class: "rules-reply", rows: 2, maxlength: 1000 }, r ? r.text : "");
    const li = h("li", { class: "shop-reply" },
      field(t("shop.rules.keyword"), kw), field(t("shop.rules.replyText"), tx),
      h("button", { type: "button", class: "rules-remove", onclick: () => li.remove() }, t("shop.rules.removeReply")));
    replies.append(li);
    return li;
  };
  const links = h("input", { type: "checkbox", id: "rules-refuse-links" });
  const media = h("input", { type: "checkbox", id: "rules-refuse-media" });
  const words = h("textarea", { id: "rules-refuse-words", rows: 3 });
  const days = h("input", { id: "rules-new-days", type: "number", min: 0, max: 365, inputmode: "numeric" });
  const strikes = h("input", { id: "rules-strikes", type: "number", min: 0, max: 20, inputmode: "numeric" });
  const action = h("select", { id: "rules-action" }, ["warn", "mute", "kick"].map((a) => h("option", { value: a }, t("shop.action." + a))));
  const muteMin = h("input", { id: "rules-mute-minutes", type: "number", min: 0, inputmode: "numeric" });
  const slow = h("input", { id: "rules-slow-seconds", type: "number", min: 0, max: 3600, inputmode: "numeric" });
  const note = h("p", { class: "hint", id: "rules-note" });
  const save = h("button", { type: "submit", class: "primary", id: "rules-save" }, t("shop.rules.save"));
  const num = (el) => (el.value === "" ? 0 : Number(el.value));
  let loaded = {}; // the group's rules as read, with what this form does not edit
  const fill = (r) => {
    r = loaded = r || {};
    note.textContent = Object.keys(r).length ? "" : t("shop.rules.none");
    welcome.value = r.welcome || "";
    clear(replies);
    for (const a of r.replies || []) addReply(a);
    links.checked = !!r.refuse_links;
    media.checked = !!r.refuse_media;
    words.value = (r.refuse_words || []).join("\n");
    days.value = r.new_member_days ? String(r.new_member_days) : "";
    strikes.value = r.strikes ? String(r.strikes) : "";
    action.value = r.action || "warn";
    muteMin.value = r.mute_minutes ? String(r.mute_minutes) : "";
    slow.value = r.slow_seconds ? String(r.slow_seconds) : "";
  };
  let gen = 0;
  const load = async () => {
    const my = ++gen;
    status.clear();
    form.removeAttribute("data-group");
    ctx.app.shopRulesGroup = pick.value;
    try {
      const v = await api.group(pick.value);
      if (!ctx.alive || my !== gen) return;
      fill(v.rules);
      form.dataset.group = v.group; // the form holds this group's rules
    } catch (e) {
      if (my === gen) status.error(e);
    }
  };
  pick.addEventListener("change", load);
  const form = h("form", {
    class: "form", id: "rules-form",
    onsubmit: (e) => {
      e.preventDefault();
      const gid = form.dataset.group; // unset while a group's rules load
      if (!gid) return;
      busy(save, async () => {
        status.clear();
        // The rules go as a whole: fields this form does not show (of a
        // later protocol) are kept as they were.
        const r = {
          ...loaded,
          welcome: welcome.value.trim(),
          replies: [...replies.children].map((li) => ({ keyword: li.querySelector(".rules-keyword").value.trim(), text: li.querySelector(".rules-reply").value.trim() }))
            .filter((a) => a.keyword || a.text),
          refuse_links: links.checked,
          refuse_words: words.value.split("\n").map((w) => w.trim()).filter(Boolean),
          refuse_media: media.checked,
          new_member_days: num(days),
          strikes: num(strikes),
          // The action goes with strikes, the minutes with a mute.
          action: num(strikes) ? action.value : "",
          mute_minutes: num(strikes) && action.value === "mute" ? num(muteMin) : 0,
          slow_seconds: num(slow),
        };
        try {
          await api.merchant("PUT", `groups/${gid}/rules`, r);
          status.ok(t("shop.rules.saved"));
          await load();
          status.ok(t("shop.rules.saved"));
        } catch (err) {
          status.error(err);
          status.scrollIntoView({ block: "nearest" });
        }
      });
    },
  },
    field(t("shop.rules.welcome"), welcome),
    h("h3", {}, t("shop.rules.replies")),
    replies,
    h("button", { type: "button", id: "rules-add-reply", onclick: () => addReply().querySelector("input").focus() }, t("shop.rules.addReply")),
    h("h3", {}, t("shop.rules.refuse")),
    h("label", { class: "check" }, links, t("shop.rules.refuseLinks")),
    h("label", { class: "check" }, media, t("shop.rules.refuseMedia")),
    field(t("shop.rules.refuseWords"), words),
    field(t("shop.rules.newDays"), days),
    field(t("shop.rules.slow"), slow),
    h("div", { class: "row wrap" }, field(t("shop.rules.strikes"), strikes), field(t("shop.rules.action"), action), field(t("shop.rules.muteMinutes"), muteMin)),
    save,
    // Next to the button: what the node said of the rules.
    status);
  clear(panel,
    field(t("shop.rules.group"), pick),
    h("p", { class: "hint" }, t("shop.rules.hint")),
    note,
    form);
  await load();
}

// ---- broadcasts

async function broadcasts(ctx, panel) {
  const api = ctx.app.api;
  const status = statusLine("shop-bc-status");
  clear(panel, loading());
  let groups, families;
  try {
    [groups, families] = await Promise.all([ctx.groups(), api.merchant("GET", "families").then((r) => r.families || [])]);
  } catch (e) { clear(panel, status); status.error(e); return; }
  if (!ctx.alive) return;
  const text = h("textarea", { id: "bc-text", rows: 3, maxlength: 4000, placeholder: t("shop.bc.textPlaceholder") });
  const link = h("input", { id: "bc-link", type: "url", inputmode: "url", autocomplete: "off", placeholder: "https://…" });
  const mention = h("input", { type: "checkbox", id: "bc-mention-all" });
  const kind = h("select", { id: "bc-kind" }, ["message", "announce"].map((k) => h("option", { value: k }, t("shop.bc.kind." + k))));
  const to = h("select", { id: "bc-to" }, ["all", "groups", "tags", "family"].map((k) => h("option", { value: k }, t("shop.bc.to." + k))));
  const inUse = [...new Set(groups.flatMap((g) => g.tags || []))];
  const tags = h("input", { id: "bc-tags", autocomplete: "off", placeholder: inUse.slice(0, 3).join(", ") || "vip" });
  const tagsField = h("div", {}, field(t("shop.bc.tags"), tags),
    inUse.length ? h("p", { class: "hint", id: "bc-tags-in-use" }, t("shop.bc.tagsInUse", { tags: inUse.join(", ") })) : null);
  const groupBoxes = h("fieldset", { class: "shop-choices", id: "bc-groups" }, h("legend", {}, t("shop.bc.groups")),
    groups.length ? groups.map((g) => h("label", { class: "check", "data-group": g.group },
      h("input", { type: "checkbox", value: g.group, class: "bc-group" }), g.name || short(g.group))) : h("p", { class: "muted" }, t("shop.noGroups")));
  const family = h("select", { id: "bc-family" }, families.map((f) => h("option", { value: f.id }, f.name)));
  const familyField = field(t("shop.bc.family"), family);
  const when = h("select", { id: "bc-when" }, h("option", { value: "now" }, t("shop.bc.now")), h("option", { value: "later" }, t("shop.bc.later")));
  const at = h("input", { id: "bc-at", type: "datetime-local" });
  const atField = field(t("shop.bc.at"), at);
  const send = h("button", { type: "submit", class: "primary", id: "bc-send" }, t("shop.bc.send"));
  const sync = () => {
    groupBoxes.hidden = to.value !== "groups";
    tagsField.hidden = to.value !== "tags";
    familyField.hidden = to.value !== "family";
    atField.hidden = when.value !== "later";
  };
  to.addEventListener("change", sync);
  when.addEventListener("change", sync);
  sync();
  const list = h("ul", { class: "list shop-bcs", id: "bc-list" }, h("li", { class: "muted" }, t("common.loading")));
  const listStatus = statusLine("shop-bc-list-status");
  const load = async () => {
    try {
      const r = await api.merchant("GET", "broadcasts");
      if (!ctx.alive) return;
      listStatus.clear();
      const bs = r.broadcasts || [];
      clear(list, bs.length ? bs.map(bcItem) : h("li", { class: "muted", id: "bc-empty" }, t("shop.bc.empty")));
      // Follow the ones under way until they are sent.
      if (bs.some((b) => b.state !== "sent")) ctx.later(load, 1000);
    } catch (e) {
      listStatus.error(e);
    }
  };
  const bcItem = (b) => h("li", { class: "shop-bc", "data-id": b.id, "data-state": b.state },
    h("div", { class: "row between" },
      h("span", { class: "name grow bc-text" }, b.text),
      b.announce ? h("span", { class: "badge" }, t("shop.bc.announceBadge")) : null,
      h("span", { class: "badge bc-state state-" + b.state }, t("shop.bc.state." + b.state))),
    h("p", { class: "meta bc-progress" }, fmtDateTime(b.at) + " · " + t("shop.bc.progress", { done: b.done, groups: b.groups })),
    b.failed && Object.keys(b.failed).length ? h("ul", { class: "bc-failed" }, Object.entries(b.failed).map(([gid, why]) =>
      h("li", { class: "status error", "data-group": gid }, t("shop.bc.failed", { group: ctx.groupName(gid), why })))) : null);
  clear(panel,
    h("h2", {}, t("shop.bc.compose")),
    h("form", {
      class: "form", id: "bc-form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(send, async () => {
          status.clear();
          if (!text.value.trim()) return status.show(t("shop.bc.noText"));
          const req = { text: text.value.trim() };
          if (link.value.trim()) req.link = link.value.trim();
          if (mention.checked) req.mention_all = true;
          if (kind.value === "announce") req.announce = true;
          if (to.value === "all") req.all = true;
          // No group chosen sends none: the node says what is missing.
          else if (to.value === "groups") req.groups = [...groupBoxes.querySelectorAll("input:checked")].map((c) => c.value);
          else if (to.value === "tags") req.tags = tags.value.split(/[,，]/).map((x) => x.trim()).filter(Boolean);
          else req.family = family.value;
          if (when.value === "later") {
            const ms = at.value ? new Date(at.value).getTime() : NaN;
            if (!Number.isFinite(ms)) return status.show(t("shop.bc.noTime"));
            req.at = ms;
          }
          try {
            const b = await api.merchant("POST", "broadcasts", req);
            status.ok(req.at ? t("shop.bc.scheduledFor", { time: fmtDateTime(b.at) }) : t("shop.bc.sent"));
            text.value = "";
            link.value = "";
            await load();
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    field(t("shop.bc.text"), text),
    field(t("shop.bc.link"), link),
    h("label", { class: "check" }, mention, t("shop.bc.mentionAll")),
    field(t("shop.bc.kind"), kind),
    field(t("shop.bc.to"), to),
    groupBoxes, tagsField, familyField,
    field(t("shop.bc.when"), when), atField,
    send),
    status,
    h("h2", {}, t("shop.bc.listTitle")),
    list, listStatus);
  await load();
}

// ---- live codes

async function live(ctx, panel) {
  const api = ctx.app.api;
  const status = statusLine("shop-live-status");
  const name = h("input", { id: "live-name", maxlength: 64, autocomplete: "off", placeholder: t("shop.live.namePlaceholder") });
  const cap = h("input", { id: "live-cap", type: "number", min: 1, max: 9999, value: "500", inputmode: "numeric" });
  const submit = h("button", { type: "submit", class: "primary", id: "live-submit" }, t("shop.live.submit"));
  const list = h("ul", { class: "list shop-lives", id: "live-list" }, h("li", { class: "muted" }, t("common.loading")));
  const listStatus = statusLine("shop-live-list-status");
  const load = async () => {
    try {
      const r = await api.merchant("GET", "families");
      if (!ctx.alive) return;
      const fs = r.families || [];
      clear(list, fs.length ? fs.map(liveItem) : h("li", { class: "muted", id: "live-empty" }, t("shop.live.empty")));
    } catch (e) {
      listStatus.error(e);
    }
  };
  const liveItem = (f) => h("li", { class: "shop-live", "data-id": f.id },
    h("div", { class: "row between" }, h("span", { class: "name grow" }, f.name),
      h("span", { class: "meta live-members" }, t("shop.live.members", { n: f.members, cap: f.cap }))),
    linkBox("", f.link, "live-link"),
    f.qr_png ? h("img", { class: "shop-qr live-qr", src: qrSrc(f.qr_png), alt: t("shop.qr", { what: f.name }), width: 320, height: 320 }) : null,
    f.qr_png ? h("a", { class: "button live-download", href: qrSrc(f.qr_png), download: "live-code-" + f.code + ".png" }, t("shop.live.download")) : null,
    h("ol", { class: "shop-shards" }, (f.shards || []).map((s, k) => h("li", { class: "shop-shard", "data-group": s.group },
      h("a", { href: "/#/g/" + s.group, class: "button shard-link" }, t("shop.live.shard", { k: k + 1 })), " ",
      h("span", { class: "meta shard-members" }, t("shop.live.shardMembers", { n: s.members, cap: f.cap }))))));
  clear(panel,
    h("h2", {}, t("shop.live.create")),
    h("p", { class: "hint" }, t("shop.live.hint")),
    h("form", {
      class: "form", id: "live-form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(submit, async () => {
          status.clear();
          const req = { name: name.value.trim() };
          if (cap.value !== "") req.cap = Number(cap.value);
          try {
            const f = await api.merchant("POST", "families", req);
            ctx.service = null; // its first group is the service's now
            status.ok(t("shop.live.created", { name: f.name }));
            name.value = "";
            await load();
          } catch (err) {
            status.error(err);
          }
        });
      },
    }, field(t("shop.live.name"), name), field(t("shop.live.cap"), cap), submit),
    status,
    h("h2", {}, t("shop.live.listTitle")),
    list, listStatus);
  await load();
}

// ---- analytics

async function stats(ctx, panel) {
  const app = ctx.app;
  const api = app.api;
  const status = statusLine("shop-stats-status");
  clear(panel, loading());
  let groups, families;
  try {
    [groups, families] = await Promise.all([ctx.groups(), api.merchant("GET", "families").then((r) => r.families || [])]);
  } catch (e) { clear(panel, status); status.error(e); return; }
  if (!ctx.alive) return;
  if (!groups.length && !families.length) return clear(panel, h("p", { class: "muted", id: "shop-no-groups" }, t("shop.noGroups")));
  const subject = h("select", { id: "stats-subject" },
    groups.length ? h("optgroup", { label: t("shop.stats.groups") }, groups.map((g) => h("option", { value: "g:" + g.group }, g.name || short(g.group)))) : null,
    families.length ? h("optgroup", { label: t("shop.stats.families") }, families.map((f) => h("option", { value: "f:" + f.id }, f.name))) : null);
  const st = app.shopStats || (app.shopStats = { subject: "", days: 7 });
  if (st.subject && [...subject.options].some((o) => o.value === st.subject)) subject.value = st.subject;
  const dayButtons = [7, 30].map((n) => h("button", {
    type: "button", class: "tab", id: "stats-days-" + n, "aria-pressed": "false",
    onclick: () => { st.days = n; load(); },
  }, t("shop.stats.days", { n })));
  const box = h("div", { id: "stats-box" });
  const confirmBox = h("div", { id: "stats-confirm" });
  let gen = 0;
  let csvURL = "";
  const load = async () => {
    const my = ++gen;
    st.subject = subject.value;
    for (const b of dayButtons) {
      const on = b.id === "stats-days-" + st.days;
      b.className = "tab" + (on ? " active" : "");
      b.setAttribute("aria-pressed", on ? "true" : "false");
    }
    status.clear();
    clear(box, loading());
    clear(confirmBox);
    const [kind, id] = [subject.value.slice(0, 1), subject.value.slice(2)];
    const path = (kind === "g" ? "groups/" : "families/") + id + "/analytics?days=" + st.days;
    try {
      const [a, view] = await Promise.all([api.merchant("GET", path), kind === "g" ? api.group(id) : null]);
      if (!ctx.alive || my !== gen) return;
      if (csvURL) URL.revokeObjectURL(csvURL);
      csvURL = "";
      const csv = h("a", { class: "button", id: "stats-csv", "aria-disabled": "true", download: (kind === "g" ? "group-" + id.slice(0, 12) : "live-code-" + id) + "-" + st.days + "d.csv" }, t("shop.stats.csvLoading"));
      clear(box, figures(a), csv);
      api.merchantFile(path + "&format=csv").then((blob) => {
        if (!ctx.alive || my !== gen) return;
        csvURL = URL.createObjectURL(blob);
        csv.href = csvURL;
        csv.removeAttribute("aria-disabled");
        csv.textContent = t("shop.stats.csv");
      }).catch((e) => { if (my === gen) status.error(e); });
      if (view) clear(confirmBox, confirmations(view, ctx.service && ctx.service.user));
    } catch (e) {
      if (my !== gen) return;
      clear(box);
      status.error(e);
    }
  };
  subject.addEventListener("change", load);
  const prev = app.cleanup;
  app.cleanup = () => { if (csvURL) URL.revokeObjectURL(csvURL); if (prev) prev(); };
  clear(panel,
    field(t("shop.stats.subject"), subject),
    h("div", { class: "row shop-days" }, dayButtons),
    status, box, confirmBox);
  await load();
}

// figures shows an answer of the analytics: the figures of now, the three
// charts and the table.
function figures(a) {
  const days = a.days || [];
  const sources = SOURCES.filter((s) => SOURCES.slice(0, 5).includes(s) || days.some((d) => d.joins && d.joins[s]));
  for (const d of days) for (const s of Object.keys(d.joins || {})) if (!sources.includes(s)) sources.push(s);
  const joins = (d, s) => (d.joins && d.joins[s]) || 0;
  const joinsOf = (d) => sources.reduce((n, s) => n + joins(d, s), 0);
  const total = (f) => days.reduce((n, d) => n + f(d), 0);
  const fact = (id, label, value) => [h("dt", {}, label), h("dd", { id }, String(value))];
  const srcLabel = (s) => t("shop.src." + s, {}, s);
  const shown = sources.filter((s) => days.some((d) => joins(d, s))); // the table's columns
  return h("div", { class: "shop-figures" },
    h("dl", { class: "facts shop-facts" },
      fact("stats-members", t("shop.stats.membersNow"), a.members),
      fact("stats-active7", t("shop.stats.active7"), a.active_7d),
      fact("stats-active30", t("shop.stats.active30"), a.active_30d),
      fact("stats-joins", t("shop.stats.joinsTotal"), total(joinsOf)),
      fact("stats-messages", t("shop.stats.messagesTotal"), total((d) => d.messages))),
    chartFigure("chart-members", t("shop.stats.membersChart"), lineChart(days, (d) => d.members, t("shop.stats.axisMembers"))),
    chartFigure("chart-joins", t("shop.stats.joinsChart"), stackChart(days, sources, joins, t("shop.stats.axisJoins")),
      h("ul", { class: "chart-legend", id: "chart-joins-legend" }, sources.map((s) => h("li", { "data-source": s },
        h("span", { class: "swatch src-" + s, "aria-hidden": "true" }), srcLabel(s))))),
    chartFigure("chart-messages", t("shop.stats.messagesChart"), barChart(days, (d) => d.messages, t("shop.stats.axisMessages"))),
    h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "stats-table-caption" },
      h("table", { class: "shop-table", id: "stats-table" },
        h("caption", { id: "stats-table-caption" }, t("shop.stats.table")),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, t("shop.stats.date")),
          h("th", { scope: "col" }, t("shop.stats.members")),
          shown.length ? shown.map((s) => h("th", { scope: "col" }, t("shop.stats.joins", { source: srcLabel(s) }))) : h("th", { scope: "col" }, t("shop.stats.joinsAll")),
          h("th", { scope: "col" }, t("shop.stats.leaves")),
          h("th", { scope: "col" }, t("shop.stats.removed")),
          h("th", { scope: "col" }, t("shop.stats.messages")))),
        h("tbody", {}, days.map((d) => h("tr", { "data-date": d.date },
          h("th", { scope: "row" }, dayLabel(d.date)),
          h("td", { class: "col-members" }, String(d.members)),
          shown.length ? shown.map((s) => h("td", { class: "col-joins", "data-source": s }, String(joins(d, s)))) : h("td", { class: "col-joins" }, "0"),
          h("td", { class: "col-leaves" }, String(d.leaves)),
          h("td", { class: "col-removed" }, String(d.removed)),
          h("td", { class: "col-messages" }, String(d.messages))))))));
}

function chartFigure(id, title, svg, legend) {
  svg.setAttribute("id", id);
  svg.setAttribute("aria-labelledby", id + "-title");
  return h("figure", { class: "chart" }, h("figcaption", { id: id + "-title" }, title), svg, legend || null);
}

// ---- charts: inline SVG

const NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const W = 360, H = 200, ML = 40, MR = 10, MT = 12, MB = 44;
const PW = W - ML - MR, PH = H - MT - MB;

// niceMax is the top of an axis for a largest value v: 1, 2 or 5 times a
// power of ten, at least v (and at least 1).
function niceMax(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// frame draws the axes of a chart of n days with values up to max: the
// grid, the value labels, the first, middle and last day and the titles.
function frame(days, max, yTitle) {
  const n = days.length;
  const y = (v) => MT + PH - (v / max) * PH;
  const ticks = max >= 2 ? [0, max / 2, max] : [0, max];
  const slot = n ? PW / n : PW;
  const xs = [...new Set([0, Math.floor((n - 1) / 2), n - 1])].filter((k) => k >= 0 && k < n);
  return s("g", { class: "chart-axes" },
    ticks.map((v) => [
      s("line", { class: "chart-grid", x1: ML, x2: W - MR, y1: y(v), y2: y(v), "data-value": v }),
      s("text", { class: "chart-label", x: ML - 4, y: y(v) + 4, "text-anchor": "end" }, Number.isInteger(v) ? String(v) : v.toFixed(1)),
    ]),
    s("line", { class: "chart-axis", x1: ML, x2: W - MR, y1: MT + PH, y2: MT + PH }),
    s("line", { class: "chart-axis", x1: ML, x2: ML, y1: MT, y2: MT + PH }),
    xs.map((k) => s("text", {
      class: "chart-label", x: ML + slot * (k + 0.5), y: MT + PH + 15,
      "text-anchor": n === 1 ? "middle" : k === 0 ? "start" : k === n - 1 ? "end" : "middle",
    }, dayLabel(days[k].date))),
    s("text", { class: "chart-title", x: ML + PW / 2, y: H - 6, "text-anchor": "middle" }, t("shop.stats.axisDay")),
    s("text", { class: "chart-title", x: 0, y: 0, transform: `translate(11 ${MT + PH / 2}) rotate(-90)`, "text-anchor": "middle" }, yTitle));
}

function svgRoot(cls) {
  return s("svg", { class: "chart-svg " + cls, viewBox: `0 0 ${W} ${H}`, role: "img", preserveAspectRatio: "xMidYMid meet" });
}

function barChart(days, value, yTitle) {
  const max = niceMax(Math.max(0, ...days.map(value)));
  const svg = svgRoot("bars");
  const slot = days.length ? PW / days.length : PW;
  const bw = Math.max(1, slot * 0.7);
  svg.append(frame(days, max, yTitle), s("g", { class: "chart-data" }, days.map((d, k) => {
    const v = value(d);
    const bh = (v / max) * PH;
    return s("rect", {
      class: "chart-bar", x: ML + slot * k + (slot - bw) / 2, y: MT + PH - bh, width: bw, height: bh,
      "data-date": d.date, "data-value": v,
    }, s("title", {}, `${dayLabel(d.date)}: ${v}`));
  })));
  return svg;
}

function stackChart(days, sources, joins, yTitle) {
  const max = niceMax(Math.max(0, ...days.map((d) => sources.reduce((n, src) => n + joins(d, src), 0))));
  const svg = svgRoot("stacked");
  const slot = days.length ? PW / days.length : PW;
  const bw = Math.max(1, slot * 0.7);
  svg.append(frame(days, max, yTitle), s("g", { class: "chart-data" }, days.map((d, k) => {
    let base = 0;
    return s("g", { class: "chart-day", "data-date": d.date }, sources.map((src) => {
      const v = joins(d, src);
      if (!v) return null;
      const y0 = MT + PH - ((base + v) / max) * PH;
      const bh = (v / max) * PH;
      base += v;
      return s("rect", {
        class: "chart-bar src-" + src, x: ML + slot * k + (slot - bw) / 2, y: y0, width: bw, height: bh,
        "data-date": d.date, "data-source": src, "data-value": v,
      }, s("title", {}, `${dayLabel(d.date)} · ${t("shop.src." + src, {}, src)}: ${v}`));
    }));
  })));
  return svg;
}

function lineChart(days, value, yTitle) {
  const max = niceMax(Math.max(0, ...days.map(value)));
  const svg = svgRoot("line");
  const slot = days.length ? PW / days.length : PW;
  const pts = days.map((d, k) => [ML + slot * (k + 0.5), MT + PH - (value(d) / max) * PH]);
  svg.append(frame(days, max, yTitle),
    s("g", { class: "chart-data" },
      s("polyline", { class: "chart-line", points: pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ") }),
      days.map((d, k) => s("circle", { class: "chart-point", cx: pts[k][0], cy: pts[k][1], r: 3, "data-date": d.date, "data-value": value(d) },
        s("title", {}, `${dayLabel(d.date)}: ${value(d)}`)))));
  return svg;
}

// ---- confirmations of a group's announcement

function confirmations(view, service) {
  const names = new Map((view.member_list || []).map((m) => [m.user, m.nick || m.name || ""]));
  const who = (u) => {
    const n = names.get(u);
    return n ? [n, h("span", { class: "meta" }, " · " + short(u))] : short(u);
  };
  // The shop assistant, which posts the announcements, confirms nothing.
  const c = view.confirmations && {
    confirmed: view.confirmations.confirmed.filter((u) => u !== service),
    pending: view.confirmations.pending.filter((u) => u !== service),
  };
  if (!view.announced_at || !c) {
    return [h("h2", {}, t("shop.confirm.title")), h("p", { class: "muted", id: "confirm-none" }, t("shop.confirm.none"))];
  }
  const person = (u) => h("li", { class: "shop-person", "data-user": u }, who(u));
  return [
    h("h2", {}, t("shop.confirm.title")),
    view.announcement ? h("p", { class: "announcement", id: "confirm-announcement" }, view.announcement) : null,
    h("p", { id: "confirm-summary" }, t("shop.confirm.summary", { confirmed: c.confirmed.length, total: c.confirmed.length + c.pending.length })),
    h("div", { class: "shop-confirm" },
      h("section", {}, h("h3", {}, t("shop.confirm.yes", { n: c.confirmed.length })),
        h("ul", { class: "list shop-people", id: "confirm-yes" }, c.confirmed.length ? c.confirmed.map(person) : h("li", { class: "muted" }, t("shop.none")))),
      h("section", {}, h("h3", {}, t("shop.confirm.no", { n: c.pending.length })),
        h("ul", { class: "list shop-people", id: "confirm-no" }, c.pending.length ? c.pending.map(person) : h("li", { class: "muted" }, t("shop.none"))))),
  ];
}
