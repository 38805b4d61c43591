package appstore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"slices"
	"sync"

	"github.com/oktasync/oktasync/scimschema"
)

// authCache remembers authenticated credentials with their tenants, so that a SCIM
// request costs one tiny query (the auth epoch) instead of the credential join. Every
// change that could refuse a cached credential (a credential's status, secret, slot or
// removal; any change to a tenant or its custom attributes) moves the database's
// auth_epoch in its own transaction, by trigger, whichever process makes it. A cached
// entry is used only while the epoch read for the request (at its start, or by the
// existence check's own statement: AuthCheck) is the one it was read under, so a
// deactivated, renewed or removed token or a disabled tenant stops working at once on
// every server sharing the database. Failures are never cached.
type authCache struct {
	mu      sync.Mutex
	epoch   int64
	valid   bool // epoch has been read at least once
	entries map[[sha256.Size]byte]authEntry
	// attrs holds tenants' custom attributes, which move the epoch too: a write reads
	// them for its schema, and they change rarely.
	attrs map[string][]scimschema.CustomAttr
	// domains holds tenants' allowed email domains (tenant settings move the epoch).
	domains map[string][]string
}

// authEntry is one cached authentication. key is the full hash of what the client sent
// (token, or Basic username and password), compared again in constant time on a hit.
type authEntry struct {
	key    [sha256.Size]byte
	tenant Tenant
	cred   Credential
}

const authCacheMax = 4096

const authEpochQuery = `SELECT n FROM auth_epoch WHERE id = 1`

// authEpoch reads the current auth epoch.
func (s *sqlStore) authEpoch(ctx context.Context) (int64, error) {
	st, err := s.prepared(ctx, s.rdb, s.q(authEpochQuery))
	if err != nil {
		return 0, err
	}
	var n int64
	err = st.GetContext(ctx, &n)
	return n, err
}

// get returns the entry for key when it was read under epoch, dropping every
// entry when the epoch has moved.
func (c *authCache) get(epoch int64, key [sha256.Size]byte) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid || c.epoch != epoch {
		clear(c.entries)
		clear(c.attrs)
		clear(c.domains)
		c.epoch, c.valid = epoch, true
		return authEntry{}, false
	}
	e, ok := c.entries[key]
	if !ok || subtle.ConstantTimeCompare(e.key[:], key[:]) != 1 {
		return authEntry{}, false
	}
	return e, true
}

// put stores an entry read under epoch, unless the epoch moved meanwhile.
func (c *authCache) put(epoch int64, e authEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid || c.epoch != epoch {
		return
	}
	if c.entries == nil || len(c.entries) >= authCacheMax {
		c.entries = map[[sha256.Size]byte]authEntry{}
	}
	c.entries[e.key] = e
}

// peek returns the entry for key with the epoch the cache was last read under, without
// reading the database: the caller must confirm that epoch before trusting the entry.
func (c *authCache) peek(key [sha256.Size]byte) (authEntry, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid {
		return authEntry{}, 0, false
	}
	e, ok := c.entries[key]
	if !ok || subtle.ConstantTimeCompare(e.key[:], key[:]) != 1 {
		return authEntry{}, 0, false
	}
	return e, c.epoch, true
}

// moved drops every entry when epoch, read from the database, is not the cache's.
func (c *authCache) moved(epoch int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.epoch != epoch {
		clear(c.entries)
		clear(c.attrs)
		clear(c.domains)
		c.epoch = epoch
	}
}

// tenantAttrs returns a tenant's custom attributes cached under epoch.
func (c *authCache) tenantAttrs(epoch int64, tenantID string) ([]scimschema.CustomAttr, bool) {
	return perTenant(c, c.attrs, epoch, tenantID)
}

// putTenantAttrs caches a tenant's custom attributes read under epoch.
func (c *authCache) putTenantAttrs(epoch int64, tenantID string, a []scimschema.CustomAttr) {
	putPerTenant(c, &c.attrs, epoch, tenantID, a)
}

// tenantDomains returns a tenant's allowed email domains cached under epoch.
func (c *authCache) tenantDomains(epoch int64, tenantID string) ([]string, bool) {
	return perTenant(c, c.domains, epoch, tenantID)
}

// putTenantDomains caches a tenant's allowed email domains read under epoch.
func (c *authCache) putTenantDomains(epoch int64, tenantID string, d []string) {
	putPerTenant(c, &c.domains, epoch, tenantID, d)
}

func perTenant[T any](c *authCache, m map[string][]T, epoch int64, tenantID string) ([]T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid || c.epoch != epoch {
		return nil, false
	}
	v, ok := m[tenantID]
	return slices.Clone(v), ok
}

func putPerTenant[T any](c *authCache, m *map[string][]T, epoch int64, tenantID string, v []T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid || c.epoch != epoch {
		return
	}
	if *m == nil || len(*m) >= authCacheMax {
		*m = map[string][]T{}
	}
	(*m)[tenantID] = slices.Clone(v)
}

// AuthCheck follows one request's authentication through its context. It records
// the auth epoch the request authenticated under, so that what the store caches under
// that epoch (the tenant's custom attributes and email-domain allow-list) is served to
// the request without a query of its own. And it lets an authentication be answered from the process's cache
// without reading the epoch at all, the check being made by the request's first read
// instead, in the same statement: Okta's existence check (GET /Users with userName eq)
// then costs one query instead of two. Only LookupUser makes that check; a caller that
// defers must call nothing else of the store while Pending is true, and must
// authenticate again when LookupUser answers ErrAuthStale.
type AuthCheck struct {
	deferrable bool  // the authentication may leave the epoch check to LookupUser
	used       bool  // an authentication already ran under this check
	pending    bool  // answered from the cache; the epoch is not confirmed yet
	confirmed  bool  // epoch is the one the request's authentication was checked under
	epoch      int64 // the epoch the authentication was read or cached under
}

type authCheckKey struct{}

// ErrAuthStale is LookupUser's answer when the cached authentication its AuthCheck
// deferred was made under an auth epoch that has since moved: a credential or tenant
// changed, and the request must authenticate again before it is answered.
var ErrAuthStale = errors.New("appstore: the cached authentication must be checked again")

// WithAuthCheck returns ctx carrying a new AuthCheck for the request's
// authentications. With deferrable set, the first may answer from the cache and leave
// the epoch check pending; later ones check as usual.
func WithAuthCheck(ctx context.Context, deferrable bool) (context.Context, *AuthCheck) {
	c := &AuthCheck{deferrable: deferrable}
	return context.WithValue(ctx, authCheckKey{}, c), c
}

// Pending reports whether the authentication still waits for its epoch check.
func (c *AuthCheck) Pending() bool { return c != nil && c.pending }

// pendingCheck returns ctx's AuthCheck when its epoch check is still to be made.
func pendingCheck(ctx context.Context) *AuthCheck {
	if c, _ := ctx.Value(authCheckKey{}).(*AuthCheck); c.Pending() {
		return c
	}
	return nil
}

// confirmedEpoch returns the epoch ctx's request authenticated under, once checked.
func confirmedEpoch(ctx context.Context) (int64, bool) {
	if c, _ := ctx.Value(authCheckKey{}).(*AuthCheck); c != nil && c.confirmed {
		return c.epoch, true
	}
	return 0, false
}

// confirm ends a pending check with the epoch the database holds now.
func (s *sqlStore) confirm(c *AuthCheck, epoch int64) error {
	c.pending = false
	if epoch != c.epoch {
		s.auth.moved(epoch)
		return ErrAuthStale
	}
	c.confirmed = true
	return nil
}

// touch records a new last-used time on a cached entry.
func (c *authCache) touch(key [sha256.Size]byte, cred Credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		e.cred = cred
		c.entries[key] = e
	}
}

// authenticateCached runs the cached path shared by both credential kinds: key names
// what the client sent; verify authenticates against the database on a miss.
func (s *sqlStore) authenticateCached(ctx context.Context, op string, key [sha256.Size]byte, verify func() (Tenant, Credential, error)) (Tenant, Credential, error) {
	// Only a request's first authentication may defer its epoch check; a later one
	// (after a stale or unconfirmable deferral) checks now, and its epoch is then the
	// request's confirmed one.
	check, _ := ctx.Value(authCheckKey{}).(*AuthCheck)
	if check != nil {
		first := !check.used
		check.used, check.pending, check.confirmed = true, false, false
		if e, epoch, ok := s.auth.peek(key); ok && first && check.deferrable {
			check.pending, check.epoch = true, epoch
			return s.cachedAuth(ctx, key, e)
		}
	}
	epoch, err := s.authEpoch(ctx)
	if err != nil {
		return Tenant{}, Credential{}, s.wrap(op, err)
	}
	if e, ok := s.auth.get(epoch, key); ok {
		if check != nil {
			check.epoch, check.confirmed = epoch, true
		}
		return s.cachedAuth(ctx, key, e)
	}
	t, c, err := verify()
	if err != nil {
		return t, c, err
	}
	s.auth.put(epoch, authEntry{key: key, tenant: t, cred: c})
	if check != nil {
		check.epoch, check.confirmed = epoch, true
	}
	return t, c, nil
}

// cachedAuth answers an authentication from the cache entry e.
func (s *sqlStore) cachedAuth(ctx context.Context, key [sha256.Size]byte, e authEntry) (Tenant, Credential, error) {
	if cred, touched := s.touchLastUsed(ctx, e.cred); touched {
		s.auth.touch(key, cred)
		e.cred = cred
	}
	return e.tenant, e.cred, nil
}
