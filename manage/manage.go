// Package manage is the one management layer of oktasync: every operation an
// administrator or the app performs (tenants and their settings, custom attributes, SCIM
// tokens and Basic credentials, the app's own user writes, listings of users and groups,
// the audit trail, API keys, the Okta connection and sync runs) is a method of Manager.
// The CLI, the vendor API (/api/v1) and the web pages are thin adapters over it, so that
// no operation is written twice.
//
// Every method takes a context first. Who acts is carried on the context
// (appstore.WithActor; AsCLI, AsApp and AsAPI here) and recorded in the audit trail.
// Errors carry an errkind.Kind; invalid input names the field at fault (errkind.FieldOf).
// Results are the shapes of package resource, which the API and events show.
package manage

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/syncer"
)

// Options configure a Manager.
type Options struct {
	// SCIMURL is the SCIM connector base URL to give Okta (the public URL plus /scim/v2).
	SCIMURL string
	// Key encrypts and decrypts the stored Okta API tokens. When it is nil, KeyErr says
	// why, and operations that need it fail naming OKTASYNC_SECRET_KEY.
	Key    []byte
	KeyErr error
	// PublicURL is the base URL browsers reach the server at; setup links start with it.
	PublicURL string
	// WebhookAllowPrivate lets webhook URLs reach loopback, link-local and private
	// addresses (OKTASYNC_WEBHOOK_ALLOW_PRIVATE).
	WebhookAllowPrivate bool
	// AdminToken is OKTASYNC_ADMIN_TOKEN: a key of the API besides the stored API keys.
	AdminToken string
	// BaseCtx is the context sync runs started through an API live in (the server's);
	// nil means context.Background.
	BaseCtx context.Context
	Log     *slog.Logger
}

// Manager performs the management operations on one store.
type Manager struct {
	store  appstore.Store
	opts   Options
	syncer *syncer.Syncer
	admin  *syncer.Admin
}

// New returns a Manager over store.
func New(store appstore.Store, o Options) *Manager {
	if o.KeyErr == nil && o.Key == nil {
		o.KeyErr = errkind.Errorf("manage", errkind.Invalid, "not set")
	}
	sy := &syncer.Syncer{Store: store, Key: o.Key, Log: o.Log}
	return &Manager{store: store, opts: o, syncer: sy,
		admin: &syncer.Admin{Syncer: sy, Token: o.AdminToken, BaseCtx: o.BaseCtx}}
}

// Store is the store the Manager works on, for the parts of the server that read it
// directly on the data path (SCIM, readiness).
func (m *Manager) Store() appstore.Store { return m.store }

// Syncer is the sync worker, for the scheduler.
func (m *Manager) Syncer() *syncer.Syncer { return m.syncer }

// Admin is the handler of /admin/v1, sharing this Manager's memory of the runs it started.
func (m *Manager) Admin() *syncer.Admin { return m.admin }

// SCIMURL is the SCIM connector base URL to give Okta.
func (m *Manager) SCIMURL() string { return m.opts.SCIMURL }

// AsCLI attributes the writes made with ctx to the command line.
func AsCLI(ctx context.Context) context.Context {
	return appstore.WithActor(ctx, appstore.Actor{Kind: "cli"})
}

// AsApp attributes the writes made with ctx to the app itself (its UI, or a stand-in
// such as the CLI's users commands, named by via). The sync worker pushes such writes
// to Okta.
func AsApp(ctx context.Context, via string) context.Context {
	return appstore.WithActor(ctx, appstore.Actor{Kind: "app", ID: via})
}

// AsAPI attributes the writes made with ctx to a caller of the vendor API, named by the
// id of its key ("admin" for OKTASYNC_ADMIN_TOKEN). The sync worker pushes its user
// writes to Okta as it does the app's.
func AsAPI(ctx context.Context, keyID string) context.Context {
	return appstore.WithActor(ctx, appstore.Actor{Kind: "api", ID: keyID})
}

// AsWeb attributes the writes made with ctx to a signed-in user of the web pages, named
// by the session's actor (the setup link, or the console's key).
func AsWeb(ctx context.Context, who string) context.Context {
	return appstore.WithActor(ctx, appstore.Actor{Kind: "web", ID: who})
}

// Page is one page of a listing. Next is the cursor of the following page, "" on the
// last one. Total counts every match when the query asked for it, else it is -1.
type Page[T any] struct {
	Items []T
	Next  string
	Total int
}

// DefaultLimit is the page size when a listing names none.
const DefaultLimit = 100

// MaxLimit is the largest page an API caller may ask for.
const MaxLimit = 1000

// cut trims a page read with one row too many to limit rows; next is the cursor after
// its last row when there was more.
func cut[T any](items []T, limit int, cursor func(T) string) (page []T, next string) {
	if limit < 0 || len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, cursor(items[len(items)-1])
}

// storeQuery is the store's query for a page of limit rows (one more, to tell whether
// another page follows).
func storeQuery(limit int, after *appstore.Position, withTotal bool) appstore.Query {
	q := appstore.Query{After: after, NoTotal: !withTotal, Count: limit + 1}
	if limit < 0 {
		q.Count = -1
	}
	return q
}

func pageSize(limit int) int {
	if limit == 0 {
		return DefaultLimit
	}
	return limit
}

// Cursors are opaque to callers: base64url of the position they stand for.
func encodeCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

func decodeCursor(op, c string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(b), "\x00")
	if err != nil || len(parts) != n {
		return nil, errkind.InvalidField(op, "after", "%q is not a cursor this listing returned", c)
	}
	return parts, nil
}

func positionCursor(created time.Time, id string) string {
	return encodeCursor(strconv.FormatInt(created.UnixMicro(), 10), id)
}

func decodePosition(op, c string) (*appstore.Position, error) {
	if c == "" {
		return nil, nil
	}
	p, err := decodeCursor(op, c, 2)
	if err != nil {
		return nil, err
	}
	us, err := strconv.ParseInt(p[0], 10, 64)
	if err != nil {
		return nil, errkind.InvalidField(op, "after", "%q is not a cursor this listing returned", c)
	}
	return &appstore.Position{Created: time.UnixMicro(us), ID: p[1]}, nil
}

// tenant checks that a tenant exists, for listings the store answers with nothing
// rather than NotFound.
func (m *Manager) tenant(ctx context.Context, id string) (appstore.Tenant, error) {
	return m.store.GetTenant(ctx, id)
}

func itoa(i int) string { return strconv.Itoa(i) }

// Close releases the store.
func (m *Manager) Close() error { return m.store.Close() }
