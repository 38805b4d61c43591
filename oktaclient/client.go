// Package oktaclient is oktasync's typed client of the Okta management API: app users,
// users and their lifecycle, behind the Client interface the reconciliation worker uses.
//
// The implementation wraps okta-sdk-golang/v2 and keeps it out of the interface, so a
// move to a later SDK touches this package only. Under the SDK sits a transport that
// paces requests per rate-limit family from Okta's X-Rate-Limit-* headers, bounds
// concurrency and retries what is safe to retry; errors come back as *errkind.Error.
package oktaclient

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"

	"github.com/oktasync/oktasync/errkind"
)

// Client is what oktasync needs from Okta for one tenant's app. Methods return
// *errkind.Error values: NotFound, Conflict, Invalid, Unauthorized, RateLimited (with
// RetryAfter), Transient or Permanent.
//
// Requests answered 429 or 503 are retried inside the client, whatever the method, as
// Okta did not apply them; reads are also retried after other 5xx answers and broken
// connections. A Transient error from a write therefore means the write may or may not
// have been applied: read before writing again.
type Client interface {
	// ListAppUsers calls fn with each page of the app's users, in Okta's order, with the
	// cursor that resumes the listing after that page ("" after the last). An error
	// from fn stops the listing and is returned as is.
	ListAppUsers(ctx context.Context, opts ListOptions, fn func(page []AppUser, after string) error) error
	// GetAppUser returns the user's assignment to the app.
	GetAppUser(ctx context.Context, userID string) (AppUser, error)
	// AssignUser assigns a user to the app (scope USER) with a user name and profile.
	AssignUser(ctx context.Context, a Assignment) (AppUser, error)
	// UpdateAppUser updates an app user's profile and, if asked, its user name.
	UpdateAppUser(ctx context.Context, userID string, u AppUserUpdate) (AppUser, error)
	// UnassignUser removes the user's assignment to the app.
	UnassignUser(ctx context.Context, userID string) error

	// GetUser returns an Okta user by id.
	GetUser(ctx context.Context, userID string) (User, error)
	// FindUserByLogin returns the user whose login is login, or a NotFound error.
	// The look-up is strongly consistent (a filter, not a search).
	FindUserByLogin(ctx context.Context, login string) (User, error)
	// FindUsersByEmail returns the users whose primary email is email; Okta does not
	// keep emails unique. None found is an empty slice, not an error.
	FindUsersByEmail(ctx context.Context, email string) ([]User, error)
	// CreateUser creates a user, STAGED unless u.Activate, without emailing the user
	// unless u.SendEmail.
	CreateUser(ctx context.Context, u NewUser) (User, error)
	// ActivateUser activates a STAGED or DEPROVISIONED user.
	ActivateUser(ctx context.Context, userID string, opts LifecycleOptions) error
	// DeactivateUser deactivates a user.
	DeactivateUser(ctx context.Context, userID string, opts LifecycleOptions) error

	// Check verifies the credentials and the app: it reads the app and counts the first
	// page of its users.
	Check(ctx context.Context) (CheckResult, error)
}

// SDKClient is the Client backed by okta-sdk-golang/v2.
type SDKClient struct {
	cfg   Config
	appID string // path-escaped
	sdk   *okta.Client
	tr    *transport
}

var _ Client = (*SDKClient)(nil)

// New builds a Client for cfg. It makes no request. Settings come from cfg alone: the
// SDK's own configuration sources (~/.okta/okta.yaml, OKTA_CLIENT_* variables) are
// overridden for everything that matters, and proxies come only from cfg.ProxyURL.
func New(cfg Config) (*SDKClient, error) {
	cfg = cfg.withDefaults()
	loopbackHTTP, err := cfg.validate()
	if err != nil {
		return nil, err
	}

	base := cfg.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil // no HTTPS_PROXY surprises; see Config.ProxyURL
		if cfg.ProxyURL != "" {
			p, _ := url.Parse(cfg.ProxyURL) // checked by validate
			t.Proxy = http.ProxyURL(p)
		}
		// The default keeps two idle connections per host, which would make a paced
		// stream of requests open a new connection for nearly every one.
		t.MaxIdleConnsPerHost = cfg.MaxConcurrency
		base = t
	}
	tr := &transport{
		base:           base,
		pacer:          newPacer(cfg.Clock, cfg.Reserve, cfg.ResetPad),
		clock:          cfg.Clock,
		sem:            make(chan struct{}, cfg.MaxConcurrency),
		maxRetries:     cfg.MaxRetries,
		attemptTimeout: cfg.RequestTimeout,
		minBackoff:     250 * time.Millisecond,
		maxBackoff:     cfg.MaxBackoff,
		jitter:         defaultJitter,
		observe:        cfg.Observe,
	}
	hc := &http.Client{
		Transport: tr,
		// An API call is never redirected by Okta; a redirect means a wrong org URL
		// (a login page), and following it could carry the token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	_, sdk, err := okta.NewClient(context.Background(),
		okta.WithOrgUrl(cfg.OrgURL),
		okta.WithToken(cfg.APIToken),
		okta.WithAuthorizationMode("SSWS"),
		// The SDK caches list responses too and would serve stale app users.
		okta.WithCache(false),
		// The SDK retries io.EOF without limit or delay; a request timeout bounds it.
		okta.WithRequestTimeout(int64((cfg.CallTimeout+time.Second-1)/time.Second)),
		// Retries are the transport's; the SDK's would multiply them.
		okta.WithRateLimitMaxRetries(0),
		okta.WithRateLimitMaxBackOff(int64(cfg.MaxBackoff/time.Second)+1),
		okta.WithTestingDisableHttpsCheck(loopbackHTTP),
		okta.WithUserAgentExtra("oktasync"),
		okta.WithHttpClientPtr(hc),
	)
	if err != nil {
		return nil, errkind.E("oktaclient.New", errkind.Invalid, "invalid Okta configuration", err)
	}
	return &SDKClient{cfg: cfg, appID: url.PathEscape(cfg.AppID), sdk: sdk, tr: tr}, nil
}

// Config returns the configuration in effect, defaults applied.
func (c *SDKClient) Config() Config { return c.cfg }

// ListAppUsers implements Client.
func (c *SDKClient) ListAppUsers(ctx context.Context, opts ListOptions, fn func(page []AppUser, after string) error) error {
	const op = "oktaclient.ListAppUsers"
	limit := opts.Limit
	switch {
	case limit == 0:
		limit = 200
	case limit < 0 || limit > MaxPageSize:
		return errkind.Errorf(op, errkind.Invalid, "page size %d is outside 1..%d", limit, MaxPageSize)
	}
	if fn == nil {
		return errkind.E(op, errkind.Invalid, "no page callback", nil)
	}
	qp := query.NewQueryParams(query.WithLimit(int64(limit)))
	qp.After, qp.Q = opts.After, opts.Query

	cctx, st := withCallState(ctx)
	page, resp, err := c.sdk.Application.ListApplicationUsers(cctx, c.appID, qp)
	for {
		if err != nil {
			return mapError(op, err, resp, st)
		}
		users := make([]AppUser, 0, len(page))
		for _, u := range page {
			if u != nil {
				users = append(users, appUserFrom(u))
			}
		}
		next := ""
		if resp.HasNextPage() {
			next = afterCursor(resp.NextPage)
		}
		if err := fn(users, next); err != nil {
			return err
		}
		if !resp.HasNextPage() {
			return nil
		}
		// Drop the page before fetching the next so only one is held at a time.
		page = nil
		cctx, st = withCallState(ctx)
		resp, err = resp.Next(cctx, &page)
	}
}

// afterCursor extracts the after parameter from a next link.
func afterCursor(next string) string {
	u, err := url.Parse(next)
	if err != nil {
		return ""
	}
	return u.Query().Get("after")
}

// GetAppUser implements Client.
func (c *SDKClient) GetAppUser(ctx context.Context, userID string) (AppUser, error) {
	const op = "oktaclient.GetAppUser"
	if err := checkID(op, userID); err != nil {
		return AppUser{}, err
	}
	cctx, st := withCallState(ctx)
	au, resp, err := c.sdk.Application.GetApplicationUser(cctx, c.appID, url.PathEscape(userID), nil)
	if err != nil {
		return AppUser{}, mapError(op, err, resp, st)
	}
	return appUserResult(op, au)
}

// AssignUser implements Client.
func (c *SDKClient) AssignUser(ctx context.Context, a Assignment) (AppUser, error) {
	const op = "oktaclient.AssignUser"
	if err := checkID(op, a.UserID); err != nil {
		return AppUser{}, err
	}
	if a.UserName == "" {
		return AppUser{}, errkind.E(op, errkind.Invalid, "user name is required", nil)
	}
	body := okta.AppUser{
		Id:          a.UserID,
		Scope:       ScopeUser,
		Credentials: &okta.AppUserCredentials{UserName: a.UserName},
	}
	if a.Profile != nil {
		body.Profile = a.Profile
	}
	cctx, st := withCallState(ctx)
	au, resp, err := c.sdk.Application.AssignUserToApplication(cctx, c.appID, body)
	if err != nil {
		return AppUser{}, mapError(op, err, resp, st)
	}
	return appUserResult(op, au)
}

// UpdateAppUser implements Client.
func (c *SDKClient) UpdateAppUser(ctx context.Context, userID string, u AppUserUpdate) (AppUser, error) {
	const op = "oktaclient.UpdateAppUser"
	if err := checkID(op, userID); err != nil {
		return AppUser{}, err
	}
	if u.Profile == nil && u.UserName == "" {
		return AppUser{}, errkind.E(op, errkind.Invalid, "nothing to update", nil)
	}
	var body okta.AppUser
	if u.Profile != nil {
		body.Profile = u.Profile
	}
	// The SDK's credentials.userName has no omitempty: sending credentials on a
	// profile-only update would blank the user name, so they go only when asked.
	if u.UserName != "" {
		body.Credentials = &okta.AppUserCredentials{UserName: u.UserName}
	}
	cctx, st := withCallState(ctx)
	au, resp, err := c.sdk.Application.UpdateApplicationUser(cctx, c.appID, url.PathEscape(userID), body)
	if err != nil {
		return AppUser{}, mapError(op, err, resp, st)
	}
	return appUserResult(op, au)
}

// UnassignUser implements Client.
func (c *SDKClient) UnassignUser(ctx context.Context, userID string) error {
	const op = "oktaclient.UnassignUser"
	if err := checkID(op, userID); err != nil {
		return err
	}
	cctx, st := withCallState(ctx)
	resp, err := c.sdk.Application.DeleteApplicationUser(cctx, c.appID, url.PathEscape(userID), query.NewQueryParams(query.WithSendEmail(false)))
	return mapError(op, err, resp, st)
}

// GetUser implements Client.
func (c *SDKClient) GetUser(ctx context.Context, userID string) (User, error) {
	const op = "oktaclient.GetUser"
	if err := checkID(op, userID); err != nil {
		return User{}, err
	}
	cctx, st := withCallState(ctx)
	// The SDK puts the id into the path unescaped; an id (or a login, which Okta also
	// accepts here) with a slash or '?' would address something else.
	u, resp, err := c.sdk.User.GetUser(cctx, url.PathEscape(userID))
	if err != nil {
		return User{}, mapError(op, err, resp, st)
	}
	return userResult(op, u)
}

// FindUserByLogin implements Client.
func (c *SDKClient) FindUserByLogin(ctx context.Context, login string) (User, error) {
	const op = "oktaclient.FindUserByLogin"
	users, err := c.findUsers(ctx, op, "profile.login", login, 2)
	if err != nil {
		return User{}, err
	}
	if len(users) == 0 {
		return User{}, errkind.E(op, errkind.NotFound, "no Okta user has this login", nil)
	}
	return users[0], nil
}

// FindUsersByEmail implements Client.
func (c *SDKClient) FindUsersByEmail(ctx context.Context, email string) ([]User, error) {
	return c.findUsers(ctx, "oktaclient.FindUsersByEmail", "profile.email", email, 200)
}

// findUsers lists users with attr equal to value. It uses filter, not search: filter is
// answered from the primary store, search from an index that lags behind writes.
func (c *SDKClient) findUsers(ctx context.Context, op, attr, value string, limit int64) ([]User, error) {
	f, err := filterEq(attr, value)
	if err != nil {
		return nil, errkind.E(op, errkind.Invalid, err.Error(), err)
	}
	cctx, st := withCallState(ctx)
	list, resp, err := c.sdk.User.ListUsers(cctx, query.NewQueryParams(query.WithFilter(f), query.WithLimit(limit)))
	if err != nil {
		return nil, mapError(op, err, resp, st)
	}
	users := make([]User, 0, len(list))
	for _, u := range list {
		if u != nil {
			users = append(users, userFrom(u))
		}
	}
	return users, nil
}

// CreateUser implements Client.
func (c *SDKClient) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	const op = "oktaclient.CreateUser"
	if nu.Login == "" {
		return User{}, errkind.E(op, errkind.Invalid, "login is required", nil)
	}
	profile := okta.UserProfile{}
	maps.Copy(profile, nu.Profile)
	for k, v := range map[string]string{"login": nu.Login, "email": nu.Email, "firstName": nu.FirstName, "lastName": nu.LastName} {
		if v != "" {
			profile[k] = v
		}
	}
	// activate=true on a user without a password makes Okta send the activation
	// email; to activate silently, create STAGED and activate with sendEmail=false.
	activateOnCreate := nu.Activate && nu.SendEmail
	cctx, st := withCallState(ctx)
	u, resp, err := c.sdk.User.CreateUser(cctx, okta.CreateUserRequest{Profile: &profile},
		query.NewQueryParams(query.WithActivate(activateOnCreate)))
	if err != nil {
		return User{}, mapError(op, err, resp, st)
	}
	created, err := userResult(op, u)
	if err != nil || !nu.Activate || activateOnCreate {
		return created, err
	}
	if err := c.ActivateUser(ctx, created.ID, LifecycleOptions{}); err != nil {
		return created, fmt.Errorf("user %s created STAGED but not activated: %w", created.ID, err)
	}
	return c.GetUser(ctx, created.ID)
}

// ActivateUser implements Client.
func (c *SDKClient) ActivateUser(ctx context.Context, userID string, opts LifecycleOptions) error {
	const op = "oktaclient.ActivateUser"
	if err := checkID(op, userID); err != nil {
		return err
	}
	cctx, st := withCallState(ctx)
	_, resp, err := c.sdk.User.ActivateUser(cctx, url.PathEscape(userID), query.NewQueryParams(query.WithSendEmail(opts.SendEmail)))
	return mapError(op, err, resp, st)
}

// DeactivateUser implements Client.
func (c *SDKClient) DeactivateUser(ctx context.Context, userID string, opts LifecycleOptions) error {
	const op = "oktaclient.DeactivateUser"
	if err := checkID(op, userID); err != nil {
		return err
	}
	cctx, st := withCallState(ctx)
	resp, err := c.sdk.User.DeactivateUser(cctx, url.PathEscape(userID), query.NewQueryParams(query.WithSendEmail(opts.SendEmail)))
	return mapError(op, err, resp, st)
}

// DeleteUser deletes a deactivated user for good. It is not part of Client, since
// oktasync never deletes Okta users; tests use it to clean up after themselves.
func (c *SDKClient) DeleteUser(ctx context.Context, userID string) error {
	const op = "oktaclient.DeleteUser"
	if err := checkID(op, userID); err != nil {
		return err
	}
	cctx, st := withCallState(ctx)
	resp, err := c.sdk.User.DeactivateOrDeleteUser(cctx, url.PathEscape(userID), query.NewQueryParams(query.WithSendEmail(false)))
	return mapError(op, err, resp, st)
}

// Check implements Client.
func (c *SDKClient) Check(ctx context.Context) (CheckResult, error) {
	const op = "oktaclient.Check"
	cctx, st := withCallState(ctx)
	got, resp, err := c.sdk.Application.GetApplication(cctx, c.appID, okta.NewApplication(), nil)
	if err != nil {
		return CheckResult{}, mapError(op, err, resp, st)
	}
	app, ok := got.(*okta.Application)
	if !ok || app == nil {
		return CheckResult{}, errkind.E(op, errkind.Permanent, "empty answer for the app", nil)
	}
	res := CheckResult{AppID: app.Id, AppName: app.Name, AppLabel: app.Label, AppStatus: app.Status}
	cctx, st = withCallState(ctx)
	page, resp, err := c.sdk.Application.ListApplicationUsers(cctx, c.appID, query.NewQueryParams(query.WithLimit(CheckPageSize)))
	if err != nil {
		return res, mapError(op, err, resp, st)
	}
	res.Users = len(page)
	res.More = resp.HasNextPage()
	return res, nil
}

// checkID rejects an empty id, which would address the collection instead.
func checkID(op, id string) error {
	if strings.TrimSpace(id) == "" {
		return errkind.E(op, errkind.Invalid, "user id is required", nil)
	}
	return nil
}

// filterEq builds an Okta filter expression attr eq "value", escaping the value.
func filterEq(attr, value string) (string, error) {
	if value == "" {
		return "", fmt.Errorf("empty %s", attr)
	}
	var b strings.Builder
	b.WriteString(attr)
	b.WriteString(` eq "`)
	for _, r := range value {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			return "", fmt.Errorf("%s contains a control character", attr)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

func appUserResult(op string, au *okta.AppUser) (AppUser, error) {
	if au == nil {
		return AppUser{}, errkind.E(op, errkind.Permanent, "empty answer from Okta", nil)
	}
	return appUserFrom(au), nil
}

func userResult(op string, u *okta.User) (User, error) {
	if u == nil {
		return User{}, errkind.E(op, errkind.Permanent, "empty answer from Okta", nil)
	}
	return userFrom(u), nil
}

func appUserFrom(au *okta.AppUser) AppUser {
	out := AppUser{
		ID:            au.Id,
		ExternalID:    au.ExternalId,
		Scope:         au.Scope,
		Status:        au.Status,
		SyncState:     au.SyncState,
		Created:       deref(au.Created),
		LastUpdated:   deref(au.LastUpdated),
		StatusChanged: deref(au.StatusChanged),
	}
	if au.Credentials != nil {
		out.UserName = au.Credentials.UserName
	}
	if p, ok := au.Profile.(map[string]any); ok {
		out.Profile = p
	}
	return out
}

func userFrom(u *okta.User) User {
	out := User{
		ID:            u.Id,
		Status:        u.Status,
		Created:       deref(u.Created),
		Activated:     deref(u.Activated),
		LastUpdated:   deref(u.LastUpdated),
		StatusChanged: deref(u.StatusChanged),
	}
	if u.Profile != nil {
		out.Profile = map[string]any(*u.Profile)
		out.Login, _ = out.Profile["login"].(string)
		out.Email, _ = out.Profile["email"].(string)
		out.FirstName, _ = out.Profile["firstName"].(string)
		out.LastName, _ = out.Profile["lastName"].(string)
	}
	return out
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
