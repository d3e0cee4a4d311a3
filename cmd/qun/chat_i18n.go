package main

import (
	"context"
	"errors"
	"strings"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// The words of `qun chat`, in English and Simplified Chinese: one map per
// language, both with the same keys (chat_test.go checks it). {name} in a
// text is filled by chatLang.t. Where the web client says the same thing
// (web/static/js/i18n.js), the Chinese words are the web's.

// chatLang is the language the chat speaks.
type chatLang struct {
	code  string // "en" or "zh"
	words map[string]string
}

var (
	chatEN = &chatLang{code: "en", words: chatWordsEN}
	chatZH = &chatLang{code: "zh", words: chatWordsZH}
)

// chatLocaleVars are the environment variables that name the locale, the
// first one set winning (as for POSIX LC_MESSAGES).
var chatLocaleVars = []string{"LC_ALL", "LC_MESSAGES", "LANG"}

// chatLangFromLocale picks the chat's language from the locale: Chinese
// when the first of LC_ALL, LC_MESSAGES and LANG that is set starts with
// "zh", else English.
func chatLangFromLocale(getenv func(string) string) *chatLang {
	for _, v := range chatLocaleVars {
		if s := getenv(v); s != "" {
			if strings.HasPrefix(strings.ToLower(s), "zh") {
				return chatZH
			}
			return chatEN
		}
	}
	return chatEN
}

// parseChatLang reads --lang: "zh" or "en"; "" follows the locale.
func parseChatLang(s string, getenv func(string) string) (*chatLang, error) {
	switch strings.ToLower(s) {
	case "":
		return chatLangFromLocale(getenv), nil
	case "zh", "zh-cn", "zh_cn", "cn":
		return chatZH, nil
	case "en":
		return chatEN, nil
	}
	return nil, usagef("--lang %q: the chat speaks zh (Chinese) or en (English)", s)
}

// t returns the words of key with each {name} of the pairs in kv (name,
// value, name, value…) filled in.
func (l *chatLang) t(key string, kv ...string) string {
	s, ok := l.words[key]
	if !ok {
		if s, ok = chatWordsEN[key]; !ok {
			return key
		}
	}
	if len(kv) > 0 {
		pairs := make([]string, 0, len(kv))
		for i := 0; i+1 < len(kv); i += 2 {
			pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
		}
		s = strings.NewReplacer(pairs...).Replace(s)
	}
	return s
}

// lines returns a multi-line text of the catalogue as its lines.
func (l *chatLang) lines(key string) []string { return strings.Split(l.t(key), "\n") }

// chatError is a refusal of the chat itself (a mistyped command, a file
// that exists); it shows as "refused: …" like the node's.
type chatError struct{ msg string }

func (e *chatError) Error() string { return e.msg }

// errorf makes a chatError of the words of key.
func (l *chatLang) errorf(key string, kv ...string) error { return &chatError{l.t(key, kv...)} }

// role names a role of a group.
func (l *chatLang) role(r string) string {
	if _, ok := l.words["role."+r]; ok {
		return l.t("role." + r)
	}
	return r
}

// errText renders an error for one short line. English keeps the node's
// own sentence, which says the most; Chinese says what the code means, as
// the web client does.
func (l *chatLang) errText(err error) string {
	var pe *protocol.Error
	var unreachable *client.UnreachableError
	switch {
	case errors.Is(err, context.Canceled):
		return l.t("err.interrupted")
	case errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "in time"):
		if l == chatEN {
			return errorSentence(err)
		}
		return l.t("err.timeout")
	case errors.As(err, &pe):
		if l == chatEN && pe.Msg != "" {
			return oneLine(pe.Msg)
		}
		if s, ok := l.words["err."+pe.Code.String()]; ok {
			return s
		}
		return oneLine(pe.Msg)
	case errors.As(err, &unreachable) && l != chatEN:
		return l.t("err.unreachable", "url", unreachable.URL)
	}
	return oneLine(errorSentence(err))
}

// refusal renders a failed command: "refused: …" when the node said no,
// "failed: …" when it could not answer.
func (l *chatLang) refusal(err error) string {
	var pe *protocol.Error
	var ce *chatError
	if errors.As(err, &pe) || errors.As(err, &ce) {
		return l.t("refused", "why", l.errText(err))
	}
	return l.t("failed", "why", l.errText(err))
}

// before renders an error of the chat's start (before the screen is
// taken) in the chat's language; the error stays the same underneath, so
// the exit status does not change.
func (l *chatLang) before(err error) error {
	if l == chatEN {
		return err
	}
	var nt *noTerminalError
	if errors.As(err, &nt) {
		return &localError{msg: l.t("err.noTerminal"), err: err}
	}
	return &localError{msg: l.errText(err), err: err}
}

// localError is an error with a sentence in the user's language.
type localError struct {
	msg string
	err error
}

func (e *localError) Error() string { return e.msg }
func (e *localError) Unwrap() error { return e.err }

// oneLine joins the lines of s.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ended renders the node's reason for ending the group's live updates.
func (l *chatLang) ended(e *protocol.Error) string {
	if l == chatEN && e.Msg != "" {
		return oneLine(e.Msg)
	}
	if _, ok := l.words["ended."+e.Code.String()]; ok {
		return l.t("ended." + e.Code.String())
	}
	return l.errText(e)
}

var chatWordsEN = map[string]string{
	// The header and the hint row.
	"head.members":        "{n} members",
	"head.member1":        "1 member",
	"head.role":           "you: {role}",
	"head.mutedForever":   "muted until unmuted",
	"head.mutedUntil":     "muted until {time}",
	"head.live":           "live",
	"head.reconnecting":   "reconnecting…",
	"head.announcement":   "Announcement: {text}",
	"head.noAnnouncement": "No announcement",
	"head.pinned":         "Pinned: {pins}",
	"head.noPins":         "No pinned messages",
	"head.pinRecalled":    "(recalled)",
	"hint.keys":           "PgUp/PgDn scroll · /help · Ctrl-C quit",
	"hint.loading":        "loading older messages…",
	"hint.newBelow":       "{n} new below: PgDn or Esc",
	"hint.top":            "start of the group · PgDn or Esc for the newest",
	"input.placeholder":   "message, or /help",
	"role.owner":          "owner",
	"role.admin":          "admin",
	"role.member":         "member",
	"role.bridge":         "bridge",

	// People.
	"you":      "you",
	"everyone": "everyone",

	// Messages.
	"msg.text":            "{a}: {text}",
	"msg.reply":           "{a} (reply to #{n}): {text}",
	"msg.edited":          "(edited)",
	"msg.image":           "[image {w}×{h}{name}]",
	"msg.file":            "[file{name} {size}]",
	"msg.save":            " (/save {n} saves it)", // after the last attachment
	"msg.recalled":        "{a} recalled a message",
	"msg.recalledByOther": "{by} recalled a member's message",
	"msg.recalledByOwner": "the owner",
	"msg.recalledByAdmin": "an admin",

	// Events.
	"ev.create":          `{a} created the group "{name}"`,
	"ev.update":          "{a} changed the settings",
	"ev.rename":          `{a} changed the settings (name "{name}")`,
	"ev.announce":        "{a} announced: {text}",
	"ev.unannounce":      "{a} cleared the announcement",
	"ev.pin":             "{a} pinned #{n}",
	"ev.unpin":           "{a} unpinned #{n}",
	"ev.recall":          "{a} recalled #{n}",
	"ev.react":           "{a} reacted {emoji} to #{n}",
	"ev.unreact":         "{a} took back {emoji} on #{n}",
	"ev.edit":            "{a} edited #{n}: {text}",
	"ev.role":            "{a} made {m} {role}",
	"ev.inviteCreate":    "{a} created an invite",
	"ev.inviteRevoke":    "{a} revoked an invite",
	"ev.close":           "{a} closed the group: it is read-only now{reason}",
	"ev.rules":           "{a} changed the group's rules",
	"ev.confirm":         "{a} confirmed reading the announcement",
	"ev.profile":         `{a} is now called "{name}"`,
	"ev.profileCleared":  "{a} cleared their profile",
	"ev.join":            "{a} joined",
	"ev.joinRequest":     "{a} asked to join",
	"ev.joinRequestNote": "{a} asked to join: {text}",
	"ev.approve":         "{a} approved {m}",
	"ev.reject":          "{a} rejected {m}{reason}",
	"ev.leave":           "{a} left",
	"ev.kick":            "{a} removed {m}{reason}",
	"ev.ban":             "{a} banned {m}{reason}",
	"ev.unban":           "{a} unbanned {m}",
	"ev.mute":            "{a} muted {m} until unmuted{reason}",
	"ev.muteUntil":       "{a} muted {m} until {time}{reason}",
	"ev.muteAll":         "{a} muted everyone until unmuted{reason}",
	"ev.muteAllUntil":    "{a} muted everyone until {time}{reason}",
	"ev.unmute":          "{a} unmuted {m}",
	"ev.unmuteAll":       "{a} unmuted everyone",
	"ev.other":           "{a} {kind}{reason}",
	"ev.reason":          " ({text})",

	// Local lines.
	"live.stopped":     "live updates stopped: {why}",
	"live.refused":     "live updates refused: {why}",
	"live.lost":        "connection lost ({why}); reconnecting…",
	"ended.not_member": "you were removed from this group",
	"ended.banned":     "you were banned from this group",
	"ended.private":    "this group became private: only members can read it",
	"busy":             "too many commands waiting; wait for the node to answer",
	"older.failed":     "failed to load older messages: {why}",
	"terminal.failed":  "qun: the terminal failed: {why}",
	"refused":          "refused: {why}",
	"failed":           "failed: {why}",

	// The input line.
	"help": "TEXT                    send a message (//TEXT sends a text that starts with /)\n" +
		"/reply SEQ TEXT         reply to message #SEQ\n" +
		"/announce TEXT          set the announcement (/announce - clears it)\n" +
		"/pin SEQ, /unpin SEQ    pin or unpin message #SEQ\n" +
		"/recall SEQ             recall a message (yours within 120 s; admins any)\n" +
		"/mute USER [DURATION]   mute a member (10m, 2h, 1d; default until unmuted)\n" +
		"/unmute USER            lift a member's mute\n" +
		"/kick USER, /ban USER   remove a member (ban: and keep them out)\n" +
		"/invite [USES] [TTL]    make an invite link (USES 0: unlimited; TTL 7d default)\n" +
		"/save SEQ [DIR]         save the images and files of message #SEQ (into DIR)\n" +
		"/members                list the members with their short IDs\n" +
		"/help, /quit            this help; leave the chat (also Ctrl-C)\n" +
		"USER is a member's ID or the end of it as shown (…YmPxGPTJ or YmPxGPTJ).\n" +
		"PgUp/PgDn scroll (older messages load at the top), Esc jumps to the newest.",
	"usage.reply":    "/reply SEQ TEXT",
	"usage.announce": "/announce TEXT",
	"usage.pin":      "/pin SEQ",
	"usage.unpin":    "/unpin SEQ",
	"usage.recall":   "/recall SEQ",
	"usage.mute":     "/mute USER [DURATION]",
	"usage.unmute":   "/unmute USER",
	"usage.kick":     "/kick USER",
	"usage.ban":      "/ban USER",
	"usage.invite":   "/invite [USES] [TTL]",
	"usage.save":     "/save SEQ [DIR]",
	"usage.members":  "/members",
	"usage.help":     "/help",
	"usage.quit":     "/quit",
	"cmd.unknown":    "unknown command /{name}; /help lists the commands",
	"cmd.bad":        "{why}; usage: {usage}",
	"cmd.noSeq":      "missing SEQ",
	"cmd.badSeq":     "{arg} is not a message number",
	"cmd.oneSeq":     "one SEQ only",
	"cmd.noText":     "missing TEXT",
	"cmd.noUser":     "missing USER",
	"cmd.unexpected": "unexpected {arg}",
	"cmd.badDur":     "{arg} is not a duration such as 10m, 2h or 1d",
	"cmd.badUses":    "USES {arg} is not a number from 0 (unlimited) to {max}",
	"cmd.badTTL":     "TTL {arg} is not a duration such as 24h or 7d",
	"user.tooShort":  "{arg} is too short to name a member; give at least 4 characters of the ID",
	"user.none":      "no member's ID ends in {arg}; /members lists them",
	"user.many":      "{arg} matches {n} members; give more of the ID",

	// What commands show.
	"invite.link":      "invite link ({uses}, {expires}; printed again when you quit):",
	"invite.unlimited": "unlimited uses",
	"invite.uses1":     "1 use",
	"invite.uses":      "{n} uses",
	"invite.never":     "never expires",
	"invite.expires":   "expires {time}",
	"members.title":    "{n} members:",
	"members.you":      " (you)",
	"members.muted":    ", muted until unmuted",
	"members.mutedAt":  ", muted until {time}",
	"save.none":        "message #{n} has no images or files",
	"save.exists":      "{path} exists; not replaced (give another DIR: /save SEQ DIR)",
	"save.done":        "saved {paths}",

	// Errors, by the node's code (the English chat shows the node's own
	// sentence and uses these when it has none).
	"err.interrupted":     "interrupted",
	"err.timeout":         "the node did not answer in time",
	"err.unreachable":     "cannot reach your node at {url}",
	"err.internal":        "The node failed; try again later.",
	"err.malformed":       "The node could not read the request.",
	"err.invalid":         "The request breaks a rule or a limit.",
	"err.bad_signature":   "A signature does not verify.",
	"err.unknown_group":   "The node does not know this group.",
	"err.not_host":        "The node does not host this group.",
	"err.not_member":      "You are not a member of this group.",
	"err.forbidden":       "Your role does not allow this.",
	"err.muted":           "You are muted.",
	"err.banned":          "You are banned from this group.",
	"err.group_full":      "The group is full.",
	"err.invite_unknown":  "This invite is not registered with the group.",
	"err.invite_expired":  "This invite has expired.",
	"err.invite_used_up":  "This invite has been used up.",
	"err.invite_revoked":  "This invite was revoked.",
	"err.invite_required": "This group admits members by invite only.",
	"err.approval_needed": "This group admits members after approval: ask to join.",
	"err.recall_window":   "Too late to recall this message.",
	"err.conflict":        "That is already so.",
	"err.not_found":       "Not found.",
	"err.rate_limited":    "Too fast; wait a moment.",
	"err.too_large":       "Too large.",
	"err.broken_chain":    "The group's history does not continue.",
	"err.unavailable":     "The group's host cannot be reached.",
	"err.clock_skew":      "Your device's clock is wrong.",
	"err.private":         "You may not read this group.",
	"err.unauthenticated": "Your session ended; sign in again.",
	"err.storage_full":    "The node's disk is full: it cannot store anything now.",
	"err.forked":          "This group is frozen: its host signed two different messages for one place in the history. Ask the shop.",
	"err.quarantined":     "This group is read-only on your node for now; it retries by itself.",
	"err.recovering":      "The group's host is restoring its history; sending works again shortly.",
	"err.upgrade_needed":  "This group uses a newer version of Qun than this node runs: it is read-only here until the node is upgraded.",
	"err.history_hidden":  "This is from before you joined: new members of this group read from their join on.",
	"err.noTerminal":      "the chat needs a terminal; run it in one",
}

var chatWordsZH = map[string]string{
	"head.members":        "{n} 位成员",
	"head.member1":        "1 位成员",
	"head.role":           "我是{role}",
	"head.mutedForever":   "已禁言，直到管理员解除",
	"head.mutedUntil":     "禁言至 {time}",
	"head.live":           "已连接",
	"head.reconnecting":   "重新连接中…",
	"head.announcement":   "群公告：{text}",
	"head.noAnnouncement": "暂无群公告",
	"head.pinned":         "置顶：{pins}",
	"head.noPins":         "暂无置顶消息",
	"head.pinRecalled":    "消息已撤回",
	"hint.keys":           "PgUp/PgDn 翻页 · /help 帮助 · Ctrl-C 退出",
	"hint.loading":        "正在加载更早的消息…",
	"hint.newBelow":       "下方有 {n} 条新消息：按 PgDn 或 Esc",
	"hint.top":            "已到群聊开头 · 按 PgDn 或 Esc 回到最新",
	"input.placeholder":   "发消息，或输入 /help",
	"role.owner":          "群主",
	"role.admin":          "管理员",
	"role.member":         "成员",
	"role.bridge":         "桥接",

	"you":      "你",
	"everyone": "所有人",

	"msg.text":            "{a}：{text}",
	"msg.reply":           "{a}（回复 #{n}）：{text}",
	"msg.edited":          "(已编辑)",
	"msg.image":           "[图片 {w}×{h}{name}]",
	"msg.file":            "[文件{name} {size}]",
	"msg.save":            "（/save {n} 保存）",
	"msg.recalled":        "{a} 撤回了一条消息",
	"msg.recalledByOther": "{by}撤回了一条成员消息",
	"msg.recalledByOwner": "群主",
	"msg.recalledByAdmin": "管理员",

	"ev.create":          "{a} 创建了群“{name}”",
	"ev.update":          "{a} 修改了群设置",
	"ev.rename":          "{a} 将群名改为“{name}”",
	"ev.announce":        "{a} 发布了群公告：{text}",
	"ev.unannounce":      "{a} 删除了群公告",
	"ev.pin":             "{a} 置顶了 #{n}",
	"ev.unpin":           "{a} 取消置顶 #{n}",
	"ev.recall":          "{a} 撤回了 #{n}",
	"ev.react":           "{a} 用 {emoji} 回应了 #{n}",
	"ev.unreact":         "{a} 取消了对 #{n} 的 {emoji}",
	"ev.edit":            "{a} 编辑了 #{n}：{text}",
	"ev.role":            "{a} 将 {m} 设为{role}",
	"ev.inviteCreate":    "{a} 创建了邀请链接",
	"ev.inviteRevoke":    "{a} 撤销了邀请链接",
	"ev.close":           "{a} 关闭了本群，群聊已变为只读{reason}",
	"ev.rules":           "{a} 修改了群规则",
	"ev.confirm":         "{a} 确认已读群公告",
	"ev.profile":         "{a} 改名为“{name}”",
	"ev.profileCleared":  "{a} 清除了个人资料",
	"ev.join":            "{a} 加入了群聊",
	"ev.joinRequest":     "{a} 申请入群",
	"ev.joinRequestNote": "{a} 申请入群：{text}",
	"ev.approve":         "{a} 批准 {m} 入群",
	"ev.reject":          "{a} 拒绝了 {m} 的入群申请{reason}",
	"ev.leave":           "{a} 退出了群",
	"ev.kick":            "{a} 将 {m} 移出了群{reason}",
	"ev.ban":             "{a} 封禁了 {m}{reason}",
	"ev.unban":           "{a} 解除了 {m} 的封禁",
	"ev.mute":            "{a} 禁言了 {m}，直到管理员解除{reason}",
	"ev.muteUntil":       "{a} 禁言了 {m}，直到 {time}{reason}",
	"ev.muteAll":         "{a} 开启了全员禁言{reason}",
	"ev.muteAllUntil":    "{a} 开启了全员禁言，直到 {time}{reason}",
	"ev.unmute":          "{a} 解除了 {m} 的禁言",
	"ev.unmuteAll":       "{a} 解除了全员禁言",
	"ev.other":           "{a}：{kind}{reason}",
	"ev.reason":          "（{text}）",

	"live.stopped":     "实时更新已停止：{why}",
	"live.refused":     "实时更新被拒绝：{why}",
	"live.lost":        "连接已断开（{why}），重新连接中…",
	"ended.not_member": "你已被移出本群。",
	"ended.banned":     "你已被本群封禁。",
	"ended.private":    "本群已改为私密，只有成员可以阅读。",
	"busy":             "等待执行的命令太多，请等节点响应。",
	"older.failed":     "加载更早的消息失败：{why}",
	"terminal.failed":  "qun：终端出错：{why}",
	"refused":          "被拒绝：{why}",
	"failed":           "失败：{why}",

	"help": "文字                    发送消息（//文字 发送以 / 开头的文字）\n" +
		"/reply 序号 文字        回复消息 #序号\n" +
		"/announce 文字          发布群公告（/announce - 删除群公告）\n" +
		"/pin 序号, /unpin 序号  置顶或取消置顶消息 #序号\n" +
		"/recall 序号            撤回消息（自己的 120 秒内；管理员可撤回任何消息）\n" +
		"/mute 成员 [时长]       禁言成员（10m、2h、1d；默认直到解除）\n" +
		"/unmute 成员            解除成员的禁言\n" +
		"/kick 成员, /ban 成员   移出成员（ban：并禁止再次加入）\n" +
		"/invite [次数] [有效期] 生成邀请链接（次数 0 为不限；有效期默认 7d）\n" +
		"/save 序号 [目录]       保存消息 #序号 的图片和文件（到目录）\n" +
		"/members                列出成员及其短 ID\n" +
		"/help, /quit            显示本帮助；退出聊天（也可按 Ctrl-C）\n" +
		"成员是成员的 ID，或屏幕上显示的 ID 结尾（…YmPxGPTJ 或 YmPxGPTJ）。\n" +
		"PgUp/PgDn 翻页（到顶部时加载更早的消息），Esc 回到最新消息。",
	"usage.reply":    "/reply 序号 文字",
	"usage.announce": "/announce 文字",
	"usage.pin":      "/pin 序号",
	"usage.unpin":    "/unpin 序号",
	"usage.recall":   "/recall 序号",
	"usage.mute":     "/mute 成员 [时长]",
	"usage.unmute":   "/unmute 成员",
	"usage.kick":     "/kick 成员",
	"usage.ban":      "/ban 成员",
	"usage.invite":   "/invite [次数] [有效期]",
	"usage.save":     "/save 序号 [目录]",
	"usage.members":  "/members",
	"usage.help":     "/help",
	"usage.quit":     "/quit",
	"cmd.unknown":    "没有 /{name} 这个命令；/help 列出所有命令",
	"cmd.bad":        "{why}；用法：{usage}",
	"cmd.noSeq":      "缺少序号",
	"cmd.badSeq":     "{arg} 不是消息序号",
	"cmd.oneSeq":     "只能给一个序号",
	"cmd.noText":     "缺少文字",
	"cmd.noUser":     "缺少成员",
	"cmd.unexpected": "多余的 {arg}",
	"cmd.badDur":     "{arg} 不是时长，例如 10m、2h 或 1d",
	"cmd.badUses":    "次数 {arg} 不是 0（不限）到 {max} 之间的数",
	"cmd.badTTL":     "有效期 {arg} 不是时长，例如 24h 或 7d",
	"user.tooShort":  "{arg} 太短，无法确定成员；请至少给出 ID 的 4 个字符",
	"user.none":      "没有成员的 ID 以 {arg} 结尾；/members 列出成员",
	"user.many":      "{arg} 对应 {n} 位成员；请给出更多 ID 字符",

	"invite.link":      "邀请链接（{uses}，{expires}；退出时会再显示一次）：",
	"invite.unlimited": "不限次数",
	"invite.uses1":     "可用 1 次",
	"invite.uses":      "可用 {n} 次",
	"invite.never":     "长期有效",
	"invite.expires":   "有效期至 {time}",
	"members.title":    "{n} 位成员：",
	"members.you":      "（你）",
	"members.muted":    "，已禁言",
	"members.mutedAt":  "，禁言至 {time}",
	"save.none":        "消息 #{n} 没有图片或文件",
	"save.exists":      "{path} 已存在，未覆盖（换个目录：/save 序号 目录）",
	"save.done":        "已保存 {paths}",

	"err.interrupted":     "已中断",
	"err.timeout":         "节点没有及时响应",
	"err.unreachable":     "无法连接你的节点 {url}，请检查网络后重试。",
	"err.internal":        "节点出错，请稍后再试。",
	"err.malformed":       "节点无法读取请求。",
	"err.invalid":         "请求违反了规则或限制。",
	"err.bad_signature":   "签名验证失败。",
	"err.unknown_group":   "节点不认识这个群。",
	"err.not_host":        "此节点不托管这个群。",
	"err.not_member":      "你不是本群成员。",
	"err.forbidden":       "你的角色无权这样做。",
	"err.muted":           "你已被禁言。",
	"err.banned":          "你已被本群封禁。",
	"err.group_full":      "群已满。",
	"err.invite_unknown":  "此邀请未在群中登记。",
	"err.invite_expired":  "此邀请已过期。",
	"err.invite_used_up":  "此邀请的次数已用完。",
	"err.invite_revoked":  "此邀请已被撤销。",
	"err.invite_required": "本群仅限邀请加入。",
	"err.approval_needed": "本群需要审核：请申请加入。",
	"err.recall_window":   "已超过撤回时限。",
	"err.conflict":        "已经是这样了。",
	"err.not_found":       "找不到目标。",
	"err.rate_limited":    "操作太快，请稍候。",
	"err.too_large":       "内容太大。",
	"err.broken_chain":    "群历史无法衔接。",
	"err.unavailable":     "无法连接群的托管节点。",
	"err.clock_skew":      "你的设备时间不正确。",
	"err.private":         "你无权查看这个群。",
	"err.unauthenticated": "会话已过期，请重新登录。",
	"err.storage_full":    "节点磁盘已满，暂时无法保存。",
	"err.forked":          "本群已冻结：群主节点为同一条记录签了两个不同的版本。请联系商家。",
	"err.quarantined":     "本群在你的节点上暂时只读，会自动重试。",
	"err.recovering":      "群主节点正在恢复聊天记录，稍后即可发送。",
	"err.upgrade_needed":  "本群使用了更新版本的 Qun，此节点需要升级；升级前本群在这里只能查看。",
	"err.history_hidden":  "这是你入群之前的内容：本群新成员只能查看入群后的消息。",
	"err.noTerminal":      "聊天界面需要在终端中运行",
}
