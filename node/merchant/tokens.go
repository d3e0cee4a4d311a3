package merchant

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Scope is what a token may do.
type Scope string

// The scopes of API tokens.
const (
	// ScopeGroups creates groups owned by the service key and lists them.
	ScopeGroups Scope = "groups"
	// ScopeInvites makes invites bound to orders.
	ScopeInvites Scope = "invites"
	// ScopeOrders runs order groups: one small group per order, through
	// its states.
	ScopeOrders Scope = "orders"
	// ScopeWebhooks registers and removes webhooks and reads their
	// delivery logs.
	ScopeWebhooks Scope = "webhooks"
)

// Scopes lists every scope, in the order the docs give them.
var Scopes = []Scope{ScopeGroups, ScopeInvites, ScopeOrders, ScopeWebhooks}

// Limits of tokens.
const (
	// MaxTokens bounds the tokens a node keeps.
	MaxTokens = 100
	// MaxTokenName bounds a token's name, in characters.
	MaxTokenName = 64
	// tokenPrefix starts every token, so that a leaked one is recognised
	// by secret scanners and people alike.
	tokenPrefix = "qun_"
	// metaToken starts the node-scope meta key of a token.
	metaToken = "mtoken/"
)

// Token is an API token as the node keeps it: its hash, never itself.
type Token struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Scopes  []Scope `json:"scopes"`
	Created uint64  `json:"created"`
	Hash    string  `json:"hash"` // hex SHA-256 of the whole token
}

// Allows reports whether the token has scope s.
func (t *Token) Allows(s Scope) bool { return slices.Contains(t.Scopes, s) }

// View is the token as the API shows it.
func (t *Token) View() api.TokenView {
	v := api.TokenView{ID: t.ID, Name: t.Name, Created: t.Created, Scopes: []string{}}
	for _, s := range t.Scopes {
		v.Scopes = append(v.Scopes, string(s))
	}
	return v
}

// KV is the durable node-scope key-value store tokens are kept in (the
// node's storage meta; every write is synced).
type KV interface {
	Meta(key string) ([]byte, bool, error)
	SetMeta(key string, val []byte) error
	MetaKeys(prefix string) ([]string, error)
}

// Tokens keeps a node's API tokens: in the KV, and in memory for the
// check of every request.
type Tokens struct {
	kv  KV
	now func() time.Time

	mu   sync.Mutex // guards byID; never held across a KV write
	byID map[string]*Token
}

// OpenTokens loads the tokens kept in kv.
func OpenTokens(kv KV) (*Tokens, error) {
	t := &Tokens{kv: kv, now: time.Now, byID: map[string]*Token{}}
	keys, err := kv.MetaKeys(metaToken)
	if err != nil {
		return nil, fmt.Errorf("merchant: reading the API tokens: %w", err)
	}
	for _, k := range keys {
		raw, ok, err := kv.Meta(k)
		if err != nil {
			return nil, fmt.Errorf("merchant: reading the API token %s: %w", k, err)
		}
		if !ok {
			continue
		}
		var tok Token
		if err := json.Unmarshal(raw, &tok); err != nil || tok.ID == "" || len(tok.Hash) != 2*sha256.Size {
			return nil, fmt.Errorf("merchant: the stored API token %s is unreadable (revoke it with a new data folder, or restore the folder)", k)
		}
		t.byID[tok.ID] = &tok
	}
	return t, nil
}

// ParseScopes checks the scopes of a token request.
func ParseScopes(list []string) ([]Scope, error) {
	if len(list) == 0 {
		return nil, protocol.Errorf(protocol.CodeInvalid, "a token needs at least one scope: %s", scopeNames())
	}
	var out []Scope
	for _, s := range list {
		sc := Scope(strings.TrimSpace(s))
		if !slices.Contains(Scopes, sc) {
			return nil, protocol.Errorf(protocol.CodeInvalid, "%.40q is no scope; the scopes are %s", s, scopeNames())
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	slices.Sort(out)
	return out, nil
}

func scopeNames() string {
	var names []string
	for _, s := range Scopes {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// Create makes a token named name with scopes and returns it with its
// secret, which is never shown again.
func (t *Tokens) Create(name string, scopes []string) (api.NewToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxTokenName || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return api.NewToken{}, protocol.Errorf(protocol.CodeInvalid, "a token's name is 1 to %d characters on one line, saying what it is for (\"erp\")", MaxTokenName)
	}
	sc, err := ParseScopes(scopes)
	if err != nil {
		return api.NewToken{}, err
	}
	t.mu.Lock()
	n := len(t.byID)
	t.mu.Unlock()
	if n >= MaxTokens {
		return api.NewToken{}, protocol.Errorf(protocol.CodeInvalid, "a node keeps at most %d API tokens: revoke one first", MaxTokens)
	}
	idb := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return api.NewToken{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return api.NewToken{}, err
	}
	id := hex.EncodeToString(idb)
	full := tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret)
	tok := &Token{ID: id, Name: name, Scopes: sc, Created: uint64(t.now().UnixMilli()), Hash: hashOf(full)}
	raw, _ := json.Marshal(tok)
	if err := t.kv.SetMeta(metaToken+id, raw); err != nil {
		return api.NewToken{}, protocol.Errorf(protocol.CodeInternal, "keeping the token: %v", err)
	}
	t.mu.Lock()
	t.byID[id] = tok
	t.mu.Unlock()
	return api.NewToken{TokenView: tok.View(), Token: full}, nil
}

// List returns the tokens, oldest first.
func (t *Tokens) List() []api.TokenView {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]api.TokenView, 0, len(t.byID))
	for _, tok := range t.byID {
		out = append(out, tok.View())
	}
	slices.SortFunc(out, func(a, b api.TokenView) int {
		if a.Created != b.Created {
			return int(a.Created - b.Created)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Revoke deletes the token with id: every later request with it is
// refused.
func (t *Tokens) Revoke(id string) error {
	t.mu.Lock()
	_, ok := t.byID[id]
	t.mu.Unlock()
	if !ok {
		return protocol.Errorf(protocol.CodeNotFound, "there is no API token %.40q (qun token list shows them)", id)
	}
	if err := t.kv.SetMeta(metaToken+id, nil); err != nil {
		return protocol.Errorf(protocol.CodeInternal, "revoking the token: %v", err)
	}
	t.mu.Lock()
	delete(t.byID, id)
	t.mu.Unlock()
	return nil
}

// Check returns the token secret stands for, or an unauthenticated error.
func (t *Tokens) Check(secret string) (*Token, error) {
	rest, ok := strings.CutPrefix(secret, tokenPrefix)
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 16 {
		return nil, protocol.Errorf(protocol.CodeUnauthenticated, "this is no API token of a qun node (they start with %s)", tokenPrefix)
	}
	t.mu.Lock()
	tok := t.byID[id]
	t.mu.Unlock()
	if tok == nil || subtle.ConstantTimeCompare([]byte(hashOf(secret)), []byte(tok.Hash)) != 1 {
		return nil, protocol.Errorf(protocol.CodeUnauthenticated, "the API token is unknown or revoked")
	}
	return tok, nil
}

// IsToken reports whether a bearer credential is shaped as an API token
// (rather than a session token).
func IsToken(s string) bool { return strings.HasPrefix(s, tokenPrefix) }

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
