// Package event is the vocabulary of change events: their types, their JSON shape and
// the sources a change comes from. The store writes one event in the transaction of
// each change it commits; the feed (/api/v1/events) and webhook deliveries carry them
// unchanged. The package sits below every package that writes or reads events.
package event

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"strings"
	"time"

	"github.com/oktasync/oktasync/resource"
)

// Event types.
const (
	UserCreated        = "user.created"
	UserUpdated        = "user.updated"
	UserDeactivated    = "user.deactivated"
	UserReactivated    = "user.reactivated"
	UserDeleted        = "user.deleted"
	GroupCreated       = "group.created"
	GroupUpdated       = "group.updated"
	GroupDeleted       = "group.deleted"
	GroupMemberAdded   = "group.member_added"
	GroupMemberRemoved = "group.member_removed"
	TokenCreated       = "token.created"
	TokenStatus        = "token.status_changed"
	TokenRenewed       = "token.renewed"
	TokenRemoved       = "token.removed"
	TenantCreated      = "tenant.created"
	TenantUpdated      = "tenant.updated"
	TenantDeleted      = "tenant.deleted"
	SyncRunFinished    = "sync.run_finished"
	// Ping is sent by a webhook test; it is never in the feed.
	Ping = "ping"
)

// Types lists every type the feed carries, in the order the documentation shows them.
var Types = []string{
	UserCreated, UserUpdated, UserDeactivated, UserReactivated, UserDeleted,
	GroupCreated, GroupUpdated, GroupDeleted, GroupMemberAdded, GroupMemberRemoved,
	TokenCreated, TokenStatus, TokenRenewed, TokenRemoved,
	TenantCreated, TenantUpdated, TenantDeleted, SyncRunFinished,
}

// Known reports whether t is a type of the feed (Ping excluded).
func Known(t string) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// Sources: who made a change.
const (
	SourceSCIM = "scim" // an identity provider through the SCIM endpoint
	SourceApp  = "app"  // the app itself, or the server on its behalf
	SourceSync = "sync" // the reconciliation worker
	SourceAPI  = "api"  // a client of /api/v1
	SourceCLI  = "cli"  // the oktasync command line
)

// Actor is who made a change: a kind ("scim", "syncer", "api", "cli", "app",
// "system") and an id within it (the SCIM credential, the sync run, the API key, …).
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// SourceOf maps an actor to the source an event shows.
func SourceOf(a Actor) string {
	switch a.Kind {
	case "scim":
		return SourceSCIM
	case "syncer", "sync":
		return SourceSync
	case "api":
		return SourceAPI
	case "cli":
		return SourceCLI
	case "app":
		if a.ID == "cli" {
			return SourceCLI
		}
	}
	return SourceApp
}

// Event is one committed change. Data is the resource as /api/v1 shows it after the
// change (before it, for deletions and removals); Previous holds, in the same shape,
// the old values of the fields that changed (null for a field that had none).
type Event struct {
	ID       string          `json:"id"`
	Seq      int64           `json:"seq"`
	Type     string          `json:"type"`
	Tenant   string          `json:"tenant"`
	Time     time.Time       `json:"time"`
	Source   string          `json:"source"`
	Actor    Actor           `json:"actor"`
	Data     json.RawMessage `json:"data"`
	Previous json.RawMessage `json:"previous"`
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a fresh event id: "evt_" and 26 random base32 characters.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "evt_" + strings.ToLower(idEncoding.EncodeToString(b))
}

// Membership is the data of group.member_added and group.member_removed: the group as
// it is after the change and the member concerned.
type Membership struct {
	Group  resource.Group  `json:"group"`
	Member resource.Member `json:"member"`
}

// OktaConnection is a tenant's Okta connection as events show it (never the token).
type OktaConnection struct {
	OrgURL string `json:"orgUrl"`
	AppID  string `json:"appId"`
	// Updated changes when the connection's API token is replaced.
	Updated time.Time `json:"updated"`
}

// Tenant is the data of tenant.updated: the tenant as /api/v1 shows it, with its custom
// attributes, its sync policies and its Okta connection (null when none).
type Tenant struct {
	resource.Tenant
	Attributes     []resource.Attribute `json:"attributes"`
	Policies       map[string]string    `json:"policies,omitempty"`
	OktaConnection *OktaConnection      `json:"oktaConnection"`
}

// SyncRun is the data of sync.run_finished.
type SyncRun struct {
	ID        int64            `json:"id"`
	Tenant    string           `json:"tenant"`
	Trigger   string           `json:"trigger"`
	Mode      string           `json:"mode"`
	DryRun    bool             `json:"dryRun"`
	Status    string           `json:"status"`
	Processed int64            `json:"processed"`
	Total     int64            `json:"total"`
	Counts    map[string]int64 `json:"counts"`
	Error     string           `json:"error,omitempty"`
	Started   time.Time        `json:"started"`
	Finished  time.Time        `json:"finished"`
}

// bookkeeping fields change on every write; they are never listed in Previous.
var bookkeeping = map[string]bool{"version": true, "updated": true, "lastUsed": true}

// Diff returns, in the JSON shape of old and cur, the old values of the top-level
// fields that differ, descending one level into nested objects (a user's attributes,
// a tenant's policies) so that only the changed entries are listed. A field absent
// from old is listed as null. old and cur must marshal to JSON objects.
func Diff(old, cur any) (map[string]any, error) {
	o, err := asObject(old)
	if err != nil {
		return nil, err
	}
	c, err := asObject(cur)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	diffInto(out, o, c, true)
	return out, nil
}

func diffInto(out map[string]any, o, c map[string]json.RawMessage, top bool) {
	for k, cv := range c {
		if top && bookkeeping[k] {
			continue
		}
		ov, ok := o[k]
		if ok && bytes.Equal(ov, cv) {
			continue
		}
		if top && ok {
			var on, cn map[string]json.RawMessage
			if json.Unmarshal(ov, &on) == nil && json.Unmarshal(cv, &cn) == nil && on != nil && cn != nil {
				sub := map[string]any{}
				diffInto(sub, on, cn, false)
				if len(sub) > 0 {
					out[k] = sub
				}
				continue
			}
		}
		if !ok {
			out[k] = nil
			continue
		}
		out[k] = ov
	}
	for k, ov := range o {
		if top && bookkeeping[k] {
			continue
		}
		if _, ok := c[k]; !ok {
			out[k] = ov
		}
	}
}

func asObject(v any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}
