package manage

import (
	"context"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

// Setup link lifetimes: DefaultSetupLinkTTL unless asked, between a minute and 30 days.
const (
	DefaultSetupLinkTTL = 24 * time.Hour
	MinSetupLinkTTL     = time.Minute
	MaxSetupLinkTTL     = 30 * 24 * time.Hour
)

// SetupLink is a short-lived link that opens a tenant's setup pages for the customer's
// administrator. URL carries the secret and is set only in the answer that makes it.
type SetupLink struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant,omitempty"`
	URL       string     `json:"url,omitempty"`
	CreatedBy string     `json:"createdBy"`
	Created   time.Time  `json:"created"`
	Expires   time.Time  `json:"expires"`
	LastUsed  *time.Time `json:"lastUsed"`
}

func setupLink(l appstore.SetupLink) SetupLink {
	out := SetupLink{ID: l.ID, Tenant: l.TenantID, CreatedBy: l.CreatedBy, Created: l.Created, Expires: l.Expires}
	if !l.Used.IsZero() {
		u := l.Used
		out.LastUsed = &u
	}
	return out
}

func (m *Manager) linkURL(secret string) string {
	return strings.TrimRight(m.opts.PublicURL, "/") + "/setup/" + secret
}

// CreateSetupLink makes a link to the tenant's setup pages that works for ttl (0 means
// DefaultSetupLinkTTL); the result's URL is the only time the link is shown.
func (m *Manager) CreateSetupLink(ctx context.Context, tenant string, ttl time.Duration) (SetupLink, error) {
	const op = "manage.CreateSetupLink"
	if ttl == 0 {
		ttl = DefaultSetupLinkTTL
	}
	if ttl < MinSetupLinkTTL || ttl > MaxSetupLinkTTL {
		return SetupLink{}, errkind.InvalidField(op, "ttl", "ttl must be between %v and %v, not %v", MinSetupLinkTTL, MaxSetupLinkTTL, ttl)
	}
	if _, err := m.tenant(ctx, tenant); err != nil {
		return SetupLink{}, err
	}
	l, secret, err := m.store.CreateSetupLink(ctx, appstore.SetupLink{TenantID: tenant, Expires: time.Now().Add(ttl)})
	if err != nil {
		return SetupLink{}, err
	}
	out := setupLink(l)
	out.URL = m.linkURL(secret)
	return out, nil
}

// ListSetupLinks returns the tenant's links that still work, newest first, without
// their URLs.
func (m *Manager) ListSetupLinks(ctx context.Context, tenant string) ([]SetupLink, error) {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return nil, err
	}
	ls, err := m.store.ListSetupLinks(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]SetupLink, len(ls))
	for i, l := range ls {
		out[i] = setupLink(l)
	}
	return out, nil
}

// RevokeSetupLink ends a link at once; sessions it opened keep their own expiry.
func (m *Manager) RevokeSetupLink(ctx context.Context, tenant, id string) error {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return err
	}
	return m.store.RevokeSetupLink(ctx, tenant, id)
}

// CreateConsoleLink makes a one-time link that signs in to the vendor's console, for
// the first start of a server (`make run`).
func (m *Manager) CreateConsoleLink(ctx context.Context, ttl time.Duration) (SetupLink, error) {
	l, secret, err := m.store.CreateSetupLink(ctx, appstore.SetupLink{OneTime: true, Expires: time.Now().Add(ttl)})
	if err != nil {
		return SetupLink{}, err
	}
	out := setupLink(l)
	out.URL = m.linkURL(secret)
	return out, nil
}
