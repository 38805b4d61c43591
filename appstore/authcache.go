package appstore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
)

// authCache remembers authenticated credentials with their tenants, so that a SCIM
// request costs one tiny query (the auth epoch) instead of the credential join. Every
// change that could refuse a cached credential (a credential's status, secret, slot or
// removal; any change to a tenant) moves the database's auth_epoch in its own
// transaction, by trigger, whichever process makes it. A cached entry is used only while
// the epoch read at the start of the request is the one it was read under, so a
// deactivated, renewed or removed token or a disabled tenant stops working at once on
// every server sharing the database. Failures are never cached.
type authCache struct {
	mu      sync.Mutex
	epoch   int64
	valid   bool // epoch has been read at least once
	entries map[[sha256.Size]byte]authEntry
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
	epoch, err := s.authEpoch(ctx)
	if err != nil {
		return Tenant{}, Credential{}, s.wrap(op, err)
	}
	if e, ok := s.auth.get(epoch, key); ok {
		if cred, touched := s.touchLastUsed(ctx, e.cred); touched {
			s.auth.touch(key, cred)
			e.cred = cred
		}
		return e.tenant, e.cred, nil
	}
	t, c, err := verify()
	if err != nil {
		return t, c, err
	}
	s.auth.put(epoch, authEntry{key: key, tenant: t, cred: c})
	return t, c, nil
}
