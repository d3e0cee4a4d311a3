package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"time"

	"github.com/qunchat/qun/bridge"
)

type endpoint struct {
	method string
	kind   kind
	status bool // GET /v1/status
}

var endpoints = map[string]endpoint{
	"/v1/messages": {method: http.MethodPost, kind: kindMessage},
	"/v1/edits":    {method: http.MethodPost, kind: kindEdit},
	"/v1/deletes":  {method: http.MethodPost, kind: kindDelete},
	"/v1/invites":  {method: http.MethodPost, kind: kindInvite},
	"/v1/status":   {method: http.MethodGet, status: true},
}

// webhookIDRE is what an idempotency key may be.
var webhookIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// errGatewayTimeout is the gateway's not answering in time.
var errGatewayTimeout = errors.New("the gateway did not answer in time")

// handler serves the endpoint, putting what the platform posts on in.
func (c *Connector) handler(in chan<- bridge.Inbound) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.serve(w, r, in)
	})
}

func (c *Connector) serve(w http.ResponseWriter, r *http.Request, in chan<- bridge.Inbound) {
	ep, ok := endpoints[r.URL.Path]
	if !ok {
		c.refuse(w, r, refusal(404, "not_found", "there is no endpoint %.100q: the endpoints are POST /v1/messages, /v1/edits, /v1/deletes, /v1/invites and GET /v1/status", r.URL.Path))
		return
	}
	if r.Method != ep.method {
		w.Header().Set("Allow", ep.method)
		c.refuse(w, r, refusal(405, "method_not_allowed", "%s takes %s, not %.20s", r.URL.Path, ep.method, r.Method))
		return
	}
	if r.ContentLength > MaxBodyBytes {
		c.refuse(w, r, refusal(413, "body_too_large", "the body has %d bytes; at most %d", r.ContentLength, MaxBodyBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			c.refuse(w, r, refusal(413, "body_too_large", "the body has more than %d bytes", MaxBodyBytes))
		} else {
			c.refuse(w, r, refusal(400, "bad_body", "reading the body: %v", err))
		}
		return
	}
	now := time.Now()
	sig, ts, err := verify(c.secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, now)
	if err == nil && !ep.status {
		// GET /v1/status reads and changes nothing: a replay of it gives
		// away no more than its answer did, and a monitor may ask twice
		// in a second (the same timestamp, the same empty body, the same
		// signature).
		err = c.remember(sig, ts, now)
	}
	if err != nil {
		c.refuse(w, r, err)
		return
	}
	key := r.Header.Get(HeaderWebhookID)
	if !webhookIDRE.MatchString(key) {
		c.refuse(w, r, refusal(400, "bad_webhook_id", "%s must be 1 to 128 of A-Z, a-z, 0-9, '.', '_', ':' and '-'", HeaderWebhookID))
		return
	}
	if ep.status {
		c.answer(w, 200, c.statusJSON())
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		c.refuse(w, r, refusal(415, "unsupported_media_type", "the body must be Content-Type: application/json"))
		return
	}
	req, err := decodeRequest(ep.kind, body)
	if err != nil {
		c.refuse(w, r, err)
		return
	}
	if !c.channels[req.Channel] {
		c.refuse(w, r, refusal(404, "unknown_channel", "the channel %q is not bridged: ask the bridge's operator to add a route for it", req.Channel))
		return
	}
	res, err := c.ask(r.Context(), in, req.inbound(ep.kind, key))
	if err != nil {
		c.refuse(w, r, refusal(503, "unavailable", "%v: retry later with the same %s", err, HeaderWebhookID))
		return
	}
	if res.Err != nil {
		status, code := 400, "refused"
		var temp interface{ Temporary() bool }
		if errors.As(res.Err, &temp) && temp.Temporary() || errors.Is(res.Err, context.DeadlineExceeded) || errors.Is(res.Err, context.Canceled) {
			status, code = 503, "unavailable"
		}
		c.logger.Info("webhook request refused by the gateway", "path", r.URL.Path, "channel", req.Channel, "webhook_id", key, "err", res.Err)
		c.answer(w, status, errorJSON(code, res.Err.Error()))
		return
	}
	if ep.kind == kindInvite {
		if res.Invite == nil {
			c.refuse(w, r, refusal(500, "internal", "the gateway answered the invite without one"))
			return
		}
		c.answer(w, 200, inviteJSON{Link: res.Invite.Link, Token: res.Invite.Token, QR: res.Invite.QR})
		return
	}
	c.answer(w, 200, eventJSON{Event: res.Event, Seq: res.Seq})
}

// ask puts m on in and waits for the gateway's Result, at most
// answerTimeout in all.
func (c *Connector) ask(ctx context.Context, in chan<- bridge.Inbound, m bridge.Inbound) (bridge.Result, error) {
	done := make(chan bridge.Result, 1)
	m.Done = func(r bridge.Result) {
		select {
		case done <- r: // the first answer counts
		default:
		}
	}
	t := time.NewTimer(c.answerTimeout)
	defer t.Stop()
	select {
	case in <- m:
	case <-t.C:
		return bridge.Result{}, errors.New("the gateway is busy: it did not take the request in time")
	case <-ctx.Done():
		return bridge.Result{}, errors.New("the bridge is shutting down")
	}
	select {
	case r := <-done:
		return r, nil
	case <-t.C:
		return bridge.Result{}, errGatewayTimeout
	case <-ctx.Done():
		return bridge.Result{}, errors.New("the bridge is shutting down")
	}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func errorJSON(code, msg string) errorBody {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	return b
}

type eventJSON struct {
	Event string `json:"event"`
	Seq   uint64 `json:"seq"`
}

type inviteJSON struct {
	Link  string `json:"link"`
	Token string `json:"token"`
	QR    []byte `json:"qr_png"`
}

type statusJSON struct {
	Name      string    `json:"name"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	Pending   int       `json:"pending"`
}

func (c *Connector) statusJSON() statusJSON {
	s := c.Status()
	return statusJSON{Name: c.name, Connected: s.Connected, Since: s.Since.UTC().Truncate(time.Second), LastError: s.LastError, Pending: c.Pending()}
}

// refuse answers err (a *requestError, or a store's error: 500) and logs
// it.
func (c *Connector) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if !errors.As(err, &re) {
		c.logger.Error("webhook request failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		re = refusal(500, "internal", "the bridge could not take the request: retry later")
	} else {
		level := slog.LevelInfo
		if re.Status == 401 {
			level = slog.LevelWarn
		}
		c.logger.Log(r.Context(), level, "webhook request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "status", re.Status, "code", re.Code, "reason", re.Message)
	}
	c.answer(w, re.Status, errorJSON(re.Code, re.Message))
}

func (c *Connector) answer(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(fmt.Sprintf(`{"error":{"code":"internal","message":%q}}`, err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
