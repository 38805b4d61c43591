package oktasim

import (
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Okta user statuses the emulator uses.
const (
	StatusStaged        = "STAGED"
	StatusProvisioned   = "PROVISIONED"
	StatusActive        = "ACTIVE"
	StatusSuspended     = "SUSPENDED"
	StatusDeprovisioned = "DEPROVISIONED"
)

// Error is an Okta API error. The management API writes it as Okta's error
// JSON; the Go API returns it (possibly wrapped) so callers can use
// errors.As to read the code.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is Okta's error code, e.g. "E0000007".
	Code string
	// Summary is Okta's errorSummary.
	Summary string
	// Causes are the errorSummary values of errorCauses.
	Causes []string
}

// Error returns the code and summary.
func (e *Error) Error() string {
	msg := e.Code + ": " + e.Summary
	if len(e.Causes) > 0 {
		msg += " (" + strings.Join(e.Causes, "; ") + ")"
	}
	return msg
}

func errNotFound(what, id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "E0000007", Summary: fmt.Sprintf("Not found: Resource not found: %s (%s)", id, what)}
}

func errValidation(field string, causes ...string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "E0000001", Summary: "Api validation failed: " + field, Causes: causes}
}

func errForbiddenStatus(summary string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "E0000038", Summary: summary}
}

// User is a snapshot of an Okta user.
type User struct {
	ID              string
	Status          string
	Created         time.Time
	Activated       *time.Time
	StatusChanged   *time.Time
	LastUpdated     time.Time
	PasswordChanged *time.Time
	Profile         map[string]any
}

// AppUser is a snapshot of a user's assignment to an app.
type AppUser struct {
	AppID      string
	UserID     string
	ExternalID string
	// Scope is "USER" for a direct assignment, "GROUP" when only group
	// assignments grant it.
	Scope     string
	Status    string
	SyncState string
	UserName  string
	Profile   map[string]any
	// Groups are the ids of the assigned groups that grant the assignment.
	Groups        []string
	Created       time.Time
	LastUpdated   time.Time
	StatusChanged time.Time
	LastSync      *time.Time
}

// Group is a snapshot of an Okta group.
type Group struct {
	ID          string
	Name        string
	Description string
	Members     []string
	Created     time.Time
	LastUpdated time.Time
}

type user struct {
	id              string
	seq             uint64
	status          string
	created         time.Time
	activated       *time.Time
	statusChanged   *time.Time
	lastLogin       *time.Time
	lastUpdated     time.Time
	passwordChanged *time.Time
	profile         map[string]any
	password        bool
}

type appUser struct {
	userID        string
	userScoped    bool
	groups        map[string]bool
	status        string
	syncState     string
	externalID    string
	userName      string
	profile       map[string]any
	created       time.Time
	lastUpdated   time.Time
	statusChanged time.Time
	lastSync      *time.Time
	// version counts changes, so pushes can tell they sent stale values.
	version uint64
	// updateSkipped is set when a change was not pushed because the
	// assignment was not provisioned yet.
	updateSkipped bool
}

func (au *appUser) scope() string {
	if au.userScoped {
		return "USER"
	}
	return "GROUP"
}

type appGroup struct {
	groupID     string
	priority    int64
	profile     map[string]any
	lastUpdated time.Time
}

type app struct {
	id          string
	seq         uint64
	name        string
	label       string
	created     time.Time
	lastUpdated time.Time
	conn        *SCIMConnection
	users       map[string]*appUser
	groups      map[string]*appGroup
	// links remembers the SCIM id of every user ever provisioned, so a
	// re-assignment reactivates the same account, as Okta does.
	links map[string]string
	// pushed maps pushed Okta group ids to their SCIM group ids ("" until
	// the push succeeded).
	pushed map[string]string
	// sorted caches users in creation order between assignment changes, so
	// that paging through a large app is not a sort per page; nil when stale.
	sorted []*appUser
}

type group struct {
	id                    string
	seq                   uint64
	name                  string
	description           string
	created               time.Time
	lastUpdated           time.Time
	lastMembershipUpdated time.Time
	members               map[string]bool
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return maps.Clone(m)
}

func str(m map[string]any, k string) string {
	if v, ok := m[k].(string); ok {
		return v
	}
	return ""
}

func ptime(t time.Time) *time.Time { return &t }

// ---- users ----

func (s *Sim) userSnapshot(u *user) User {
	return User{ID: u.id, Status: u.status, Created: u.created, Activated: u.activated,
		StatusChanged: u.statusChanged, LastUpdated: u.lastUpdated, PasswordChanged: u.passwordChanged,
		Profile: cloneMap(u.profile)}
}

// findUser resolves an id or a login (case-insensitive), as GET
// /api/v1/users/{idOrLogin} does.
func (s *Sim) findUser(idOrLogin string) *user {
	if u, ok := s.users[idOrLogin]; ok {
		return u
	}
	return s.users[s.logins[strings.ToLower(idOrLogin)]]
}

// loginTaken reports whether another user has login (logins are unique
// without regard to case in Okta).
func (s *Sim) loginTaken(login, exceptID string) bool {
	id, ok := s.logins[strings.ToLower(login)]
	return ok && id != exceptID
}

// validateProfile applies Okta's default user schema: login, email,
// firstName and lastName are required; login must look like an email.
func (s *Sim) validateProfile(p map[string]any, exceptID string) *Error {
	var causes []string
	field := ""
	for _, k := range []string{"login", "email", "firstName", "lastName"} {
		if strings.TrimSpace(str(p, k)) == "" {
			causes = append(causes, k+": The field cannot be left blank")
			if field == "" {
				field = k
			}
		}
	}
	if l := str(p, "login"); l != "" && !strings.Contains(l, "@") {
		causes = append(causes, "login: Username must be in the form of an email address")
		if field == "" {
			field = "login"
		}
	}
	if e := str(p, "email"); e != "" && !strings.Contains(e, "@") {
		causes = append(causes, "email: Does not match required pattern")
		if field == "" {
			field = "email"
		}
	}
	if len(causes) > 0 {
		return errValidation(field, causes...)
	}
	if s.loginTaken(str(p, "login"), exceptID) {
		return errValidation("login", "login: An object with this field already exists in the current organization")
	}
	return nil
}

func (s *Sim) createUserLocked(profile map[string]any, password, activate bool) (*user, *Error) {
	p := cloneMap(profile)
	if err := s.validateProfile(p, ""); err != nil {
		return nil, err
	}
	now := s.now()
	id, seq := s.newID("00u")
	u := &user{id: id, seq: seq, status: StatusStaged, created: now, lastUpdated: now, profile: p, password: password}
	if activate {
		u.status = StatusActive
		u.activated = ptime(now)
		u.statusChanged = ptime(now)
	}
	if password {
		u.passwordChanged = ptime(now)
	}
	s.users[id] = u
	s.logins[strings.ToLower(str(p, "login"))] = id
	s.indexEmail(u, "", str(p, "email"))
	return u, nil
}

// CreateUser creates an Okta user with the given profile (login, email,
// firstName and lastName are required), ACTIVE if active, else STAGED, as
// POST /api/v1/users?activate=... does.
func (s *Sim) CreateUser(profile map[string]any, active bool) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.createUserLocked(profile, false, active)
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return s.userSnapshot(u), nil
}

// GetUser returns the user with the given id or login.
func (s *Sim) GetUser(idOrLogin string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUser(idOrLogin)
	if u == nil {
		return User{}, fmt.Errorf("get user: %w", errNotFound("User", idOrLogin))
	}
	return s.userSnapshot(u), nil
}

// Users returns every user, DEPROVISIONED included, in creation order.
func (s *Sim) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []User
	for _, u := range s.sortedUsers() {
		out = append(out, s.userSnapshot(u))
	}
	return out
}

func (s *Sim) sortedUsers() []*user {
	out := make([]*user, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *user) int { return cmpU64(a.seq, b.seq) })
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// UpdateUserProfile changes a user's profile: merged into the current one
// if partial (POST /api/v1/users/{id}), replacing it otherwise (PUT). The
// change flows to the user's app assignments and is pushed as Okta does.
func (s *Sim) UpdateUserProfile(idOrLogin string, profile map[string]any, partial bool) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUser(idOrLogin)
	if u == nil {
		return User{}, fmt.Errorf("update user: %w", errNotFound("User", idOrLogin))
	}
	if err := s.updateUserLocked(u, profile, partial); err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	return s.userSnapshot(u), nil
}

func (s *Sim) updateUserLocked(u *user, profile map[string]any, partial bool) *Error {
	var p map[string]any
	if partial {
		p = cloneMap(u.profile)
		for k, v := range profile {
			p[k] = v
		}
	} else {
		p = cloneMap(profile)
	}
	if err := s.validateProfile(p, u.id); err != nil {
		return err
	}
	oldLogin, newLogin := str(u.profile, "login"), str(p, "login")
	if !strings.EqualFold(oldLogin, newLogin) {
		delete(s.logins, strings.ToLower(oldLogin))
		s.logins[strings.ToLower(newLogin)] = u.id
	}
	s.indexEmail(u, str(u.profile, "email"), str(p, "email"))
	u.profile = p
	u.lastUpdated = s.now()
	mapped := s.cfg.mapping(cloneMap(p))
	for _, a := range s.sortedApps() {
		au := a.users[u.id]
		if au == nil {
			continue
		}
		before, beforeName := cloneMap(au.profile), au.userName
		for k, v := range mapped {
			au.profile[k] = v
		}
		if oldLogin != newLogin && strings.EqualFold(au.userName, oldLogin) {
			// The app username follows Okta's default template,
			// ${source.login}, which is applied on create and update.
			au.userName = newLogin
		}
		// Okta pushes an update only when the app user changed, not for
		// every change to attributes the app does not map.
		if au.userName != beforeName || !reflect.DeepEqual(before, au.profile) {
			au.lastUpdated = u.lastUpdated
			s.enqueueUserPush(a, au, taskUpdate)
		}
	}
	return nil
}

// ActivateUser activates a STAGED, PROVISIONED or DEPROVISIONED user.
func (s *Sim) ActivateUser(idOrLogin string) error {
	return s.lifecycle(idOrLogin, "activate")
}

// DeactivateUser deactivates a user: it becomes DEPROVISIONED and loses
// every app assignment (group memberships stay), and the apps are told to
// deactivate the account, as Okta does.
func (s *Sim) DeactivateUser(idOrLogin string) error {
	return s.lifecycle(idOrLogin, "deactivate")
}

// SuspendUser suspends an ACTIVE user; app assignments are kept.
func (s *Sim) SuspendUser(idOrLogin string) error { return s.lifecycle(idOrLogin, "suspend") }

// UnsuspendUser returns a SUSPENDED user to ACTIVE.
func (s *Sim) UnsuspendUser(idOrLogin string) error { return s.lifecycle(idOrLogin, "unsuspend") }

// DeleteUser deletes a user, deactivating it first if needed, so one call
// has the effect of Okta's two DELETEs.
func (s *Sim) DeleteUser(idOrLogin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUser(idOrLogin)
	if u == nil {
		return fmt.Errorf("delete user: %w", errNotFound("User", idOrLogin))
	}
	if u.status != StatusDeprovisioned {
		if err := s.lifecycleLocked(u, "deactivate"); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
	}
	s.deleteUserLocked(u)
	return nil
}

func (s *Sim) lifecycle(idOrLogin, op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUser(idOrLogin)
	if u == nil {
		return fmt.Errorf("%s user: %w", op, errNotFound("User", idOrLogin))
	}
	if err := s.lifecycleLocked(u, op); err != nil {
		return fmt.Errorf("%s user: %w", op, err)
	}
	return nil
}

func (s *Sim) setStatus(u *user, status string) {
	now := s.now()
	u.status = status
	u.statusChanged = ptime(now)
	u.lastUpdated = now
}

func (s *Sim) lifecycleLocked(u *user, op string) *Error {
	switch op {
	case "activate":
		switch u.status {
		case StatusStaged, StatusProvisioned, StatusDeprovisioned:
		default:
			return &Error{Status: http.StatusForbidden, Code: "E0000016", Summary: "Activation failed because the user is already active"}
		}
		was := u.status
		s.setStatus(u, StatusActive)
		u.activated = ptime(s.now())
		if was == StatusDeprovisioned {
			// Group memberships survived deactivation; their app
			// assignments come back.
			for _, a := range s.sortedApps() {
				for _, gid := range sortedKeys(a.groups) {
					if g := s.groups[gid]; g != nil && g.members[u.id] {
						s.grantFromGroup(a, u, gid)
					}
				}
			}
		} else {
			// Okta provisions staged users to apps only once active.
			for _, a := range s.sortedApps() {
				if au := a.users[u.id]; au != nil && au.externalID == "" {
					s.enqueueUserPush(a, au, taskProvision)
				}
			}
		}
	case "deactivate":
		if u.status == StatusDeprovisioned {
			return nil
		}
		s.setStatus(u, StatusDeprovisioned)
		for _, a := range s.sortedApps() {
			if au := a.users[u.id]; au != nil {
				s.removeAppUser(a, au)
			}
		}
	case "reactivate":
		if u.status != StatusProvisioned {
			return errForbiddenStatus("This operation is not allowed in the user's current status.")
		}
		u.lastUpdated = s.now()
	case "suspend":
		if u.status != StatusActive {
			return errValidation("status", "Cannot suspend a user that is not active")
		}
		s.setStatus(u, StatusSuspended)
	case "unsuspend":
		if u.status != StatusSuspended {
			return errValidation("status", "Cannot unsuspend a user that is not suspended")
		}
		s.setStatus(u, StatusActive)
	default:
		return errNotFound("Operation", op)
	}
	return nil
}

func (s *Sim) deleteUserLocked(u *user) {
	for _, g := range s.sortedGroups() {
		if g.members[u.id] {
			s.removeMemberLocked(g, u)
		}
	}
	delete(s.users, u.id)
	delete(s.logins, strings.ToLower(str(u.profile, "login")))
	s.indexEmail(u, str(u.profile, "email"), "")
}

// indexEmail moves u in the email index from old to new ("" for none).
func (s *Sim) indexEmail(u *user, old, new string) {
	if ids := s.emails[strings.ToLower(old)]; old != "" && ids != nil {
		delete(ids, u.id)
		if len(ids) == 0 {
			delete(s.emails, strings.ToLower(old))
		}
	}
	if new == "" {
		return
	}
	k := strings.ToLower(new)
	if s.emails[k] == nil {
		s.emails[k] = map[string]bool{}
	}
	s.emails[k][u.id] = true
}

// indexedUsers returns the only users that can match e when e is a single
// profile.login or profile.email equality, which Okta answers from an index
// (the sync's look-up of every app user); ok is false for any other filter.
func (s *Sim) indexedUsers(e expr) (users []*user, ok bool) {
	c, isCmp := e.(cmpExpr)
	v, isStr := c.val.(string)
	if !isCmp || !isStr || c.op != "eq" {
		return nil, false
	}
	switch strings.ToLower(c.attr) {
	case "profile.login":
		if u := s.users[s.logins[strings.ToLower(v)]]; u != nil {
			users = append(users, u)
		}
		return users, true
	case "profile.email":
		for id := range s.emails[strings.ToLower(v)] {
			users = append(users, s.users[id])
		}
		slices.SortFunc(users, func(a, b *user) int { return cmpU64(a.seq, b.seq) })
		return users, true
	}
	return nil, false
}

// ---- apps ----

func (s *Sim) createApp(id, label string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var seq uint64
	if id == "" {
		id, seq = s.newID("0oa")
	} else {
		seq = s.nextSeq(id)
	}
	if label == "" {
		label = "oktasync"
	}
	s.apps[id] = &app{id: id, seq: seq, name: "scim2headerauth", label: label, created: now, lastUpdated: now,
		users: map[string]*appUser{}, groups: map[string]*appGroup{}, links: map[string]string{}, pushed: map[string]string{}}
	return id
}

// CreateApp adds another app to the org and returns its id.
func (s *Sim) CreateApp(label string) string { return s.createApp("", label) }

func (s *Sim) sortedApps() []*app {
	out := make([]*app, 0, len(s.apps))
	for _, a := range s.apps {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *app) int { return cmpU64(a.seq, b.seq) })
	return out
}

func (s *Sim) appUserSnapshot(a *app, au *appUser) AppUser {
	return AppUser{AppID: a.id, UserID: au.userID, ExternalID: au.externalID, Scope: au.scope(),
		Status: au.status, SyncState: au.syncState, UserName: au.userName, Profile: cloneMap(au.profile),
		Groups: sortedKeys(au.groups), Created: au.created, LastUpdated: au.lastUpdated,
		StatusChanged: au.statusChanged, LastSync: au.lastSync}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func (s *Sim) getApp(appID string) (*app, *Error) {
	a := s.apps[appID]
	if a == nil {
		return nil, errNotFound("App", appID)
	}
	return a, nil
}

// AssignUser assigns a user to an app directly (scope USER), with the given
// app username (the user's login if empty) and app profile, merged over the
// profile mapped from the Okta user. Assigning an assigned user updates the
// assignment. With provisioning on, the user is pushed to the app.
func (s *Sim) AssignUser(appID, userID, userName string, profile map[string]any) (AppUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return AppUser{}, fmt.Errorf("assign user: %w", err)
	}
	au, _, err := s.assignLocked(a, userID, userName, profile)
	if err != nil {
		return AppUser{}, fmt.Errorf("assign user: %w", err)
	}
	return s.appUserSnapshot(a, au), nil
}

func (s *Sim) newAppUser(a *app, u *user, userName string) *appUser {
	now := s.now()
	if userName == "" {
		userName = str(u.profile, "login")
	}
	au := &appUser{userID: u.id, groups: map[string]bool{}, userName: userName,
		profile: s.cfg.mapping(cloneMap(u.profile)), created: now, lastUpdated: now, statusChanged: now}
	if au.profile == nil {
		au.profile = map[string]any{}
	}
	if a.conn != nil && (a.conn.CreateUsers || a.links[u.id] != "") {
		au.status, au.syncState = StatusStaged, "OUT_OF_SYNC"
	} else {
		au.status, au.syncState = StatusActive, "DISABLED"
	}
	a.users[u.id] = au
	a.sorted = nil
	return au
}

// checkAppProfile rejects attributes outside the app user schema, when one
// is set (WithAppProfileAttributes), as Okta does.
func (s *Sim) checkAppProfile(field string, profile map[string]any) *Error {
	if s.cfg.appAttrs == nil {
		return nil
	}
	var causes []string
	for _, k := range sortedKeys(profile) {
		if !s.cfg.appAttrs[k] {
			causes = append(causes, "Property '"+k+"' not found")
		}
	}
	if len(causes) > 0 {
		return errValidation(field, causes...)
	}
	return nil
}

func (s *Sim) assignLocked(a *app, userID, userName string, profile map[string]any) (*appUser, bool, *Error) {
	if err := s.checkAppProfile("assignment", profile); err != nil {
		return nil, false, err
	}
	u := s.users[userID]
	if u == nil {
		return nil, false, errNotFound("User", userID)
	}
	if u.status == StatusDeprovisioned {
		return nil, false, errValidation("assignment", "Cannot assign apps to a deactivated user")
	}
	au := a.users[userID]
	created := au == nil
	if created {
		au = s.newAppUser(a, u, userName)
		au.userScoped = true
	} else if userName != "" {
		// Okta answers a repeated assignment with the existing one,
		// updated; a group-scoped assignment keeps scope GROUP (converting
		// it takes an update with scope USER).
		au.userName = userName
	}
	for k, v := range profile {
		au.profile[k] = v
	}
	au.lastUpdated = s.now()
	a.lastUpdated = au.lastUpdated
	if created {
		s.enqueueUserPush(a, au, taskProvision)
	} else {
		s.enqueueUserPush(a, au, taskUpdate)
	}
	return au, created, nil
}

// UpdateAppUser changes an assignment's app profile (merged) and, if
// userName is not empty, its app username, then pushes the change.
func (s *Sim) UpdateAppUser(appID, userID, userName string, profile map[string]any) (AppUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return AppUser{}, fmt.Errorf("update app user: %w", err)
	}
	au, err := s.updateAppUserLocked(a, userID, userName, "", profile)
	if err != nil {
		return AppUser{}, fmt.Errorf("update app user: %w", err)
	}
	return s.appUserSnapshot(a, au), nil
}

func (s *Sim) updateAppUserLocked(a *app, userID, userName, scope string, profile map[string]any) (*appUser, *Error) {
	if err := s.checkAppProfile("profile", profile); err != nil {
		return nil, err
	}
	au := a.users[userID]
	if au == nil {
		return nil, errNotFound("AppUser", userID)
	}
	switch scope {
	case "":
	case "USER":
		// Converts a group assignment into an individual one.
		au.userScoped = true
	case "GROUP":
		if len(au.groups) == 0 {
			return nil, errValidation("scope", "scope: No assigned group grants this user the app")
		}
		au.userScoped = false
	default:
		return nil, errValidation("scope", "scope: Does not match required pattern")
	}
	if userName != "" {
		au.userName = userName
	}
	for k, v := range profile {
		au.profile[k] = v
	}
	au.lastUpdated = s.now()
	s.enqueueUserPush(a, au, taskUpdate)
	return au, nil
}

// UnassignUser removes a user's direct assignment. If an assigned group
// still grants the app the assignment stays with scope GROUP; otherwise
// the app is told to deactivate the account.
func (s *Sim) UnassignUser(appID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return fmt.Errorf("unassign user: %w", err)
	}
	if err := s.unassignLocked(a, userID); err != nil {
		return fmt.Errorf("unassign user: %w", err)
	}
	return nil
}

func (s *Sim) unassignLocked(a *app, userID string) *Error {
	au := a.users[userID]
	if au == nil {
		return errNotFound("AppUser", userID)
	}
	if len(au.groups) > 0 {
		au.userScoped = false
		au.lastUpdated = s.now()
		return nil
	}
	s.removeAppUser(a, au)
	return nil
}

func (s *Sim) removeAppUser(a *app, au *appUser) {
	delete(a.users, au.userID)
	a.sorted = nil
	a.lastUpdated = s.now()
	if au.externalID != "" {
		s.enqueueDeprovision(a, au)
	}
}

// AppUsers returns the app's assignments in user creation order.
func (s *Sim) AppUsers(appID string) []AppUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return nil
	}
	var out []AppUser
	for _, au := range s.sortedAppUsers(a) {
		out = append(out, s.appUserSnapshot(a, au))
	}
	return out
}

// AppUser returns one assignment.
func (s *Sim) AppUser(appID, userID string) (AppUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return AppUser{}, fmt.Errorf("get app user: %w", err)
	}
	au := a.users[userID]
	if au == nil {
		return AppUser{}, fmt.Errorf("get app user: %w", errNotFound("AppUser", userID))
	}
	return s.appUserSnapshot(a, au), nil
}

func (s *Sim) userSeq(id string) uint64 { return s.seqOf[id] }

// sortedAppUsers returns a's users in creation order. The slice is shared
// until the next assignment change: callers read it and never modify it.
func (s *Sim) sortedAppUsers(a *app) []*appUser {
	if a.sorted != nil && len(a.sorted) == len(a.users) {
		return a.sorted
	}
	out := make([]*appUser, 0, len(a.users))
	for _, au := range a.users {
		out = append(out, au)
	}
	slices.SortFunc(out, func(x, y *appUser) int { return cmpU64(s.userSeq(x.userID), s.userSeq(y.userID)) })
	a.sorted = out
	return out
}

// grantFromGroup gives u the app through group gid (scope GROUP unless it
// is also assigned directly).
func (s *Sim) grantFromGroup(a *app, u *user, gid string) {
	if u.status == StatusDeprovisioned {
		return
	}
	au := a.users[u.id]
	if au == nil {
		au = s.newAppUser(a, u, "")
		au.groups[gid] = true
		s.enqueueUserPush(a, au, taskProvision)
		return
	}
	au.groups[gid] = true
}

func (s *Sim) revokeFromGroup(a *app, userID, gid string) {
	au := a.users[userID]
	if au == nil || !au.groups[gid] {
		return
	}
	delete(au.groups, gid)
	if !au.userScoped && len(au.groups) == 0 {
		s.removeAppUser(a, au)
	}
}

// ---- groups ----

func (s *Sim) groupSnapshot(g *group) Group {
	return Group{ID: g.id, Name: g.name, Description: g.description, Members: s.memberIDs(g),
		Created: g.created, LastUpdated: g.lastUpdated}
}

func (s *Sim) memberIDs(g *group) []string {
	ids := sortedKeys(g.members)
	slices.SortFunc(ids, func(a, b string) int { return cmpU64(s.seqOf[a], s.seqOf[b]) })
	return ids
}

func (s *Sim) sortedGroups() []*group {
	out := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *group) int { return cmpU64(a.seq, b.seq) })
	return out
}

func (s *Sim) groupNameTaken(name, exceptID string) bool {
	for _, g := range s.groups {
		if g.id != exceptID && strings.EqualFold(g.name, name) {
			return true
		}
	}
	return false
}

func (s *Sim) createGroupLocked(name, desc string) (*group, *Error) {
	if strings.TrimSpace(name) == "" {
		return nil, errValidation("name", "name: The field cannot be left blank")
	}
	if s.groupNameTaken(name, "") {
		return nil, errValidation("name", "name: An object with this field already exists in the current organization")
	}
	now := s.now()
	id, seq := s.newID("00g")
	g := &group{id: id, seq: seq, name: name, description: desc, created: now, lastUpdated: now,
		lastMembershipUpdated: now, members: map[string]bool{}}
	s.groups[id] = g
	return g, nil
}

// CreateGroup creates an Okta group.
func (s *Sim) CreateGroup(name, description string) (Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.createGroupLocked(name, description)
	if err != nil {
		return Group{}, fmt.Errorf("create group: %w", err)
	}
	return s.groupSnapshot(g), nil
}

// Groups returns every group in creation order.
func (s *Sim) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Group
	for _, g := range s.sortedGroups() {
		out = append(out, s.groupSnapshot(g))
	}
	return out
}

func (s *Sim) updateGroupLocked(g *group, name, desc string) *Error {
	if strings.TrimSpace(name) == "" {
		return errValidation("name", "name: The field cannot be left blank")
	}
	if s.groupNameTaken(name, g.id) {
		return errValidation("name", "name: An object with this field already exists in the current organization")
	}
	renamed := g.name != name
	g.name, g.description = name, desc
	g.lastUpdated = s.now()
	if renamed {
		for _, a := range s.sortedApps() {
			if _, ok := a.pushed[g.id]; ok {
				s.enqueueGroupPush(a, g.id, taskGroupRename, "")
			}
		}
	}
	return nil
}

// RenameGroup changes a group's name (and pushes the rename to apps that
// push the group).
func (s *Sim) RenameGroup(groupID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if g == nil {
		return fmt.Errorf("rename group: %w", errNotFound("Group", groupID))
	}
	if err := s.updateGroupLocked(g, name, g.description); err != nil {
		return fmt.Errorf("rename group: %w", err)
	}
	return nil
}

// DeleteGroup deletes a group: its app assignments go away (and with them
// the app users it alone granted) and pushed copies are deleted.
func (s *Sim) DeleteGroup(groupID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if g == nil {
		return fmt.Errorf("delete group: %w", errNotFound("Group", groupID))
	}
	s.deleteGroupLocked(g)
	return nil
}

func (s *Sim) deleteGroupLocked(g *group) {
	for _, a := range s.sortedApps() {
		if _, ok := a.pushed[g.id]; ok {
			s.enqueueGroupPush(a, g.id, taskGroupDelete, "")
			delete(a.pushed, g.id)
		}
		if a.groups[g.id] != nil {
			s.unassignGroupLocked(a, g)
		}
	}
	delete(s.groups, g.id)
}

// AddGroupMember adds a user to a group; apps the group is assigned to get
// the user, and pushed groups get the member.
func (s *Sim) AddGroupMember(groupID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.groups[groupID], s.users[userID]
	if g == nil {
		return fmt.Errorf("add group member: %w", errNotFound("Group", groupID))
	}
	if u == nil {
		return fmt.Errorf("add group member: %w", errNotFound("User", userID))
	}
	s.addMemberLocked(g, u)
	return nil
}

func (s *Sim) addMemberLocked(g *group, u *user) {
	if g.members[u.id] {
		return
	}
	g.members[u.id] = true
	g.lastMembershipUpdated = s.now()
	for _, a := range s.sortedApps() {
		if a.groups[g.id] != nil {
			s.grantFromGroup(a, u, g.id)
		}
		if _, ok := a.pushed[g.id]; ok {
			s.enqueueGroupPush(a, g.id, taskGroupAddMember, u.id)
		}
	}
}

// RemoveGroupMember removes a user from a group, with the app and push
// consequences Okta has.
func (s *Sim) RemoveGroupMember(groupID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.groups[groupID], s.users[userID]
	if g == nil {
		return fmt.Errorf("remove group member: %w", errNotFound("Group", groupID))
	}
	if u == nil {
		return fmt.Errorf("remove group member: %w", errNotFound("User", userID))
	}
	s.removeMemberLocked(g, u)
	return nil
}

func (s *Sim) removeMemberLocked(g *group, u *user) {
	if !g.members[u.id] {
		return
	}
	delete(g.members, u.id)
	g.lastMembershipUpdated = s.now()
	for _, a := range s.sortedApps() {
		if _, ok := a.pushed[g.id]; ok {
			s.enqueueGroupPush(a, g.id, taskGroupRemoveMember, u.id)
		}
		if a.groups[g.id] != nil {
			s.revokeFromGroup(a, u.id, g.id)
		}
	}
}

// AssignGroup assigns a group to an app: its members become app users with
// scope GROUP.
func (s *Sim) AssignGroup(appID, groupID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return fmt.Errorf("assign group: %w", err)
	}
	g := s.groups[groupID]
	if g == nil {
		return fmt.Errorf("assign group: %w", errNotFound("Group", groupID))
	}
	s.assignGroupLocked(a, g, 0, nil)
	return nil
}

func (s *Sim) assignGroupLocked(a *app, g *group, priority int64, profile map[string]any) *appGroup {
	ag := a.groups[g.id]
	if ag == nil {
		ag = &appGroup{groupID: g.id, priority: priority}
		a.groups[g.id] = ag
	}
	if profile != nil {
		ag.profile = cloneMap(profile)
	}
	ag.priority = priority
	ag.lastUpdated = s.now()
	for _, uid := range s.memberIDs(g) {
		s.grantFromGroup(a, s.users[uid], g.id)
	}
	return ag
}

// UnassignGroup removes a group's assignment to an app.
func (s *Sim) UnassignGroup(appID, groupID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.getApp(appID)
	if err != nil {
		return fmt.Errorf("unassign group: %w", err)
	}
	g := s.groups[groupID]
	if g == nil || a.groups[groupID] == nil {
		return fmt.Errorf("unassign group: %w", errNotFound("Group", groupID))
	}
	s.unassignGroupLocked(a, g)
	return nil
}

func (s *Sim) unassignGroupLocked(a *app, g *group) {
	delete(a.groups, g.id)
	for _, uid := range s.memberIDs(g) {
		s.revokeFromGroup(a, uid, g.id)
	}
}
