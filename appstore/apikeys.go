package appstore

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
)

// API keys look like SCIM tokens with their own scheme, "oka_<prefix>_<secret>", so that
// neither kind of secret is ever mistaken for the other.
const apiKeyScheme = "oka_"

type apiKeyRow struct {
	ID         string        `db:"id"`
	Name       string        `db:"name"`
	Prefix     string        `db:"prefix"`
	SecretHash string        `db:"secret_hash"`
	CreatedAt  int64         `db:"created_at"`
	LastUsedAt sql.NullInt64 `db:"last_used_at"`
}

func (r apiKeyRow) key() APIKey {
	return APIKey{ID: r.ID, Name: r.Name, Prefix: r.Prefix, Created: fromMicros(r.CreatedAt), LastUsed: nullMicros(r.LastUsedAt)}
}

const apiKeyCols = `id, name, prefix, secret_hash, created_at, last_used_at`

// CreateAPIKey generates a key of the vendor API. The secret is returned only here.
func (s *sqlStore) CreateAPIKey(ctx context.Context, name string) (APIKey, string, error) {
	const op = "appstore.CreateAPIKey"
	token, prefix, _, err := newToken()
	if err != nil {
		return APIKey{}, "", errkind.E(op, errkind.Permanent, "no randomness", err)
	}
	secret := apiKeyScheme + strings.TrimPrefix(token, tokenScheme)
	prefix = apiKeyScheme + strings.TrimPrefix(prefix, tokenScheme)
	now := s.micros()
	k := APIKey{ID: uuid.NewString(), Name: strings.TrimSpace(name), Prefix: prefix, Created: fromMicros(now)}
	err = s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, NULL)`),
			k.ID, k.Name, k.Prefix, hashToken(secret), now); err != nil {
			return s.wrap(op, err)
		}
		return s.audit(ctx, tx, "", "apikey.create", "APIKey", k.ID, map[string]Change{"name": {New: k.Name}, "prefix": {New: k.Prefix}})
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, secret, nil
}

// ListAPIKeys returns every API key, oldest first, without secrets.
func (s *sqlStore) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var rows []apiKeyRow
	if err := s.rdb.SelectContext(ctx, &rows, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY created_at, id`); err != nil {
		return nil, s.wrap("appstore.ListAPIKeys", err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}

// HasAPIKeys reports whether any API key exists.
func (s *sqlStore) HasAPIKeys(ctx context.Context) (bool, error) {
	var n int
	if err := s.rdb.GetContext(ctx, &n, `SELECT count(*) FROM (SELECT 1 FROM api_keys LIMIT 1) k`); err != nil {
		return false, s.wrap("appstore.HasAPIKeys", err)
	}
	return n > 0, nil
}

// RemoveAPIKey deletes a key; it stops working at once.
func (s *sqlStore) RemoveAPIKey(ctx context.Context, id string) error {
	const op = "appstore.RemoveAPIKey"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		var r apiKeyRow
		if err := tx.GetContext(ctx, &r, s.q(`SELECT `+apiKeyCols+` FROM api_keys WHERE id = ? OR prefix = ?`), id, id); err != nil {
			if s.wrapKind(err) == errkind.NotFound {
				return errkind.Errorf(op, errkind.NotFound, "no API key %q", id)
			}
			return s.wrap(op, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_keys WHERE id = ?`), r.ID); err != nil {
			return s.wrap(op, err)
		}
		// The console sessions the key signed in end with it.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE actor = ?`), APIKeyActor(r.ID)); err != nil {
			return s.wrap(op, err)
		}
		return s.audit(ctx, tx, "", "apikey.remove", "APIKey", r.ID, map[string]Change{"prefix": {Old: r.Prefix}})
	})
}

// AuthenticateAPIKey returns the key a secret belongs to; anything else is Unauthorized.
// As with SCIM tokens, the key is found by the hash of the whole secret, so that timing
// does not tell which prefixes exist.
func (s *sqlStore) AuthenticateAPIKey(ctx context.Context, secret string) (APIKey, error) {
	const op = "appstore.AuthenticateAPIKey"
	hash := hashToken(secret)
	var r apiKeyRow
	if err := s.rdb.GetContext(ctx, &r, s.q(`SELECT `+apiKeyCols+` FROM api_keys WHERE secret_hash = ?`), hash); err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return APIKey{}, unauthorized(op)
		}
		return APIKey{}, s.wrap(op, err)
	}
	if !strings.HasPrefix(secret, apiKeyScheme) || subtle.ConstantTimeCompare([]byte(hash), []byte(r.SecretHash)) != 1 {
		return APIKey{}, unauthorized(op)
	}
	k := r.key()
	now := s.micros()
	if !r.LastUsedAt.Valid || now-r.LastUsedAt.Int64 > lastUsedEvery.Microseconds() {
		if _, err := s.db.ExecContext(ctx, s.q(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`), now, r.ID); err != nil {
			return APIKey{}, s.wrap(op, err)
		}
		k.LastUsed = fromMicros(now)
	}
	return k, nil
}
