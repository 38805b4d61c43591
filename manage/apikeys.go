package manage

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/resource"
)

// AdminKeyID is the key id the API records for callers of OKTASYNC_ADMIN_TOKEN.
const AdminKeyID = "admin"

// CreateAPIKey generates a key of the vendor API; the result's Secret is the only time
// it is shown.
func (m *Manager) CreateAPIKey(ctx context.Context, name string) (resource.APIKey, error) {
	k, secret, err := m.store.CreateAPIKey(ctx, name)
	if err != nil {
		return resource.APIKey{}, err
	}
	r := appstore.APIKeyResource(k)
	r.Secret = secret
	return r, nil
}

// ListAPIKeys returns every API key, oldest first, without secrets.
func (m *Manager) ListAPIKeys(ctx context.Context) ([]resource.APIKey, error) {
	keys, err := m.store.ListAPIKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]resource.APIKey, len(keys))
	for i, k := range keys {
		out[i] = appstore.APIKeyResource(k)
	}
	return out, nil
}

// RemoveAPIKey deletes an API key (by id or prefix); it stops working at once.
func (m *Manager) RemoveAPIKey(ctx context.Context, ref string) error {
	return m.store.RemoveAPIKey(ctx, ref)
}

// APIEnabled reports whether the API has any key at all: OKTASYNC_ADMIN_TOKEN or a
// stored API key. Without one the API answers as if it did not exist.
func (m *Manager) APIEnabled(ctx context.Context) (bool, error) {
	if m.opts.AdminToken != "" {
		return true, nil
	}
	return m.store.HasAPIKeys(ctx)
}

// AuthenticateAPI returns the id of the key a bearer secret is (AdminKeyID for
// OKTASYNC_ADMIN_TOKEN); anything else is Unauthorized. Comparisons take constant time.
func (m *Manager) AuthenticateAPI(ctx context.Context, secret string) (string, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return "", errkind.Errorf("manage.AuthenticateAPI", errkind.Unauthorized, "missing API key")
	}
	if m.opts.AdminToken != "" {
		// Hashing first makes the comparison constant-time in the length too.
		x, y := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(m.opts.AdminToken))
		if subtle.ConstantTimeCompare(x[:], y[:]) == 1 {
			return AdminKeyID, nil
		}
	}
	k, err := m.store.AuthenticateAPIKey(ctx, secret)
	if err != nil {
		return "", err
	}
	return k.ID, nil
}

// Bootstrap makes a fresh install usable in one step: when the default tenant has no
// bearer token yet, it enables the tenant's provisioning and generates one, whose secret
// it returns (once). It returns "" when there was a token already.
func (m *Manager) Bootstrap(ctx context.Context) (string, error) {
	ctx = appstore.WithActor(ctx, appstore.Actor{Kind: "system", ID: "first-start"})
	creds, err := m.ListCredentials(ctx, appstore.DefaultTenant, KindToken)
	if err != nil || len(creds) > 0 {
		return "", err
	}
	enable := true
	if _, err := m.store.UpdateTenant(ctx, appstore.DefaultTenant, func(t *appstore.Tenant) error {
		t.ProvisioningEnabled = enable
		return nil
	}); err != nil {
		return "", err
	}
	c, err := m.CreateToken(ctx, appstore.DefaultTenant)
	return c.Secret, err
}
