package oktasim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SCIMConnection is an app's provisioning connection, as set on the
// Provisioning tab of an Okta app: the SCIM base URL, the bearer token and
// which "To App" features are on.
type SCIMConnection struct {
	// BaseURL is the SCIM base, e.g. "https://app.example.com/scim/v2".
	BaseURL string `json:"baseUrl"`
	// Token is sent as "Authorization: Bearer <Token>".
	Token string `json:"token"`
	// CreateUsers pushes new assignments (Okta's "Create Users").
	CreateUsers bool `json:"createUsers"`
	// UpdateUsers pushes profile changes (Okta's "Update User Attributes").
	UpdateUsers bool `json:"updateUsers"`
	// DeactivateUsers pushes deactivation and unassignment as active:false
	// and reactivation as active:true (Okta's "Deactivate Users").
	DeactivateUsers bool `json:"deactivateUsers"`
	// GroupPush allows pushing groups (Okta's "Push Groups").
	GroupPush bool `json:"groupPush"`
	// HTTPClient sends the requests; a client with Okta's 60 s timeout if
	// nil.
	HTTPClient *http.Client `json:"-"`
}

// Push is one HTTP exchange of the push engine with the SCIM server.
type Push struct {
	// Seq numbers pushes from 1 in the order they were sent.
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	// AppID is the app whose connection sent it.
	AppID string `json:"appId"`
	// Method and Path (relative to the base URL, with the query) of the
	// request.
	Method      string `json:"method"`
	Path        string `json:"path"`
	RequestBody string `json:"requestBody,omitempty"`
	// Status is the HTTP status, 0 if no answer came.
	Status       int    `json:"status"`
	ResponseBody string `json:"responseBody,omitempty"`
	// Error is the transport error when no answer came.
	Error string `json:"error,omitempty"`
}

type taskKind int

const (
	taskProvision taskKind = iota
	taskUpdate
	taskDeprovision
	taskGroupCreate
	taskGroupRename
	taskGroupAddMember
	taskGroupRemoveMember
	taskGroupDelete
)

type pushTask struct {
	kind    taskKind
	appID   string
	userID  string
	groupID string
	// extID is the SCIM id known at enqueue time, for tasks whose Okta
	// object may be gone when they run.
	extID string
}

// pushEngine runs pushes one at a time from a FIFO queue, so pushes about
// one user (or group) keep the order of the changes that caused them.
type pushEngine struct {
	s      *Sim
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	queue   []pushTask
	busy    bool
	waiters []chan struct{}
	wake    chan struct{}
	records []Push
	done    chan struct{}
	closed  bool
}

func newPushEngine(s *Sim) *pushEngine {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pushEngine{s: s, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *pushEngine) close() {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.queue = nil
	p.busy = false
	p.notifyIdle()
}

func (p *pushEngine) enqueue(t pushTask) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.queue = append(p.queue, t)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// notifyIdle wakes WaitIdle callers when nothing is queued or running.
// Callers hold p.mu.
func (p *pushEngine) notifyIdle() {
	if len(p.queue) == 0 && !p.busy {
		for _, w := range p.waiters {
			close(w)
		}
		p.waiters = nil
	}
}

func (p *pushEngine) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.busy = false
			p.notifyIdle()
			p.mu.Unlock()
			select {
			case <-p.wake:
				continue
			case <-p.ctx.Done():
				return
			}
		}
		t := p.queue[0]
		p.queue = p.queue[1:]
		p.busy = true
		p.mu.Unlock()
		if p.ctx.Err() != nil {
			return
		}
		p.exec(t)
	}
}

// WaitIdle blocks until the push queue is empty and no push is running,
// or ctx is done.
func (s *Sim) WaitIdle(ctx context.Context) error {
	p := s.push
	p.mu.Lock()
	if len(p.queue) == 0 && !p.busy {
		p.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for pushes: %w", ctx.Err())
	}
}

// Pushes returns every exchange with SCIM servers so far, oldest first.
func (s *Sim) Pushes() []Push {
	p := s.push
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Push(nil), p.records...)
}

// ClearPushes forgets the recorded exchanges.
func (s *Sim) ClearPushes() {
	p := s.push
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = nil
}

// SetSCIMConnection sets the provisioning connection of the org's app. A
// connection with an empty BaseURL turns provisioning off.
func (s *Sim) SetSCIMConnection(conn SCIMConnection) {
	_ = s.SetAppSCIMConnection(s.appID, conn)
}

// SetAppSCIMConnection sets the provisioning connection of any app.
func (s *Sim) SetAppSCIMConnection(appID string, conn SCIMConnection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return fmt.Errorf("set SCIM connection: %w", err)
	}
	if conn.BaseURL == "" {
		a.conn = nil
		return nil
	}
	conn.BaseURL = strings.TrimRight(conn.BaseURL, "/")
	a.conn = &conn
	a.lastUpdated = s.now()
	return nil
}

// SCIMConnectionOf returns an app's provisioning connection, if any.
func (s *Sim) SCIMConnectionOf(appID string) (SCIMConnection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appID]; a != nil && a.conn != nil {
		return *a.conn, true
	}
	return SCIMConnection{}, false
}

// enqueueUserPush queues a provisioning or update push for an assignment
// and marks it syncing. Callers hold s.mu.
func (s *Sim) enqueueUserPush(a *app, au *appUser, k taskKind) {
	// Every change bumps the version, so a push that read older values
	// knows to send them again (see finish).
	au.version++
	if a.conn == nil {
		return
	}
	switch k {
	case taskProvision:
		if !a.conn.CreateUsers && a.links[au.userID] == "" {
			return
		}
		if u := s.users[au.userID]; u != nil && u.status == StatusStaged {
			// Okta provisions a staged user once it is activated.
			au.syncState = "OUT_OF_SYNC"
			return
		}
	case taskUpdate:
		if !a.conn.UpdateUsers {
			return
		}
		if au.externalID == "" {
			// Not provisioned yet: a provisioning push that has not read
			// the assignment yet will carry the current values; one that
			// has is followed by an update (see finish).
			au.updateSkipped = true
			return
		}
	}
	au.syncState = "SYNCING"
	s.push.enqueue(pushTask{kind: k, appID: a.id, userID: au.userID})
}

// enqueueDeprovision queues active:false for a removed assignment.
// Callers hold s.mu.
func (s *Sim) enqueueDeprovision(a *app, au *appUser) {
	if a.conn == nil {
		return
	}
	s.push.enqueue(pushTask{kind: taskDeprovision, appID: a.id, userID: au.userID, extID: au.externalID})
}

// enqueueGroupPush queues a group push task. Callers hold s.mu.
func (s *Sim) enqueueGroupPush(a *app, gid string, k taskKind, uid string) {
	if a.conn == nil {
		return
	}
	s.push.enqueue(pushTask{kind: k, appID: a.id, groupID: gid, userID: uid, extID: a.pushed[gid]})
}

// PushGroup marks a group as pushed to an app (Okta's Push Groups): the
// group is looked up by name in the app and linked, or created, and its
// members who are provisioned app users are added; later renames and
// membership changes follow.
func (s *Sim) PushGroup(appID, groupID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return fmt.Errorf("push group: %w", err)
	}
	if s.groups[groupID] == nil {
		return fmt.Errorf("push group: %w", errNotFound("Group", groupID))
	}
	if a.conn == nil || !a.conn.GroupPush {
		return fmt.Errorf("push group: %w", errValidation("groupPush", "Group push is not enabled for this app"))
	}
	if _, ok := a.pushed[groupID]; ok {
		return nil
	}
	a.pushed[groupID] = ""
	s.enqueueGroupPush(a, groupID, taskGroupCreate, "")
	return nil
}

// UnpushGroup stops pushing a group; with deleteInApp the group is deleted
// in the app too, otherwise it is left there, as Okta's unlink offers.
func (s *Sim) UnpushGroup(appID, groupID string, deleteInApp bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return fmt.Errorf("unpush group: %w", err)
	}
	if _, ok := a.pushed[groupID]; !ok {
		return fmt.Errorf("unpush group: %w", errNotFound("PushedGroup", groupID))
	}
	if deleteInApp {
		s.enqueueGroupPush(a, groupID, taskGroupDelete, "")
	}
	delete(a.pushed, groupID)
	return nil
}

// PushedGroups returns the app's pushed groups: Okta group id to SCIM group
// id ("" while the first push is pending or failed).
func (s *Sim) PushedGroups(appID string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	if a := s.apps[appID]; a != nil {
		for k, v := range a.pushed {
			out[k] = v
		}
	}
	return out
}

// ---- SCIM client ----

const (
	scimUserSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
	scimPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

var defaultSCIMClient = &http.Client{Timeout: 60 * time.Second}

// do sends one SCIM request with Okta's headers and retry policy: a 429 is
// retried after its Retry-After (at least double the previous wait), up
// to 10 tries in all; a 5xx or transport error is retried a few times
// with doubling backoff.
func (p *pushEngine) do(ctx context.Context, appID string, conn SCIMConnection, method, path string, body any) (int, []byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
	}
	client := conn.HTTPClient
	if client == nil {
		client = defaultSCIMClient
	}
	var prevWait time.Duration
	serverErrs := 0
	for attempt := 1; ; attempt++ {
		var rdr io.Reader
		if payload != nil {
			rdr = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, conn.BaseURL+path, rdr)
		if err != nil {
			return 0, nil, fmt.Errorf("build %s %s: %w", method, path, err)
		}
		req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
		req.Header.Set("Accept", "application/scim+json")
		req.Header.Set("Authorization", "Bearer "+conn.Token)
		if payload != nil {
			req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
		}
		rec := Push{Time: p.s.clock.Now(), AppID: appID, Method: method, Path: path, RequestBody: string(payload)}
		resp, err := client.Do(req)
		var status int
		var respBody []byte
		var retryAfter string
		if err == nil {
			respBody, _ = io.ReadAll(io.LimitReader(resp.Body, 10<<20))
			resp.Body.Close()
			status = resp.StatusCode
			retryAfter = resp.Header.Get("Retry-After")
			rec.Status, rec.ResponseBody = status, string(respBody)
		} else {
			rec.Error = err.Error()
		}
		p.record(rec)
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		var wait time.Duration
		switch {
		case err == nil && status == http.StatusTooManyRequests:
			if attempt >= p.s.cfg.pushRetries {
				return status, respBody, nil
			}
			wait = time.Second
			if n, perr := strconv.Atoi(strings.TrimSpace(retryAfter)); perr == nil && n >= 0 {
				wait = time.Duration(n) * time.Second
			}
			wait = max(wait, 2*prevWait)
			prevWait = wait
		case err != nil || status >= 500:
			serverErrs++
			if serverErrs > p.s.cfg.serverErrTry {
				if err != nil {
					return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
				}
				return status, respBody, nil
			}
			wait = time.Duration(1<<(serverErrs-1)) * time.Second
		default:
			return status, respBody, nil
		}
		if err := p.s.sleeper.Sleep(ctx, wait); err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
}

func (p *pushEngine) record(r Push) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.Seq = len(p.records) + 1
	if n := len(p.records); n > 0 {
		r.Seq = p.records[n-1].Seq + 1
	}
	p.records = append(p.records, r)
}

// errStatus describes an unexpected SCIM answer.
func errStatus(method, path string, status int, body []byte) error {
	return fmt.Errorf("%s %s: status %d: %.200s", method, path, status, body)
}

func isOK(status int) bool { return status >= 200 && status < 300 }

// filterQuery builds Okta's lookup query: filter=attr eq "value" with the
// space as %20, then startIndex=1&count=100.
func filterQuery(attr, value string) string {
	f := attr + ` eq "` + strings.ReplaceAll(value, `"`, `\"`) + `"`
	return "?filter=" + strings.ReplaceAll(url.QueryEscape(f), "+", "%20") + "&startIndex=1&count=100"
}

type listResponse struct {
	TotalResults int              `json:"totalResults"`
	ItemsPerPage int              `json:"itemsPerPage"`
	StartIndex   int              `json:"startIndex"`
	Resources    []map[string]any `json:"Resources"`
}

// ---- user pushes ----

// userAttrs are the values Okta maps into a SCIM user.
type userAttrs struct {
	userName, oktaID, given, family, email, display, locale string
}

func (s *Sim) attrsOf(u *user, au *appUser) userAttrs {
	pick := func(appKey, userKey string) string {
		if v := str(au.profile, appKey); v != "" {
			return v
		}
		return str(u.profile, userKey)
	}
	a := userAttrs{userName: au.userName, oktaID: u.id, given: pick("givenName", "firstName"),
		family: pick("familyName", "lastName"), email: pick("email", "email"),
		display: pick("displayName", "displayName"), locale: pick("locale", "locale")}
	if a.display == "" {
		a.display = strings.TrimSpace(a.given + " " + a.family)
	}
	if a.locale == "" {
		a.locale = "en-US"
	}
	return a
}

func (s *Sim) randomPassword() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.randString(12) + "!a1"
}

func createBody(a userAttrs, password string) map[string]any {
	return map[string]any{
		"schemas":     []string{scimUserSchema},
		"userName":    a.userName,
		"name":        map[string]any{"givenName": a.given, "familyName": a.family},
		"emails":      []any{map[string]any{"primary": true, "value": a.email, "type": "work"}},
		"displayName": a.display,
		"locale":      a.locale,
		"externalId":  a.oktaID,
		"groups":      []any{},
		"password":    password,
		"active":      true,
	}
}

// applyAttrs writes Okta's mapped values into a SCIM user fetched from
// the app, keeping everything else, for the PUT of the whole object.
func applyAttrs(obj map[string]any, a userAttrs) {
	obj["userName"] = a.userName
	name, _ := obj["name"].(map[string]any)
	if name == nil {
		name = map[string]any{}
	}
	name["givenName"], name["familyName"] = a.given, a.family
	obj["name"] = name
	emails, _ := obj["emails"].([]any)
	set := false
	for _, e := range emails {
		if m, ok := e.(map[string]any); ok && m["primary"] == true {
			m["value"] = a.email
			set = true
		}
	}
	if !set {
		emails = append([]any{map[string]any{"primary": true, "value": a.email, "type": "work"}}, emails...)
	}
	obj["emails"] = emails
	obj["displayName"] = a.display
	obj["locale"] = a.locale
	obj["externalId"] = a.oktaID
	obj["active"] = true
	if _, ok := obj["groups"]; !ok {
		obj["groups"] = []any{}
	}
}

func patchActive(active bool) map[string]any {
	return map[string]any{
		"schemas":    []string{scimPatchSchema},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": active}}},
	}
}

func (p *pushEngine) exec(t pushTask) {
	switch t.kind {
	case taskProvision:
		p.provision(t)
	case taskUpdate:
		p.update(t)
	case taskDeprovision:
		p.deprovision(t)
	case taskGroupCreate:
		p.groupCreate(t)
	case taskGroupRename:
		p.groupRename(t)
	case taskGroupAddMember, taskGroupRemoveMember:
		p.groupMember(t)
	case taskGroupDelete:
		p.groupDelete(t)
	}
}

// snapshot reads what a user push needs under the lock.
func (p *pushEngine) snapshot(t pushTask) (conn SCIMConnection, attrs userAttrs, extID, link string, staged, ok bool, version uint64) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[t.appID]
	if a == nil || a.conn == nil {
		return
	}
	au, u := a.users[t.userID], s.users[t.userID]
	if au == nil || u == nil {
		return
	}
	return *a.conn, s.attrsOf(u, au), au.externalID, a.links[t.userID], u.status == StatusStaged, true, au.version
}

// finish records the outcome of a user push that read the assignment at
// version. If it changed meanwhile, an update push follows.
func (p *pushEngine) finish(t pushTask, version uint64, extID string, err error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[t.appID]
	if a == nil {
		return
	}
	if extID != "" {
		a.links[t.userID] = extID
	}
	au := a.users[t.userID]
	if au == nil {
		// Unassigned while the push was on the wire: the account exists in
		// the app now, so deactivate it as the unassignment would have.
		if extID != "" && a.conn != nil {
			s.push.enqueue(pushTask{kind: taskDeprovision, appID: a.id, userID: t.userID, extID: extID})
		}
		return
	}
	now := s.now()
	if extID != "" && au.externalID == "" {
		// Linked even if a later step failed, so that unassignment still
		// deactivates the account.
		au.externalID = extID
		// Newly provisioned: it joins the pushed groups it is a member of.
		for _, gid := range sortedKeys(a.pushed) {
			if g := s.groups[gid]; g != nil && g.members[t.userID] && a.pushed[gid] != "" {
				s.enqueueGroupPush(a, gid, taskGroupAddMember, t.userID)
			}
		}
	}
	if err != nil {
		au.syncState = "ERROR"
		return
	}
	if au.status != StatusProvisioned {
		au.status = StatusProvisioned
		au.statusChanged = now
	}
	au.syncState = "SYNCHRONIZED"
	au.lastSync = ptime(now)
	skipped := au.updateSkipped
	au.updateSkipped = false
	if skipped && au.version != version && a.conn != nil && a.conn.UpdateUsers {
		au.syncState = "SYNCING"
		s.push.enqueue(pushTask{kind: taskUpdate, appID: a.id, userID: t.userID})
	}
}

func (p *pushEngine) provision(t pushTask) {
	conn, attrs, extID, link, staged, ok, ver := p.snapshot(t)
	if !ok || staged {
		return
	}
	if extID != "" {
		p.finish(t, ver, "", p.putUser(t.appID, conn, extID, attrs))
		return
	}
	if link != "" && (conn.DeactivateUsers || conn.CreateUsers) {
		// Re-assignment: reactivate the account this user had.
		st, body, err := p.do(p.ctx, t.appID, conn, http.MethodPatch, "/Users/"+url.PathEscape(link), patchActive(true))
		if err == nil && isOK(st) {
			if conn.UpdateUsers {
				err = p.putUser(t.appID, conn, link, attrs)
			}
			p.finish(t, ver, link, err)
			return
		}
		if err == nil && st != http.StatusNotFound {
			p.finish(t, ver, "", errStatus("PATCH", "/Users", st, body))
			return
		}
		// Gone from the app: provision afresh.
	}
	id, err := p.lookup(t.appID, conn, "/Users", "userName", attrs.userName)
	if err != nil {
		p.finish(t, ver, "", err)
		return
	}
	if id != "" {
		// The user exists in the app: link to it and bring it up to date.
		if conn.UpdateUsers {
			err = p.putUser(t.appID, conn, id, attrs)
		}
		p.finish(t, ver, id, err)
		return
	}
	if !conn.CreateUsers {
		p.finish(t, ver, "", errors.New("no matching user in the app and Create Users is off"))
		return
	}
	st, body, err := p.do(p.ctx, t.appID, conn, http.MethodPost, "/Users", createBody(attrs, p.s.randomPassword()))
	if err != nil {
		p.finish(t, ver, "", err)
		return
	}
	var created map[string]any
	_ = json.Unmarshal(body, &created)
	newID, _ := created["id"].(string)
	if !isOK(st) || newID == "" {
		p.finish(t, ver, "", errStatus("POST", "/Users", st, body))
		return
	}
	p.finish(t, ver, newID, nil)
}

// lookup runs Okta's existence check and returns the id of the first
// match, or "".
func (p *pushEngine) lookup(appID string, conn SCIMConnection, path, attr, value string) (string, error) {
	st, body, err := p.do(p.ctx, appID, conn, http.MethodGet, path+filterQuery(attr, value), nil)
	if err != nil {
		return "", err
	}
	if !isOK(st) {
		return "", errStatus("GET", path, st, body)
	}
	var lr listResponse
	if err := json.Unmarshal(body, &lr); err != nil {
		return "", fmt.Errorf("GET %s: decode list: %w", path, err)
	}
	for _, r := range lr.Resources {
		if id, _ := r["id"].(string); id != "" {
			return id, nil
		}
	}
	return "", nil
}

// putUser is Okta's update: GET the user, then PUT it back whole with the
// mapped values changed.
func (p *pushEngine) putUser(appID string, conn SCIMConnection, id string, attrs userAttrs) error {
	path := "/Users/" + url.PathEscape(id)
	st, body, err := p.do(p.ctx, appID, conn, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if !isOK(st) {
		return errStatus("GET", path, st, body)
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return fmt.Errorf("GET %s: decode user: %w", path, errors.Join(err, errors.New("not a JSON object")))
	}
	applyAttrs(obj, attrs)
	st, body, err = p.do(p.ctx, appID, conn, http.MethodPut, path, obj)
	if err != nil {
		return err
	}
	if !isOK(st) {
		return errStatus("PUT", path, st, body)
	}
	return nil
}

func (p *pushEngine) update(t pushTask) {
	conn, attrs, extID, _, _, ok, ver := p.snapshot(t)
	if !ok || extID == "" {
		return
	}
	if !conn.UpdateUsers {
		p.finish(t, ver, "", nil)
		return
	}
	p.finish(t, ver, "", p.putUser(t.appID, conn, extID, attrs))
}

func (p *pushEngine) connOf(appID string) (SCIMConnection, bool) {
	return p.s.SCIMConnectionOf(appID)
}

func (p *pushEngine) deprovision(t pushTask) {
	conn, ok := p.connOf(t.appID)
	if !ok || !conn.DeactivateUsers || t.extID == "" {
		return
	}
	_, _, _ = p.do(p.ctx, t.appID, conn, http.MethodPatch, "/Users/"+url.PathEscape(t.extID), patchActive(false))
}

// ---- group pushes ----

type memberRef struct{ value, display string }

// groupState reads a pushed group's SCIM id, name and members that are
// provisioned in the app.
func (p *pushEngine) groupState(t pushTask) (conn SCIMConnection, scimID, name string, members []memberRef, ok bool) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	a, g := s.apps[t.appID], s.groups[t.groupID]
	if a == nil || a.conn == nil || !a.conn.GroupPush || g == nil {
		return
	}
	sid, pushed := a.pushed[g.id]
	if !pushed {
		return
	}
	for _, uid := range s.memberIDs(g) {
		if au := a.users[uid]; au != nil && au.externalID != "" {
			members = append(members, memberRef{au.externalID, au.userName})
		}
	}
	return *a.conn, sid, g.name, members, true
}

func addMembersPatch(ms []memberRef) map[string]any {
	vals := []any{}
	for _, m := range ms {
		vals = append(vals, map[string]any{"value": m.value, "display": m.display})
	}
	return map[string]any{
		"schemas":    []string{scimPatchSchema},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": vals}},
	}
}

func (p *pushEngine) groupCreate(t pushTask) {
	conn, sid, name, members, ok := p.groupState(t)
	if !ok || sid != "" {
		return
	}
	id, err := p.lookup(t.appID, conn, "/Groups", "displayName", name)
	if err != nil {
		return
	}
	if id == "" {
		st, body, err := p.do(p.ctx, t.appID, conn, http.MethodPost, "/Groups", map[string]any{
			"schemas": []string{scimGroupSchema}, "displayName": name, "members": []any{}})
		if err != nil || !isOK(st) {
			return
		}
		var created map[string]any
		_ = json.Unmarshal(body, &created)
		if id, _ = created["id"].(string); id == "" {
			return
		}
	}
	s := p.s
	s.mu.Lock()
	if a := s.apps[t.appID]; a != nil {
		if _, still := a.pushed[t.groupID]; still {
			a.pushed[t.groupID] = id
		}
	}
	s.mu.Unlock()
	if len(members) > 0 {
		_, _, _ = p.do(p.ctx, t.appID, conn, http.MethodPatch, "/Groups/"+url.PathEscape(id), addMembersPatch(members))
	}
}

func (p *pushEngine) groupRename(t pushTask) {
	conn, sid, name, _, ok := p.groupState(t)
	if !ok || sid == "" {
		return
	}
	_, _, _ = p.do(p.ctx, t.appID, conn, http.MethodPatch, "/Groups/"+url.PathEscape(sid), map[string]any{
		"schemas":    []string{scimPatchSchema},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"id": sid, "displayName": name}}},
	})
}

func (p *pushEngine) groupMember(t pushTask) {
	conn, sid, _, _, ok := p.groupState(t)
	if !ok || sid == "" {
		return
	}
	s := p.s
	s.mu.Lock()
	var ref memberRef
	if a := s.apps[t.appID]; a != nil {
		if au := a.users[t.userID]; au != nil {
			ref = memberRef{au.externalID, au.userName}
		} else {
			ref.value = a.links[t.userID]
		}
	}
	s.mu.Unlock()
	if ref.value == "" {
		return
	}
	path := "/Groups/" + url.PathEscape(sid)
	if t.kind == taskGroupAddMember {
		_, _, _ = p.do(p.ctx, t.appID, conn, http.MethodPatch, path, addMembersPatch([]memberRef{ref}))
		return
	}
	_, _, _ = p.do(p.ctx, t.appID, conn, http.MethodPatch, path, map[string]any{
		"schemas":    []string{scimPatchSchema},
		"Operations": []any{map[string]any{"op": "remove", "path": `members[value eq "` + ref.value + `"]`}},
	})
}

func (p *pushEngine) groupDelete(t pushTask) {
	conn, ok := p.connOf(t.appID)
	if !ok || t.extID == "" {
		return
	}
	_, _, _ = p.do(p.ctx, t.appID, conn, http.MethodDelete, "/Groups/"+url.PathEscape(t.extID), nil)
}

// ---- test credentials and import ----

// TestConnection is Okta's "Test API Credentials": GET
// /Users?startIndex=1&count=2 must answer 2xx.
func (s *Sim) TestConnection(ctx context.Context, appID string) error {
	conn, ok := s.SCIMConnectionOf(appID)
	if !ok {
		return fmt.Errorf("test connection: %w", errValidation("provisioning", "No provisioning connection is set"))
	}
	st, body, err := s.push.do(ctx, appID, conn, http.MethodGet, "/Users?startIndex=1&count=2", nil)
	if err != nil {
		return fmt.Errorf("test connection: %w", err)
	}
	if !isOK(st) {
		return fmt.Errorf("test connection: %w", errStatus("GET", "/Users", st, body))
	}
	return nil
}

// ImportResult holds what an import pulled from the app.
type ImportResult struct {
	Users  []map[string]any `json:"users"`
	Groups []map[string]any `json:"groups"`
}

// Import pulls users and then groups from the app as Okta's import does:
// GET /Users?startIndex=1&count=100, startIndex advancing by 100 until it
// passes totalResults, then the same for /Groups.
func (s *Sim) Import(ctx context.Context, appID string) (ImportResult, error) {
	conn, ok := s.SCIMConnectionOf(appID)
	if !ok {
		return ImportResult{}, fmt.Errorf("import: %w", errValidation("provisioning", "No provisioning connection is set"))
	}
	users, err := s.push.pull(ctx, appID, conn, "/Users")
	if err != nil {
		return ImportResult{}, fmt.Errorf("import users: %w", err)
	}
	groups, err := s.push.pull(ctx, appID, conn, "/Groups")
	if err != nil {
		return ImportResult{Users: users}, fmt.Errorf("import groups: %w", err)
	}
	return ImportResult{Users: users, Groups: groups}, nil
}

func (p *pushEngine) pull(ctx context.Context, appID string, conn SCIMConnection, path string) ([]map[string]any, error) {
	const count = 100
	out := []map[string]any{}
	for start := 1; ; start += count {
		q := fmt.Sprintf("%s?startIndex=%d&count=%d", path, start, count)
		st, body, err := p.do(ctx, appID, conn, http.MethodGet, q, nil)
		if err != nil {
			return out, err
		}
		if !isOK(st) {
			return out, errStatus("GET", path, st, body)
		}
		var lr listResponse
		if err := json.Unmarshal(body, &lr); err != nil {
			return out, fmt.Errorf("GET %s: decode list: %w", q, err)
		}
		out = append(out, lr.Resources...)
		if start+count > lr.TotalResults || len(lr.Resources) == 0 {
			return out, nil
		}
	}
}

// ForceSync pushes every assignment of the app again, as Okta's Force Sync
// does: unprovisioned ones are provisioned, provisioned ones updated.
// Turning provisioning on does not push existing assignments by itself.
func (s *Sim) ForceSync(appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return fmt.Errorf("force sync: %w", err)
	}
	if a.conn == nil {
		return fmt.Errorf("force sync: %w", errValidation("provisioning", "No provisioning connection is set"))
	}
	for _, au := range s.sortedAppUsers(a) {
		if au.externalID == "" {
			if a.conn.CreateUsers && au.status != StatusStaged {
				au.status = StatusStaged
				au.statusChanged = s.now()
			}
			s.enqueueUserPush(a, au, taskProvision)
		} else {
			s.enqueueUserPush(a, au, taskUpdate)
		}
	}
	return nil
}
