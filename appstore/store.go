// Package appstore is the app's database: tenants, users, groups, SCIM credentials, the
// audit trail, the mail queue and the reconciliation worker's state. One Store interface
// has two backends over sqlx, PostgreSQL (lib/pq) for production and SQLite (modernc,
// pure Go) as the embedded default. Every error it returns carries an errkind.Kind.
package appstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/scimschema"
)

// DefaultTenant is the tenant created by the first migration.
const DefaultTenant = "default"

// Store is everything the rest of the program reads and writes. Methods that take a
// tenant id act inside that tenant only. Update methods are read-modify-write inside one
// transaction: fn sees the current row and its changes are written atomically, so
// concurrent writers never lose an update; an error from fn aborts the write and is
// returned as is.
type Store interface {
	// Ping checks that the database is reachable.
	Ping(ctx context.Context) error
	// Ready checks that the store can serve: the database answers, holds the schema at
	// the version this binary migrates to, and (SQLite) is still the file that was
	// opened. An error says which of these failed.
	Ready(ctx context.Context) error
	// Close releases the database.
	Close() error
	// Backend names the backend: "postgres" or "sqlite".
	Backend() string

	CreateTenant(ctx context.Context, t Tenant) (Tenant, error)
	GetTenant(ctx context.Context, id string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	UpdateTenant(ctx context.Context, id string, fn func(*Tenant) error) (Tenant, error)
	// DeleteTenant removes a tenant and everything in it; the audit trail is kept.
	DeleteTenant(ctx context.Context, id string) error

	// AddAttribute defines a custom user attribute for a tenant.
	AddAttribute(ctx context.Context, tenantID string, a scimschema.CustomAttr) error
	ListAttributes(ctx context.Context, tenantID string) ([]scimschema.CustomAttr, error)
	RemoveAttribute(ctx context.Context, tenantID, name string) error

	// CreateUser stores a new user; u.ID, Version and times are assigned by the store.
	// A userName already taken in the tenant (in any letter case) is a Conflict.
	CreateUser(ctx context.Context, u User, opts ...WriteOption) (User, error)
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	GetUserByUserName(ctx context.Context, tenantID, userName string) (User, error)
	// LookupUser is GetUserByUserName with the groups the user belongs to directly, read
	// in the same query: it answers Okta's existence check, the hottest request.
	LookupUser(ctx context.Context, tenantID, userName string) (User, []GroupRef, error)
	UpdateUser(ctx context.Context, tenantID, id string, fn func(*User) error, opts ...WriteOption) (User, error)
	// DeleteUser removes a user from every view and group but keeps its row for the
	// audit trail (soft delete).
	DeleteUser(ctx context.Context, tenantID, id string) error
	ListUsers(ctx context.Context, tenantID string, q Query) (Page[User], error)
	// UserGroups returns the groups each of the given users belongs to directly.
	UserGroups(ctx context.Context, tenantID string, userIDs []string) (map[string][]GroupRef, error)

	// CreateGroup stores a new group with its members. A displayName already used in
	// the tenant (in any letter case) is a Conflict; an unknown member is Invalid.
	CreateGroup(ctx context.Context, g Group) (Group, error)
	GetGroup(ctx context.Context, tenantID, id string, withMembers bool) (Group, error)
	// UpdateGroup passes fn the group with its members; the members fn leaves are stored.
	UpdateGroup(ctx context.Context, tenantID, id string, fn func(*Group) error) (Group, error)
	DeleteGroup(ctx context.Context, tenantID, id string) error
	ListGroups(ctx context.Context, tenantID string, q Query) (Page[Group], error)
	// MemberCounts returns the number of direct members of each given group (groups
	// without members are absent).
	MemberCounts(ctx context.Context, tenantID string, groupIDs []string) (map[string]int, error)
	// ListMembers pages through a group's members in member id order: up to limit
	// members whose ids sort after afterID ("" for the first page).
	ListMembers(ctx context.Context, tenantID, groupID, afterID string, limit int) ([]Member, error)

	// CreateToken generates a bearer token. The secret is returned only here. A tenant
	// holding MaxTokens tokens gets a Conflict.
	CreateToken(ctx context.Context, tenantID string) (Credential, string, error)
	// RenewToken replaces a token's secret, keeping its id and slot; the token is active
	// afterwards.
	RenewToken(ctx context.Context, tenantID, id string) (Credential, string, error)
	// CreateBasic stores HTTP Basic credentials (the password hashed).
	CreateBasic(ctx context.Context, tenantID, username, password string) (Credential, error)
	ListCredentials(ctx context.Context, tenantID string) ([]Credential, error)
	SetCredentialStatus(ctx context.Context, tenantID, id, status string) (Credential, error)
	RemoveCredential(ctx context.Context, tenantID, id string) error
	// AuthenticateToken and AuthenticateBasic return the tenant and credential for a
	// secret. Unknown, wrong or inactive credentials and disabled tenants are Unauthorized.
	AuthenticateToken(ctx context.Context, secret string) (Tenant, Credential, error)
	AuthenticateBasic(ctx context.Context, username, password string) (Tenant, Credential, error)

	// CreateAPIKey generates a key of the vendor API (/api/v1); the secret is returned
	// only here. ListAPIKeys, HasAPIKeys and RemoveAPIKey (by id or prefix) manage them.
	CreateAPIKey(ctx context.Context, name string) (APIKey, string, error)
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	HasAPIKeys(ctx context.Context) (bool, error)
	RemoveAPIKey(ctx context.Context, id string) error
	// AuthenticateAPIKey returns the key a secret belongs to; anything else is Unauthorized.
	AuthenticateAPIKey(ctx context.Context, secret string) (APIKey, error)

	// RecordAudit appends an event to the audit trail (writes through this Store record
	// their own events; this is for events of other parts, such as sync conflicts).
	RecordAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)

	// EnqueueMail queues an email for delivery.
	EnqueueMail(ctx context.Context, m Mail) error
	// DueMail returns up to limit unsent mails whose next attempt is due.
	DueMail(ctx context.Context, limit int) ([]Mail, error)
	// QueuedMail counts the mails still to deliver (neither sent nor given up).
	QueuedMail(ctx context.Context) (int, error)
	// MarkMail records a delivery attempt: m.Sent non-zero means delivered, m.GaveUp
	// non-zero means abandoned; otherwise m.Attempts, m.LastError and m.NextAttempt say
	// when to try again.
	MarkMail(ctx context.Context, m Mail) error

	SyncStore
	PortalStore
	SCIMLogStore
	EventStore
	WebhookStore
}

// EventStore is the change feed: the events every write commits with, in seq order.
type EventStore interface {
	// ListEvents returns the events after q.After in seq order, filtered by tenant and
	// types. A cursor into events removed by retention gets *CursorTooOldError.
	ListEvents(ctx context.Context, q EventQuery) (EventPage, error)
	// LastEventSeq returns the seq of the newest committed event (0 when none).
	LastEventSeq(ctx context.Context) (int64, error)
	// PruneEvents removes the events older than before and returns how many went.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}

// Open opens the database named by url ("sqlite:PATH" or "postgres://...") and applies
// pending migrations.
func Open(ctx context.Context, url string) (Store, error) {
	s, err := OpenNoMigrate(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := Migrate(ctx, s); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.(*sqlStore).warmStatements(ctx); err != nil {
		s.Close()
		return nil, errkind.E("appstore.Open", errkind.Permanent, "preparing statements", err)
	}
	return s, nil
}

// OpenNoMigrate opens the database without applying migrations; the schema is still
// checked so that a database newer than this binary is refused.
func OpenNoMigrate(ctx context.Context, url string) (Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	default:
		return nil, errkind.Errorf("appstore.Open", errkind.Invalid, "unsupported database URL %q: want sqlite:PATH or postgres://...", redactURL(url))
	}
}

// SQLDB returns the database handle under s, for its connection pool statistics; nil
// when s is not an SQL store.
func SQLDB(s Store) *sql.DB {
	if ss, ok := s.(*sqlStore); ok {
		return ss.db.DB
	}
	return nil
}

// SQLReaderDB returns the pool that reads outside transactions use when it is not
// SQLDB's (SQLite's read-only connections beside its one writer), else nil.
func SQLReaderDB(s Store) *sql.DB {
	if ss, ok := s.(*sqlStore); ok && ss.rdb != ss.db {
		return ss.rdb.DB
	}
	return nil
}
