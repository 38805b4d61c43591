package appstore

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
)

// Bearer tokens look like "oks_<prefix>_<secret>": the prefix (10 characters) is stored
// in clear so that a token can be found and shown in listings; the secret part is 32
// random bytes. Only the SHA-256 of the whole token is stored: a token has 256 bits of
// entropy, so a fast hash is safe, and it keeps authentication cheap on Okta's hot path.
const (
	tokenScheme   = "oks_"
	prefixLen     = 10
	secretBytes   = 32
	pbkdf2Iter    = 60000
	lastUsedEvery = time.Minute // how stale last_used_at may get before it is rewritten
)

type credRow struct {
	ID         string        `db:"id"`
	TenantID   string        `db:"tenant_id"`
	Kind       string        `db:"kind"`
	Slot       sql.NullInt64 `db:"slot"`
	Status     string        `db:"status"`
	Prefix     string        `db:"prefix"`
	Username   string        `db:"username"`
	SecretHash string        `db:"secret_hash"`
	CreatedAt  int64         `db:"created_at"`
	LastUsedAt sql.NullInt64 `db:"last_used_at"`
}

const credCols = `id, tenant_id, kind, slot, status, prefix, username, secret_hash, created_at, last_used_at`

func (r credRow) credential() Credential {
	return Credential{ID: r.ID, TenantID: r.TenantID, Kind: r.Kind, Status: r.Status, Prefix: r.Prefix,
		Username: r.Username, Created: fromMicros(r.CreatedAt), LastUsed: nullMicros(r.LastUsedAt)}
}

// newToken returns a fresh token, its prefix and the hash to store.
func newToken() (token, prefix, hash string, err error) {
	p := make([]byte, 8)
	sec := make([]byte, secretBytes)
	if _, err := rand.Read(p); err != nil {
		return "", "", "", err
	}
	if _, err := rand.Read(sec); err != nil {
		return "", "", "", err
	}
	prefix = tokenScheme + hex.EncodeToString(p)[:prefixLen]
	token = prefix + "_" + base64.RawURLEncoding.EncodeToString(sec)
	return token, prefix, hashToken(token), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func tooManyTokens(tenantID string) error {
	return errkind.Errorf("appstore.CreateToken", errkind.Conflict,
		"tenant %q already has %d tokens: remove or renew one first (oktasync token remove|renew)", tenantID, MaxTokens)
}

func (s *sqlStore) CreateToken(ctx context.Context, tenantID string) (Credential, string, error) {
	const op = "appstore.CreateToken"
	token, prefix, hash, err := newToken()
	if err != nil {
		return Credential{}, "", errkind.E(op, errkind.Permanent, "no randomness", err)
	}
	var c Credential
	err = s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		if _, err := s.getTenant(ctx, tx, tenantID, true); err != nil {
			return err
		}
		var slots []int
		if err := tx.SelectContext(ctx, &slots, s.q(`SELECT slot FROM credentials WHERE tenant_id = ? AND kind = ?`), tenantID, CredentialBearer); err != nil {
			return s.wrap(op, err)
		}
		slot := 0
		for cand := 1; cand <= MaxTokens && slot == 0; cand++ {
			taken := false
			for _, sl := range slots {
				taken = taken || sl == cand
			}
			if !taken {
				slot = cand
			}
		}
		if slot == 0 {
			return tooManyTokens(tenantID)
		}
		now := s.micros()
		c = Credential{ID: uuid.NewString(), TenantID: tenantID, Kind: CredentialBearer, Status: StatusActive, Prefix: prefix, Created: fromMicros(now)}
		// The unique (tenant, kind, slot) index is what really bounds the count: two
		// concurrent creators that both saw a free slot cannot both insert into it.
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO credentials (`+credCols+`) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, NULL)`),
			c.ID, tenantID, CredentialBearer, slot, StatusActive, prefix, hash, now)
		if s.d.isUnique(err) {
			return tooManyTokens(tenantID)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		if err := s.audit(ctx, tx, tenantID, "token.create", "Credential", c.ID, map[string]Change{"prefix": {New: prefix}}); err != nil {
			return err
		}
		return s.emit(ctx, tx, event.TokenCreated, tenantID, CredentialResource(c), nil)
	})
	if err != nil {
		return Credential{}, "", err
	}
	return c, token, nil
}

func (s *sqlStore) getCredential(ctx context.Context, q sqlx.QueryerContext, tenantID, id string) (credRow, error) {
	var r credRow
	err := sql.ErrNoRows
	if lookupable(tenantID, id) {
		err = sqlx.GetContext(ctx, q, &r, s.q(`SELECT `+credCols+` FROM credentials WHERE tenant_id = ? AND id = ?`), tenantID, id)
	}
	if err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return r, errkind.Errorf("appstore.GetCredential", errkind.NotFound, "tenant %q has no credential %q", tenantID, id)
		}
		return r, s.wrap("appstore.GetCredential", err)
	}
	return r, nil
}

func (s *sqlStore) RenewToken(ctx context.Context, tenantID, id string) (Credential, string, error) {
	const op = "appstore.RenewToken"
	token, prefix, hash, err := newToken()
	if err != nil {
		return Credential{}, "", errkind.E(op, errkind.Permanent, "no randomness", err)
	}
	var c Credential
	err = s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		r, err := s.getCredential(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if r.Kind != CredentialBearer {
			return errkind.Errorf(op, errkind.Invalid, "credential %q is not a bearer token", id)
		}
		now := s.micros()
		// A renewed token is ready for use: the new secret is active even when the old
		// one had been set inactive.
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE credentials SET prefix = ?, secret_hash = ?, status = ?, created_at = ?, last_used_at = NULL WHERE id = ?`), prefix, hash, StatusActive, now, id); err != nil {
			return s.wrap(op, err)
		}
		old := r.credential()
		r.Prefix, r.Status, r.CreatedAt, r.LastUsedAt = prefix, StatusActive, now, sql.NullInt64{}
		c = r.credential()
		changes := map[string]Change{"prefix": {Old: old.Prefix, New: prefix}}
		if old.Status != StatusActive {
			changes["status"] = Change{Old: old.Status, New: StatusActive}
		}
		if err := s.audit(ctx, tx, tenantID, "token.renew", "Credential", id, changes); err != nil {
			return err
		}
		return s.emitDiff(ctx, tx, event.TokenRenewed, tenantID, CredentialResource(old), CredentialResource(c))
	})
	if err != nil {
		return Credential{}, "", err
	}
	return c, token, nil
}

// hashPassword derives a salted PBKDF2-SHA256 hash: pbkdf2-sha256$iter$salt$key.
func hashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iter, 32)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", pbkdf2Iter, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func checkPassword(stored, password string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err1 := strconv.Atoi(parts[1])
	salt, err2 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err3 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || iter < 1 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

func (s *sqlStore) CreateBasic(ctx context.Context, tenantID, username, password string) (Credential, error) {
	const op = "appstore.CreateBasic"
	username = strings.TrimSpace(username)
	if username == "" || strings.Contains(username, ":") {
		return Credential{}, errkind.InvalidField(op, "username", "username must be non-empty and contain no ':'")
	}
	if err := checkIndexed(op, "username", username); err != nil {
		return Credential{}, err
	}
	if err := checkText(op, "password", password); err != nil {
		return Credential{}, err
	}
	if len(password) < 12 {
		return Credential{}, errkind.InvalidField(op, "password", "password must be at least 12 characters")
	}
	hash, err := hashPassword(password)
	if err != nil {
		return Credential{}, errkind.E(op, errkind.Permanent, "hashing password", err)
	}
	var c Credential
	err = s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		if _, err := s.getTenant(ctx, tx, tenantID, false); err != nil {
			return err
		}
		now := s.micros()
		c = Credential{ID: uuid.NewString(), TenantID: tenantID, Kind: CredentialBasic, Status: StatusActive, Username: username, Created: fromMicros(now)}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO credentials (`+credCols+`) VALUES (?, ?, ?, NULL, ?, '', ?, ?, ?, NULL)`),
			c.ID, tenantID, CredentialBasic, StatusActive, username, hash, now)
		if s.d.isUnique(err) {
			return errkind.Errorf(op, errkind.Conflict, "username %q is already in use", username)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		if err := s.audit(ctx, tx, tenantID, "basic.create", "Credential", c.ID, map[string]Change{"username": {New: username}}); err != nil {
			return err
		}
		return s.emit(ctx, tx, event.TokenCreated, tenantID, CredentialResource(c), nil)
	})
	return c, err
}

func (s *sqlStore) ListCredentials(ctx context.Context, tenantID string) ([]Credential, error) {
	if _, err := s.GetTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	var rows []credRow
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT `+credCols+` FROM credentials WHERE tenant_id = ? ORDER BY kind DESC, slot, created_at, id`), tenantID); err != nil {
		return nil, s.wrap("appstore.ListCredentials", err)
	}
	out := make([]Credential, len(rows))
	for i, r := range rows {
		out[i] = r.credential()
	}
	return out, nil
}

func (s *sqlStore) SetCredentialStatus(ctx context.Context, tenantID, id, status string) (Credential, error) {
	const op = "appstore.SetCredentialStatus"
	if status != StatusActive && status != StatusInactive {
		return Credential{}, errkind.Errorf(op, errkind.Invalid, "status %q: want active or inactive", status)
	}
	var c Credential
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		r, err := s.getCredential(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		old := r.Status
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE credentials SET status = ? WHERE id = ?`), status, id); err != nil {
			return s.wrap(op, err)
		}
		r.Status = status
		c = r.credential()
		if old == status {
			return nil
		}
		verb := map[string]string{StatusActive: "activate", StatusInactive: "deactivate"}[status]
		if err := s.audit(ctx, tx, tenantID, "credential."+verb, "Credential", id, map[string]Change{"status": {Old: old, New: status}}); err != nil {
			return err
		}
		return s.emit(ctx, tx, event.TokenStatus, tenantID, CredentialResource(c), map[string]any{"status": old})
	})
	return c, err
}

func (s *sqlStore) RemoveCredential(ctx context.Context, tenantID, id string) error {
	const op = "appstore.RemoveCredential"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		r, err := s.getCredential(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM credentials WHERE id = ?`), id); err != nil {
			return s.wrap(op, err)
		}
		if err := s.audit(ctx, tx, tenantID, "credential.remove", "Credential", id, map[string]Change{"prefix": {Old: r.Prefix + r.Username}}); err != nil {
			return err
		}
		return s.emit(ctx, tx, event.TokenRemoved, tenantID, CredentialResource(r.credential()), nil)
	})
}

// ErrCredentialInactive and ErrTenantDisabled are the causes (see errors.Is) of the
// Unauthorized errors of a known credential that is inactive or whose tenant has
// provisioning disabled; other refusals are a wrong or unknown secret.
var (
	ErrCredentialInactive = errors.New("credential is inactive")
	ErrTenantDisabled     = errors.New("provisioning is disabled for this tenant")
)

func unauthorized(op string) error {
	return errkind.Errorf(op, errkind.Unauthorized, "invalid credentials")
}

func (s *sqlStore) AuthenticateToken(ctx context.Context, secret string) (Tenant, Credential, error) {
	const op = "appstore.AuthenticateToken"
	return s.authenticateCached(ctx, op, sha256.Sum256([]byte(secret)), func() (Tenant, Credential, error) {
		// The credential is found by the hash of the whole token, never by its prefix: a
		// wrong secret under an existing prefix then costs what any other wrong token
		// costs (one index probe that finds nothing), so timing does not tell a client
		// which prefixes exist. Whatever the client sent hashes to hex, so bytes that are
		// not text never reach the database. The kind is a literal so that the partial
		// index on bearer hashes serves the statement's generic plan too.
		hash := hashToken(secret)
		var r authRow
		st, err := s.prepared(ctx, s.rdb, s.q(authSelect+` WHERE c.kind = '`+CredentialBearer+`' AND c.secret_hash = ?`))
		if err == nil {
			err = st.GetContext(ctx, &r, hash)
		}
		if err != nil {
			if s.wrapKind(err) == errkind.NotFound {
				return Tenant{}, Credential{}, unauthorized(op)
			}
			return Tenant{}, Credential{}, s.wrap(op, err)
		}
		if subtle.ConstantTimeCompare([]byte(hash), []byte(r.SecretHash)) != 1 {
			return Tenant{}, Credential{}, unauthorized(op)
		}
		return s.finishAuth(ctx, op, r)
	})
}

func (s *sqlStore) AuthenticateBasic(ctx context.Context, username, password string) (Tenant, Credential, error) {
	const op = "appstore.AuthenticateBasic"
	key := sha256.Sum256([]byte("basic\x00" + username + "\x00" + password))
	return s.authenticateCached(ctx, op, key, func() (Tenant, Credential, error) {
		var r authRow
		err := sql.ErrNoRows
		if lookupable(username, password) {
			err = s.rdb.GetContext(ctx, &r, s.q(authSelect+` WHERE c.kind = '`+CredentialBasic+`' AND c.username = ?`), username)
		}
		if err != nil {
			if s.wrapKind(err) == errkind.NotFound {
				checkPassword("pbkdf2-sha256$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", password)
				return Tenant{}, Credential{}, unauthorized(op)
			}
			return Tenant{}, Credential{}, s.wrap(op, err)
		}
		if !s.checkBasicCached(r.SecretHash, password) {
			return Tenant{}, Credential{}, unauthorized(op)
		}
		return s.finishAuth(ctx, op, r)
	})
}

// checkBasicCached verifies a password, remembering successes for a few minutes.
func (s *sqlStore) checkBasicCached(stored, password string) bool {
	sum := sha256.Sum256([]byte(stored + "\x00" + password))
	key := string(sum[:])
	now := s.now()
	s.basicMu.Lock()
	exp, ok := s.basicCache[key]
	s.basicMu.Unlock()
	if ok && now.Before(exp) {
		return true
	}
	if !checkPassword(stored, password) {
		return false
	}
	s.basicMu.Lock()
	if len(s.basicCache) > 1024 {
		clear(s.basicCache)
	}
	s.basicCache[key] = now.Add(5 * time.Minute)
	s.basicMu.Unlock()
	return true
}

// authRow is a credential with its tenant, read in one query: authentication runs on
// every SCIM request.
type authRow struct {
	credRow
	TName     string `db:"t_name"`
	TEnabled  bool   `db:"t_enabled"`
	TSettings string `db:"t_settings"`
	TCreated  int64  `db:"t_created"`
	TUpdated  int64  `db:"t_updated"`
}

const authSelect = `SELECT c.id, c.tenant_id, c.kind, c.slot, c.status, c.prefix, c.username, c.secret_hash, c.created_at, c.last_used_at,
	t.name AS t_name, t.provisioning_enabled AS t_enabled, t.settings AS t_settings, t.created_at AS t_created, t.updated_at AS t_updated
	FROM credentials c JOIN tenants t ON t.id = c.tenant_id`

func (s *sqlStore) finishAuth(ctx context.Context, op string, r authRow) (Tenant, Credential, error) {
	if r.Status != StatusActive {
		return Tenant{}, Credential{}, errkind.E(op, errkind.Unauthorized, "", ErrCredentialInactive)
	}
	t, err := tenantRow{ID: r.TenantID, Name: r.TName, ProvisioningEnabled: r.TEnabled, Settings: r.TSettings, CreatedAt: r.TCreated, UpdatedAt: r.TUpdated}.tenant()
	if err != nil {
		return Tenant{}, Credential{}, err
	}
	if !t.ProvisioningEnabled {
		return Tenant{}, Credential{}, errkind.E(op, errkind.Unauthorized, "", ErrTenantDisabled)
	}
	c, _ := s.touchLastUsed(ctx, r.credential())
	return t, c, nil
}

// touchLastUsed rewrites a credential's last_used_at when it is more than lastUsedEvery
// old, and reports whether it did.
func (s *sqlStore) touchLastUsed(ctx context.Context, c Credential) (Credential, bool) {
	now := s.now()
	if !c.LastUsed.IsZero() && now.Sub(c.LastUsed) <= lastUsedEvery {
		return c, false
	}
	// Best effort, and off the request: a failed bookkeeping write must not refuse a
	// valid credential, and on SQLite a request must not wait for the single writer
	// (busy with someone else's slow transaction) just to record when it was seen.
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = s.db.ExecContext(wctx, s.q(`UPDATE credentials SET last_used_at = ? WHERE id = ?`), now.UnixMicro(), c.ID)
	}()
	c.LastUsed = fromMicros(now.UnixMicro())
	return c, true
}
