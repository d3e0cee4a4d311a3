package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// The namespaces of the extensions the connector reads and writes.
const (
	nsClient   = "jabber:client"
	nsMUC      = "http://jabber.org/protocol/muc"       // XEP-0045
	nsMUCUser  = "http://jabber.org/protocol/muc#user"  // XEP-0045
	nsMUCAdmin = "http://jabber.org/protocol/muc#admin" // XEP-0045
	nsDelay    = "urn:xmpp:delay"                       // XEP-0203
	nsOldDelay = "jabber:x:delay"                       // XEP-0091, obsolete
	nsSID      = "urn:xmpp:sid:0"                       // XEP-0359 stanza-id, origin-id
	nsCorrect  = "urn:xmpp:message-correct:0"           // XEP-0308
	nsReply    = "urn:xmpp:reply:0"                     // XEP-0461
	nsFallback = "urn:xmpp:fallback:0"                  // XEP-0428
	nsRetract  = "urn:xmpp:message-retract:1"           // XEP-0424 since 0.4
	nsRetract0 = "urn:xmpp:message-retract:0"           // XEP-0424 before 0.4, inside XEP-0422 apply-to
	nsFasten   = "urn:xmpp:fasten:0"                    // XEP-0422
	nsHints    = "urn:xmpp:hints"                       // XEP-0334
	nsPing     = "urn:xmpp:ping"                        // XEP-0199
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"  // RFC 6120 stanza errors
)

// inMessage is a <message/> as the connector reads it. Every field is a
// string, so that no value fails to decode: what does not make sense is
// dropped later, with the stanza, never the stream.
type inMessage struct {
	XMLName  xml.Name
	ID       string     `xml:"id,attr"`
	From     string     `xml:"from,attr"`
	Type     string     `xml:"type,attr"`
	Bodies   []langText `xml:"body"`
	Subjects []langText `xml:"subject"`
	Delay    []struct {
		XMLName xml.Name
	} `xml:"delay"`
	OldDelay  []struct{} `xml:"jabber:x:delay x"`
	StanzaIDs []struct {
		ID string `xml:"id,attr"`
		By string `xml:"by,attr"`
	} `xml:"urn:xmpp:sid:0 stanza-id"`
	OriginID []idAttr `xml:"urn:xmpp:sid:0 origin-id"`
	Replace  []idAttr `xml:"urn:xmpp:message-correct:0 replace"`
	Reply    []struct {
		To string `xml:"to,attr"`
		ID string `xml:"id,attr"`
	} `xml:"urn:xmpp:reply:0 reply"`
	Fallbacks []struct {
		For    string `xml:"for,attr"`
		Ranges []struct {
			Start string `xml:"start,attr"`
			End   string `xml:"end,attr"`
		} `xml:"body"`
	} `xml:"urn:xmpp:fallback:0 fallback"`
	Retract []idAttr `xml:"urn:xmpp:message-retract:1 retract"`
	ApplyTo []struct {
		ID      string     `xml:"id,attr"`
		Retract []struct{} `xml:"urn:xmpp:message-retract:0 retract"`
	} `xml:"urn:xmpp:fasten:0 apply-to"`
	MUCUser []struct{} `xml:"http://jabber.org/protocol/muc#user x"`
	Error   []inError  `xml:"error"`
}

type langText struct {
	Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Text string `xml:",chardata"`
}

type idAttr struct {
	ID string `xml:"id,attr"`
}

// inPresence is a <presence/> as the connector reads it.
type inPresence struct {
	XMLName xml.Name
	ID      string `xml:"id,attr"`
	From    string `xml:"from,attr"`
	Type    string `xml:"type,attr"`
	MUCUser []struct {
		Items []struct {
			JID         string `xml:"jid,attr"`
			Nick        string `xml:"nick,attr"`
			Role        string `xml:"role,attr"`
			Affiliation string `xml:"affiliation,attr"`
		} `xml:"item"`
		Status []struct {
			Code string `xml:"code,attr"`
		} `xml:"status"`
		Destroy []struct{} `xml:"destroy"`
	} `xml:"http://jabber.org/protocol/muc#user x"`
	Error []inError `xml:"error"`
}

// inIQ is the start of an <iq/>: only a ping is answered.
type inIQ struct {
	XMLName xml.Name
	ID      string     `xml:"id,attr"`
	From    string     `xml:"from,attr"`
	Type    string     `xml:"type,attr"`
	Ping    []struct{} `xml:"urn:xmpp:ping ping"`
}

// inError is a stanza error (RFC 6120 §8.3).
type inError struct {
	Type  string `xml:"type,attr"`
	Inner []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	} `xml:",any"`
}

// condition is the error's defined condition and its text, if any.
func (e *inError) condition() (cond, text string) {
	for _, c := range e.Inner {
		if c.XMLName.Space != nsStanzas {
			continue
		}
		if c.XMLName.Local == "text" {
			text = c.Text
		} else if cond == "" {
			cond = c.XMLName.Local
		}
	}
	if cond == "" {
		cond = "undefined-condition"
	}
	return cond, text
}

// body is the message's text: the body without a language, or else the
// first one; "" when there is none.
func (m *inMessage) body() string {
	for _, b := range m.Bodies {
		if b.Lang == "" {
			return b.Text
		}
	}
	if len(m.Bodies) > 0 {
		return m.Bodies[0].Text
	}
	return ""
}

// delayed says whether the message carries a delay (XEP-0203, or the
// obsolete XEP-0091): history, or anything else not live.
func (m *inMessage) delayed() bool {
	for _, d := range m.Delay {
		if d.XMLName.Space == nsDelay {
			return true
		}
	}
	return len(m.OldDelay) > 0
}

// stanzaID is the stanza-id that by (the room) gave the message, "" if
// none.
func (m *inMessage) stanzaID(by string) string {
	for _, s := range m.StanzaIDs {
		if s.ID != "" && strings.EqualFold(s.By, by) {
			return s.ID
		}
	}
	return ""
}

// originID is the origin-id its sender gave it, else its id attribute.
func (m *inMessage) originID() string {
	for _, o := range m.OriginID {
		if o.ID != "" {
			return o.ID
		}
	}
	return m.ID
}

// retraction returns the id of the message m retracts: v1 is true for
// the current form of XEP-0424 (the room's stanza-id in a groupchat),
// false for the older XEP-0422 apply-to form (an origin-id).
func (m *inMessage) retraction() (id string, v1, ok bool) {
	for _, r := range m.Retract {
		if r.ID != "" {
			return r.ID, true, true
		}
	}
	for _, a := range m.ApplyTo {
		if a.ID != "" && len(a.Retract) > 0 {
			return a.ID, false, true
		}
	}
	return "", false, false
}

// stanzaReader is a token reader that remembers the first error of the
// stream underneath, so that a stanza that does not decode (a field the
// decoder refuses, nesting too deep) is told apart from a broken stream.
type stanzaReader struct {
	r   xml.TokenReader
	err error
}

func (s *stanzaReader) Token() (xml.Token, error) {
	t, err := s.r.Token()
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return t, err
}

// decodeStanza decodes the stanza that r reads, start element first,
// into v. streamErr is the stream's own failure, after which nothing more
// can be read; err alone means this stanza did not decode, and the
// stream goes on.
func decodeStanza(r xml.TokenReader, v any) (err, streamErr error) {
	sr := &stanzaReader{r: r}
	err = xml.NewTokenDecoder(sr).Decode(v)
	return err, sr.err
}

// parseStanza decodes one stanza from data, for tests and fuzzing: what
// the session's handler does with a stanza the server sent.
func parseStanza(data []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	err, streamErr := decodeStanza(d, v)
	return errors.Join(err, streamErr)
}

// Outgoing stanzas. Elements without a namespace are in the stream's,
// jabber:client.

type outMessage struct {
	XMLName  xml.Name     `xml:"message"`
	ID       string       `xml:"id,attr"`
	To       string       `xml:"to,attr"`
	Type     string       `xml:"type,attr"`
	Body     string       `xml:"body,omitempty"`
	OriginID *outID       `xml:"urn:xmpp:sid:0 origin-id"`
	Replace  *outID       `xml:"urn:xmpp:message-correct:0 replace"`
	Reply    *outReply    `xml:"urn:xmpp:reply:0 reply"`
	Retract  *outID       `xml:"urn:xmpp:message-retract:1 retract"`
	ApplyTo  *outApplyTo  `xml:"urn:xmpp:fasten:0 apply-to"`
	Fallback *outFallback `xml:"urn:xmpp:fallback:0 fallback"`
	Store    *struct{}    `xml:"urn:xmpp:hints store"`
	MUCUser  *struct{}    `xml:"http://jabber.org/protocol/muc#user x"`
}

type outID struct {
	ID string `xml:"id,attr"`
}

type outReply struct {
	To string `xml:"to,attr,omitempty"`
	ID string `xml:"id,attr"`
}

type outApplyTo struct {
	ID      string   `xml:"id,attr"`
	Retract struct{} `xml:"urn:xmpp:message-retract:0 retract"`
}

type outFallback struct {
	For   string    `xml:"for,attr"`
	Range *outRange `xml:"body"`
}

type outRange struct {
	Start int `xml:"start,attr"`
	End   int `xml:"end,attr"`
}

// outJoin is the presence that joins a room, asking for no history.
type outJoin struct {
	XMLName xml.Name `xml:"presence"`
	ID      string   `xml:"id,attr"`
	To      string   `xml:"to,attr"`
	X       struct {
		History struct {
			MaxStanzas int `xml:"maxstanzas,attr"`
		} `xml:"history"`
	} `xml:"http://jabber.org/protocol/muc x"`
}

// outAdmin is the payload of a MUC admin request (XEP-0045 §8, §9).
type outAdmin struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#admin query"`
	Item    struct {
		Nick        string `xml:"nick,attr,omitempty"`
		JID         string `xml:"jid,attr,omitempty"`
		Role        string `xml:"role,attr,omitempty"`
		Affiliation string `xml:"affiliation,attr,omitempty"`
		Reason      string `xml:"reason,omitempty"`
	} `xml:"item"`
}

type outPing struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}
