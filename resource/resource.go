// Package resource holds the JSON shapes of tenants, users, groups, members, credentials
// and custom attributes as the vendor API (/api/v1) shows them. Events carry the same
// shapes in their data, so a webhook receiver and an API client read one vocabulary.
// The package sits below appstore, which fills these shapes from its rows (see
// appstore's *Resource functions), and below every adapter that prints them.
package resource

import "time"

// Tenant is one customer of the app.
type Tenant struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	ProvisioningEnabled bool   `json:"provisioningEnabled"`
	InviteUsers         bool   `json:"inviteUsers"`
	// InviteSubject and InviteText are the invitation's templates, with ${attributeName}
	// variables; empty means the standard invitation.
	InviteSubject       string   `json:"inviteSubject"`
	InviteText          string   `json:"inviteText"`
	AllowedEmailDomains []string `json:"allowedEmailDomains"`
	// SCIMURL is the SCIM connector base URL to give Okta; filled by the management
	// layer, which knows the public URL.
	SCIMURL    string    `json:"scimUrl,omitempty"`
	UserCount  *int      `json:"userCount,omitempty"`
	GroupCount *int      `json:"groupCount,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// Name is a user's structured name.
type Name struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
	Formatted  string `json:"formatted,omitempty"`
}

// GroupRef is a group a user belongs to.
type GroupRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// User is an app user.
type User struct {
	ID          string `json:"id"`
	Tenant      string `json:"tenant"`
	UserName    string `json:"userName"`
	ExternalID  string `json:"externalId,omitempty"`
	Active      bool   `json:"active"`
	DisplayName string `json:"displayName,omitempty"`
	Email       string `json:"email,omitempty"`
	Name        *Name  `json:"name,omitempty"`
	// Source is "scim", "app" or "okta"; SourceClient names the SCIM client that created
	// the user ("okta", "entra" or "other") when Source is "scim".
	Source           string `json:"source"`
	SourceClient     string `json:"sourceClient,omitempty"`
	SourceCredential string `json:"sourceCredential,omitempty"`
	OktaUserID       string `json:"oktaUserId,omitempty"`
	// Groups is filled where the reader asked for it (the API's user resources).
	Groups []GroupRef `json:"groups,omitempty"`
	// Attributes holds every other SCIM attribute, extension attributes nested under
	// their schema URN.
	Attributes map[string]any `json:"attributes,omitempty"`
	Version    int64          `json:"version"`
	Created    time.Time      `json:"created"`
	Updated    time.Time      `json:"updated"`
}

// Member is one member of a group.
type Member struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Display string `json:"display,omitempty"`
}

// Group is a group of users within a tenant.
type Group struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	DisplayName string    `json:"displayName"`
	ExternalID  string    `json:"externalId,omitempty"`
	MemberCount int       `json:"memberCount"`
	Source      string    `json:"source"`
	Version     int64     `json:"version"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// Credential is a bearer token or HTTP Basic credential, never with its secret or hash;
// Secret is set only in the answer that creates or renews a token.
type Credential struct {
	ID       string     `json:"id"`
	Tenant   string     `json:"tenant"`
	Kind     string     `json:"kind"`
	Prefix   string     `json:"prefix,omitempty"`
	Username string     `json:"username,omitempty"`
	Status   string     `json:"status"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"lastUsed"`
	Secret   string     `json:"secret,omitempty"`
}

// Attribute is a tenant's custom user attribute.
type Attribute struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	MultiValued bool   `json:"multiValued"`
	Description string `json:"description,omitempty"`
}

// AuditEvent is one write recorded in the audit trail.
type AuditEvent struct {
	ID           int64                  `json:"id"`
	Time         time.Time              `json:"time"`
	Tenant       string                 `json:"tenant"`
	Actor        string                 `json:"actor"`
	Operation    string                 `json:"operation"`
	ResourceType string                 `json:"resourceType"`
	ResourceID   string                 `json:"resourceId"`
	Changes      map[string]AuditChange `json:"changes"`
}

// AuditChange is one attribute's value before and after a write.
type AuditChange struct {
	Old any `json:"old,omitempty"`
	New any `json:"new,omitempty"`
}

// APIKey is a key of the vendor API, never with its hash; Secret is set only in the
// answer that creates it.
type APIKey struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Prefix   string     `json:"prefix"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"lastUsed"`
	Secret   string     `json:"secret,omitempty"`
}
