package appstore

import (
	"context"
	"strings"
	"time"

	"github.com/oktasync/oktasync/scimfilter"
)

// Source kinds: where a user or group came from.
const (
	SourceSCIM = "scim" // pushed by an identity provider through the SCIM endpoint
	SourceApp  = "app"  // created in the app itself (its UI, API or the CLI)
	SourceOkta = "okta" // created by the reconciliation worker from an Okta AppUser
)

// SCIM clients, as told by their User-Agent (User.SourceClient).
const (
	SCIMClientOkta  = "okta"
	SCIMClientEntra = "entra"
	SCIMClientOther = "other"
)

// Tenant is one customer of the app, with its own users, groups and credentials.
type Tenant struct {
	ID   string // short, URL-safe name such as "default" or "acme"
	Name string
	// ProvisioningEnabled gates the SCIM endpoint: a disabled tenant's credentials are refused.
	ProvisioningEnabled bool
	Settings            TenantSettings
	Created             time.Time
	Updated             time.Time
}

// TenantSettings are per-tenant options, stored as one JSON document so that new options
// need no schema migration. The zero value is the default for every option.
type TenantSettings struct {
	// InviteUsers sends a welcome email to users created or reactivated through SCIM.
	// Off means silent provisioning.
	InviteUsers bool `json:"inviteUsers,omitempty"`
	// InviteSubject and InviteText are the welcome mail's templates, with
	// ${attributeName} variables (package invitation); empty means the standard mail.
	InviteSubject string `json:"inviteSubject,omitempty"`
	InviteText    string `json:"inviteText,omitempty"`
	// AllowedEmailDomains, when not empty, limits the userNames and emails of users
	// created or updated through SCIM or the API to these domains (case-insensitive;
	// a subdomain only when it is listed itself).
	AllowedEmailDomains []string `json:"allowedEmailDomains,omitempty"`
	// Extra holds options owned by other parts of the program (for example the
	// reconciliation worker's policies), keyed by option name.
	Extra map[string]string `json:"extra,omitempty"`
}

// User is an app user. Attrs holds every SCIM attribute other than id, userName,
// externalId, active, meta, groups and schemas; extension attributes are nested under
// their schema URN (for example Attrs[schema.EnterpriseURN]["department"]).
type User struct {
	ID         string
	TenantID   string
	UserName   string
	ExternalID string
	Active     bool
	Attrs      map[string]any
	// Source says where the user came from (SourceSCIM, SourceApp, SourceOkta);
	// SourceCredential names the SCIM credential that created it, if any.
	Source           string
	SourceCredential string
	// SourceClient names the SCIM client that created the user, told by its User-Agent:
	// SCIMClientOkta, SCIMClientEntra or SCIMClientOther; empty for other sources.
	SourceClient string
	// OktaUserID links the user to an Okta user (and so to its AppUser); empty when unlinked.
	OktaUserID string
	// Version increases by one on every write; it is the SCIM meta.version (ETag).
	Version int64
	Created time.Time
	Updated time.Time
}

// DisplayName returns Attrs["displayName"] as a string, or "".
func (u *User) DisplayName() string {
	s, _ := u.Attrs["displayName"].(string)
	return s
}

// PrimaryEmail returns the value of the email marked primary, else the first email, or "".
func (u *User) PrimaryEmail() string {
	list, _ := u.Attrs["emails"].([]any)
	first := ""
	for _, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		if v == "" {
			continue
		}
		if p, _ := m["primary"].(bool); p {
			return v
		}
		if first == "" {
			first = v
		}
	}
	return first
}

// Member is one member of a group.
type Member struct {
	Value string // the member's id
	Type  string // "User" or "Group"
	// Display is the member's display name. On write it is the one the client sent
	// ("" for none), kept with the membership. On read it is that one, or, when none was
	// sent, the member's displayName, then its userName (a group's displayName for a
	// group member), with DisplayDerived set.
	Display string
	// DisplayDerived reports that Display was derived from the member rather than sent.
	// A member written back with it set keeps no display of its own, so that the
	// derived one follows later renames of the user.
	DisplayDerived bool
}

// storedDisplay is the display kept with the membership: the one a client sent.
func (m Member) storedDisplay() string {
	if m.DisplayDerived {
		return ""
	}
	return m.Display
}

// Group is a group of users (or groups) within a tenant.
type Group struct {
	ID          string
	TenantID    string
	DisplayName string
	ExternalID  string
	// Members is nil when the group was read without members.
	Members          []Member
	Source           string
	SourceCredential string
	Version          int64
	Created          time.Time
	Updated          time.Time
}

// GroupRef is a group a user belongs to, as shown in the user's read-only groups attribute.
type GroupRef struct {
	ID          string
	DisplayName string
}

// Credential kinds and statuses.
const (
	CredentialBearer = "bearer"
	CredentialBasic  = "basic"

	StatusActive   = "active"
	StatusInactive = "inactive"
)

// MaxTokens is how many bearer tokens a tenant may hold at once.
const MaxTokens = 2

// Credential is a secret a SCIM client presents. The secret itself is never stored: only
// its hash, and a short non-secret prefix that identifies it in listings.
type Credential struct {
	ID       string
	TenantID string
	Kind     string // CredentialBearer or CredentialBasic
	Status   string // StatusActive or StatusInactive
	Prefix   string // bearer: the token's first characters; basic: empty
	Username string // basic only
	Created  time.Time
	LastUsed time.Time // zero if never used
}

// Actor says who performs a write; it is recorded in the audit trail.
type Actor struct {
	Kind string // "scim", "cli", "syncer", "app", "system"
	ID   string // the credential id for "scim"; free text otherwise
}

type actorKey struct{}

// WithActor returns a context whose writes are attributed to a in the audit trail.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor stored in ctx, or Actor{Kind: "system"}.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: "system"}
}

// String renders "kind:id" or "kind".
func (a Actor) String() string {
	if a.ID == "" {
		return a.Kind
	}
	return a.Kind + ":" + a.ID
}

// Change is one attribute's value before and after a write.
type Change struct {
	Old any `json:"old,omitempty"`
	New any `json:"new,omitempty"`
}

// AuditEvent records one write.
type AuditEvent struct {
	ID           int64
	Time         time.Time
	TenantID     string
	Actor        string // Actor.String()
	Operation    string // e.g. "user.create", "user.update", "group.delete", "token.renew"
	ResourceType string // "User", "Group", "Credential", "Tenant", ...
	ResourceID   string
	Changes      map[string]Change
}

// AuditQuery selects audit events, newest first.
type AuditQuery struct {
	TenantID   string // "" for all tenants
	ResourceID string // "" for all resources
	// Actor selects events of one actor: "kind:id", or "kind" for every actor of that kind.
	Actor string
	// Since and Until bound the event time (Since inclusive, Until exclusive); zero means open.
	Since, Until time.Time
	// BeforeID pages backwards: only events with a smaller id (0 for the newest).
	BeforeID int64
	Limit    int // 0 means 100
}

// APIKey is a key of the vendor API. As with SCIM tokens, only the key's hash is stored,
// with a short non-secret prefix that identifies it in listings.
type APIKey struct {
	ID       string
	Name     string
	Prefix   string
	Created  time.Time
	LastUsed time.Time // zero if never used
}

// Mail is a queued email.
type Mail struct {
	ID          int64
	TenantID    string
	To          string
	Subject     string
	Body        string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Sent        time.Time // zero until sent
	// GaveUp is when delivery was abandoned (a permanent failure, or too many attempts);
	// zero otherwise. Such a mail stays in the queue, with LastError, but is never due.
	GaveUp  time.Time
	Created time.Time
}

// Page is one page of a listing.
type Page[T any] struct {
	Total int // matches in all pages
	Items []T
}

// Query selects, orders and pages users or groups.
type Query struct {
	// Filter is a parsed SCIM filter (nil for all).
	Filter scimfilter.Expr
	// SortBy names the attribute to order by ("" for creation order); SortDesc reverses it.
	SortBy   string
	SortDesc bool
	// StartIndex is 1-based; values below 1 are taken as 1.
	StartIndex int
	// Count is the page size; 0 returns only Total; a negative value means no limit.
	Count int
	// WithMembers loads group members (groups only).
	WithMembers bool

	// After starts the page after this position in creation order: keyset paging, which
	// stays stable while rows are added or removed. It needs the default order (no SortBy).
	After *Position
	// NoTotal skips counting every match (Page.Total is then -1).
	NoTotal bool
	// Source keeps only rows of this source (SourceSCIM, SourceApp, SourceOkta).
	Source string
	// Active keeps only active (or only inactive) users; nil for both.
	Active *bool
	// MemberOf keeps only users that are direct members of this group id.
	MemberOf string
	// UpdatedSince keeps only rows updated at or after this time.
	UpdatedSince time.Time
}

// Position is a row's place in creation order, the cursor of keyset paging.
type Position struct {
	Created time.Time
	ID      string
}

// normalizeKey is the case-folded form that uniqueness of userName and group displayName is
// judged on. It is computed in Go so that both backends fold exactly alike.
func normalizeKey(s string) string { return strings.ToLower(s) }
