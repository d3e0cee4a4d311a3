package xmpp

// selfUser is the sender of the connector's own messages in an idTable:
// no JID or nick has a NUL.
const selfUser = "\x00self"

// maxRemembered bounds the messages an idTable remembers per room.
const maxRemembered = 4096

// msgRecord is a message seen in a room: its ids and who sent it.
type msgRecord struct {
	user     string // Inbound.User of its sender, selfUser for ours
	nick     string // its sender's nick then
	msgID    string // its id attribute (an origin-id for ours)
	stanzaID string // the room's stanza-id, "" if none
	// canonical is the ID the gateway knows the message by (the one
	// reported in Inbound.ID or returned by Send); for a correction, the
	// corrected message's.
	canonical string
}

// idTable maps the ids by which people refer to earlier messages of a
// room (a correction names the id attribute, a retraction or a reply the
// room's stanza-id, or an origin-id) to the ID the gateway knows them by,
// and remembers who sent them, so that nobody corrects or retracts
// another's message. It forgets the oldest beyond maxRemembered; not safe
// for concurrent use (the connector's lock guards it).
type idTable struct {
	byStanza map[string]*msgRecord
	byMsg    map[string][]*msgRecord // few: ids are chosen by the senders
	ring     []*msgRecord
	next     int
	limit    int
}

func newIDTable(limit int) *idTable {
	return &idTable{byStanza: map[string]*msgRecord{}, byMsg: map[string][]*msgRecord{}, limit: limit}
}

func (t *idTable) add(r *msgRecord) {
	if r.canonical == "" || (r.msgID == "" && r.stanzaID == "") {
		return
	}
	if len(t.ring) < t.limit {
		t.ring = append(t.ring, r)
	} else {
		t.forget(t.ring[t.next])
		t.ring[t.next] = r
		t.next = (t.next + 1) % t.limit
	}
	if r.stanzaID != "" {
		t.byStanza[r.stanzaID] = r
	}
	if r.msgID != "" {
		t.byMsg[r.msgID] = append(t.byMsg[r.msgID], r)
	}
}

func (t *idTable) forget(old *msgRecord) {
	if t.byStanza[old.stanzaID] == old {
		delete(t.byStanza, old.stanzaID)
	}
	list := t.byMsg[old.msgID]
	for i, r := range list {
		if r == old {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(t.byMsg, old.msgID)
	} else {
		t.byMsg[old.msgID] = list
	}
}

// byMsgOf is the latest record with msgID sent by user.
func (t *idTable) byMsgOf(msgID, user string) *msgRecord {
	list := t.byMsg[msgID]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].user == user {
			return list[i]
		}
	}
	return nil
}

// resolve maps id, by which user refers to one of their own earlier
// messages (a correction or a retraction), to its canonical ID: ok is
// false when the message is known to be someone else's. An unknown id
// is returned as it is (the gateway may know it from before a restart).
// stanzaFirst says which kind of id the reference is meant to be.
func (t *idTable) resolve(id, user string, stanzaFirst bool) (canonical string, ok bool) {
	if id == "" {
		return "", false
	}
	lookups := [2]func() (*msgRecord, bool){
		func() (*msgRecord, bool) { r := t.byStanza[id]; return r, r != nil },
		func() (*msgRecord, bool) {
			if r := t.byMsgOf(id, user); r != nil {
				return r, true
			}
			return nil, len(t.byMsg[id]) > 0
		},
	}
	if !stanzaFirst {
		lookups[0], lookups[1] = lookups[1], lookups[0]
	}
	for _, look := range lookups {
		if r, found := look(); found {
			if r == nil || r.user != user {
				return "", false
			}
			return r.canonical, true
		}
	}
	return id, true
}

// reference maps the id of a message that a reply answers to its
// canonical ID; nick, if known, is the answered message's sender's.
func (t *idTable) reference(id, nick string) string {
	if r := t.byStanza[id]; r != nil {
		return r.canonical
	}
	list := t.byMsg[id]
	for i := len(list) - 1; i >= 0; i-- {
		if nick == "" || list[i].nick == nick {
			return list[i].canonical
		}
	}
	return id
}

// find is the record of the message id names (a stanza-id or an id
// attribute), nil if unknown.
func (t *idTable) find(id string) *msgRecord {
	if r := t.byStanza[id]; r != nil {
		return r
	}
	if list := t.byMsg[id]; len(list) > 0 {
		return list[len(list)-1]
	}
	return nil
}

// own is the record of one of the connector's own messages by the ID
// Send returned (or its stanza-id or origin-id), nil if forgotten.
func (t *idTable) own(id string) *msgRecord {
	if r := t.byStanza[id]; r != nil && r.user == selfUser {
		return r
	}
	return t.byMsgOf(id, selfUser)
}
