package node

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// rawCall sends body as is and returns the status and the answer's bytes.
func (a *apiClient) rawCall(method, path, body string) (int, []byte) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func errorBodyOf(t *testing.T, data []byte) api.ErrorJSON {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("answer is not an error body: %s", data)
	}
	return eb.Error
}

// TestAPITrailingDataRefused: a JSON body with anything after its object
// is refused with 400 malformed, and the submission in it is not stored.
func TestAPITrailingDataRefused(t *testing.T) {
	a := startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyOpen)
	c := newAPI(t, a, a.admin).signIn()
	head, _ := a.Head(gid)
	one := base64.StdEncoding.EncodeToString(sign(t, a.admin, gid, text("first")).Raw)
	two := base64.StdEncoding.EncodeToString(sign(t, a.admin, gid, text("second")).Raw)
	for _, body := range []string{
		`{"submission":"` + one + `"}{"submission":"` + two + `"}`,
		`{"submission":"` + one + `"} trailing`,
		`{"submission":"` + one + `"}]`,
		`{"submission":"` + one + `"} null`,
	} {
		status, data := c.rawCall("POST", "/api/v1/submit", body)
		if status != http.StatusBadRequest {
			t.Fatalf("body with trailing data: status %d: %s", status, data)
		}
		if e := errorBodyOf(t, data); e.Code != "malformed" || !strings.Contains(e.Message, "after") {
			t.Fatalf("body with trailing data: %+v", e)
		}
	}
	if h, _ := a.Head(gid); h != head {
		t.Fatalf("a refused body was stored: head %d, was %d", h, head)
	}
	// The same with trailing white space only is one JSON value: accepted.
	if status, data := c.rawCall("POST", "/api/v1/submit", `{"submission":"`+one+`"}`+" \n\t\r\n"); status != 200 {
		t.Fatalf("body with trailing white space: %d %s", status, data)
	}
	status, data := newAPI(t, a, nil).rawCall("POST", "/api/v1/auth/challenge", `{"user":"`+a.admin.ID().String()+`"}{}`)
	if status != 400 || errorBodyOf(t, data).Code != "malformed" {
		t.Fatalf("challenge with trailing data: %d %s", status, data)
	}
}

// TestAPIBodyLimit: the documented limit (128 KiB = 131,072 bytes) is
// exact: a body of that size is read, one byte more is 413 too_large.
func TestAPIBodyLimit(t *testing.T) {
	a := startNode(t, "")
	c := newAPI(t, a, a.admin).signIn()
	body := func(size int) string {
		head := `{"submission":"AAAA"`
		return head + strings.Repeat(" ", size-len(head)-1) + "}"
	}
	status, data := c.rawCall("POST", "/api/v1/submit", body(128<<10))
	if status != 400 || errorBodyOf(t, data).Code != "malformed" { // read whole, then "AAAA" is no submission
		t.Fatalf("body of 128 KiB: %d %s", status, data)
	}
	status, data = c.rawCall("POST", "/api/v1/submit", body(128<<10+1))
	if e := errorBodyOf(t, data); status != 413 || e.Code != "too_large" || !strings.Contains(e.Message, "131072") {
		t.Fatalf("body of 128 KiB + 1: %d %s", status, data)
	}
}

// TestAPIGroupIDCanonical: group IDs have one form, 64 lowercase hex
// digits; the upper-case spelling of a group the node holds is refused.
func TestAPIGroupIDCanonical(t *testing.T) {
	a := startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyOpen)
	c := newAPI(t, a, a.admin).signIn()
	c.mustCall("GET", "/api/v1/groups/"+gid.String(), nil, nil)
	lower := gid.String()
	i := strings.IndexAny(lower, "abcdef")
	if i < 0 {
		t.Skip("the group ID has no letter")
	}
	oneUpper := lower[:i] + strings.ToUpper(lower[i:i+1]) + lower[i+1:]
	for _, path := range []string{
		"/api/v1/groups/" + strings.ToUpper(lower),
		"/api/v1/groups/" + oneUpper + "/events",
	} {
		status, e := c.call("GET", path, nil, nil)
		wantError(t, "upper-case group ID", status, e, 400, protocol.CodeInvalid)
		if !strings.Contains(e.Message, "lowercase") {
			t.Fatalf("message %q does not say what the form is", e.Message)
		}
	}
	if _, err := protocol.ParseGroupID(strings.ToUpper(protocol.GroupID{0xab}.String())); err == nil {
		t.Fatal("ParseGroupID accepts upper case")
	}
	if _, err := protocol.ParseInviteID(strings.ToUpper(protocol.InviteID{0xab}.String())); err == nil {
		t.Fatal("ParseInviteID accepts upper case")
	}
}

// TestAPIPreviewUnregistered: an invite signed by a member but never
// registered with the group tells the caller nothing about the group:
// 404 invite_unknown, not a preview.
func TestAPIPreviewUnregistered(t *testing.T) {
	a := startNode(t, "")
	gid := createGroup(t, a, "secret", protocol.PolicyInvite)
	inv := protocol.Invite{Group: gid, Host: a.ID(), Inviter: a.admin.ID(), Nonce: nonce()}
	si, err := inv.Sign(a.admin)
	if err != nil {
		t.Fatal(err)
	}
	status, data := newAPI(t, a, nil).rawCall("GET", "/api/v1/invites/preview?token="+si.Token(), "")
	if status != 404 || errorBodyOf(t, data).Code != "invite_unknown" || strings.Contains(string(data), "secret") {
		t.Fatalf("preview of an unregistered invite: %d %s", status, data)
	}
}

// TestAPIFieldPresence: arrays are never null and member entries of
// /me/groups always carry role and pins, as docs/API.md says.
func TestAPIFieldPresence(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	bob := newKey(t)
	cb := newAPI(t, b, bob).signIn()
	if _, e := cb.submit(gid, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, "")); e != nil {
		t.Fatal(e.Message)
	}
	_, mine := cb.rawCall("GET", "/api/v1/me/groups", "")
	var groups []map[string]any
	if err := json.Unmarshal(mine, &groups); err != nil || len(groups) != 1 {
		t.Fatalf("my groups: %s", mine)
	}
	if pins, ok := groups[0]["pins"].([]any); !ok || len(pins) != 0 || groups[0]["role"] != "member" {
		t.Fatalf("member entry without role or pins []: %s", mine)
	}
	// A replica that knows no address of the host says [] not null.
	b.Host().Peerstore().ClearAddrs(a.PeerID())
	_, view := cb.rawCall("GET", "/api/v1/groups/"+gid.String(), "")
	var v map[string]any
	if err := json.Unmarshal(view, &v); err != nil {
		t.Fatal(err)
	}
	if _, ok := v["host_addrs"].([]any); !ok {
		t.Fatalf("host_addrs is %v, want an array", v["host_addrs"])
	}
}

// statusTable reads the table of codes in docs/API.md: name → number and
// HTTP status.
func statusTable(t *testing.T) map[string][2]int {
	t.Helper()
	f, err := os.Open("../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| ([0-9]+) \\| ([0-9]{3}) ")
	out := map[string][2]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		num, _ := strconv.Atoi(m[2])
		status, _ := strconv.Atoi(m[3])
		if _, dup := out[m[1]]; dup {
			t.Fatalf("docs/API.md lists code %s twice", m[1])
		}
		out[m[1]] = [2]int{num, status}
	}
	return out
}

// allCodes returns every code protocol defines.
func allCodes() []protocol.Code {
	var out []protocol.Code
	for c := protocol.Code(1); c < 1000; c++ {
		if !strings.HasPrefix(c.String(), "code_") {
			out = append(out, c)
		}
	}
	return out
}

// TestAPIStatusTable: docs/API.md's table of codes lists every code of
// protocol, with its number and the HTTP status the node answers with,
// and nothing else.
func TestAPIStatusTable(t *testing.T) {
	table := statusTable(t)
	codes := allCodes()
	for _, c := range codes {
		row, ok := table[c.String()]
		if !ok {
			t.Errorf("docs/API.md does not list code %s", c)
			continue
		}
		if row[0] != int(c) || row[1] != api.HTTPStatus(c) {
			t.Errorf("docs/API.md: %s is %d with status %d; the code says %d with %d", c, row[0], row[1], c, api.HTTPStatus(c))
		}
	}
	if len(table) != len(codes) {
		t.Errorf("docs/API.md lists %d codes, protocol has %d", len(table), len(codes))
	}
	// docs/PROTOCOL.md's table of codes gives the same statuses.
	data, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| ([0-9]+) \\| `([a-z_]+)` \\|.*\\| ([0-9]{3}) \\|$")
	seen := 0
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		num, _ := strconv.Atoi(m[1])
		status, _ := strconv.Atoi(m[3])
		if c := protocol.Code(num); c.String() != m[2] || api.HTTPStatus(c) != status {
			t.Errorf("docs/PROTOCOL.md: %s is %d with status %d; the code says %d is %s with %d", m[2], num, status, num, c, api.HTTPStatus(c))
		}
		seen++
	}
	if seen != len(codes) {
		t.Errorf("docs/PROTOCOL.md lists %d codes, protocol has %d", seen, len(codes))
	}
}
