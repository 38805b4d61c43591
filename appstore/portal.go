package appstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
)

// ErrLinkGone marks a setup link that existed but has expired, been revoked or (when
// one-time) been used: the pages answer 410 for it rather than 404.
var ErrLinkGone = errors.New("setup link expired or revoked")

// SetupLink is a short-lived link to a tenant's setup pages, or, with no TenantID, a
// one-time sign-in to the vendor's console. Its secret is returned only when it is made.
type SetupLink struct {
	ID        string
	TenantID  string // "" for a console sign-in link
	OneTime   bool   // the link works once; otherwise until it expires or is revoked
	CreatedBy string // the actor that made it
	Created   time.Time
	Expires   time.Time
	Used      time.Time // last opened; zero if never
	Revoked   time.Time // zero unless revoked
}

// Session is a signed-in browser: scoped to one tenant's pages, or to the console when
// TenantID is "". Its secret lives only in the browser's cookie; the store keeps its hash.
type Session struct {
	ID        string
	TenantID  string
	Actor     string // who signed in: SetupLinkActor(id), or the console's key
	Created   time.Time
	Seen      time.Time
	IdleUntil time.Time // the session ends if unused until then
	Expires   time.Time // the session ends then, however active
}

// PortalStore is the part of Store the web pages use for setup links and sessions.
type PortalStore interface {
	// CreateSetupLink stores l (TenantID, OneTime, Expires are the caller's) and returns it
	// with its id and secret. An unknown tenant is NotFound.
	CreateSetupLink(ctx context.Context, l SetupLink) (SetupLink, string, error)
	// ListSetupLinks returns the tenant's links that are neither revoked nor expired,
	// newest first.
	ListSetupLinks(ctx context.Context, tenantID string) ([]SetupLink, error)
	// RevokeSetupLink ends a link at once, and the sessions it opened; an unknown or
	// already revoked one is NotFound.
	RevokeSetupLink(ctx context.Context, tenantID, id string) error
	// RedeemSetupLink checks a link's secret and records its use. An unknown secret is
	// NotFound; an expired, revoked or used one-time link is NotFound wrapping ErrLinkGone.
	RedeemSetupLink(ctx context.Context, secret string) (SetupLink, error)

	// CreateSession starts a session (TenantID and Actor are the caller's) that ends
	// after idle without use, or after absolute in any case; it returns the secret.
	CreateSession(ctx context.Context, s Session, idle, absolute time.Duration) (Session, string, error)
	// TouchSession returns the session of a secret and extends its idle end by idle
	// (never past its absolute end). Unknown and ended sessions are Unauthorized.
	TouchSession(ctx context.Context, secret string, idle time.Duration) (Session, error)
	// DeleteSession ends a session (signing out); an unknown secret is not an error.
	DeleteSession(ctx context.Context, secret string) error
}

// SetupLinkActor is the Session.Actor of a session a setup link opened; revoking the
// link ends those sessions.
func SetupLinkActor(linkID string) string { return "setup-link:" + linkID }

// APIKeyActor is the Session.Actor of a console session signed in with the API key
// keyID (or manage's admin key); removing the key ends those sessions.
func APIKeyActor(keyID string) string { return "console:" + keyID }

type setupLinkRow struct {
	ID        string         `db:"id"`
	TenantID  sql.NullString `db:"tenant_id"`
	OneTime   bool           `db:"one_time"`
	CreatedBy string         `db:"created_by"`
	CreatedAt int64          `db:"created_at"`
	ExpiresAt int64          `db:"expires_at"`
	UsedAt    sql.NullInt64  `db:"used_at"`
	RevokedAt sql.NullInt64  `db:"revoked_at"`
}

const setupLinkCols = `id, tenant_id, one_time, created_by, created_at, expires_at, used_at, revoked_at`

func (r setupLinkRow) link() SetupLink {
	return SetupLink{ID: r.ID, TenantID: r.TenantID.String, OneTime: r.OneTime, CreatedBy: r.CreatedBy,
		Created: fromMicros(r.CreatedAt), Expires: fromMicros(r.ExpiresAt), Used: nullMicros(r.UsedAt), Revoked: nullMicros(r.RevokedAt)}
}

// newSecret returns 256 random bits, URL-safe, after a short scheme prefix, and its hash.
func newSecret(scheme string) (string, string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	secret := scheme + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashToken(secret), nil
}

func (s *sqlStore) CreateSetupLink(ctx context.Context, l SetupLink) (SetupLink, string, error) {
	const op = "appstore.CreateSetupLink"
	secret, hash, err := newSecret("osl_")
	if err != nil {
		return SetupLink{}, "", errkind.E(op, errkind.Permanent, "no randomness", err)
	}
	now := s.micros()
	if !l.Expires.After(fromMicros(now)) {
		return SetupLink{}, "", errkind.Errorf(op, errkind.Invalid, "a setup link must expire in the future")
	}
	l.ID, l.Created, l.Used, l.Revoked = uuid.NewString(), fromMicros(now), time.Time{}, time.Time{}
	l.Expires = fromMicros(l.Expires.UnixMicro())
	l.CreatedBy = ActorFrom(ctx).String()
	err = s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		if l.TenantID != "" {
			if _, err := s.getTenant(ctx, tx, l.TenantID, false); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO setup_links (`+setupLinkCols+`, secret_hash) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)`),
			l.ID, nullString(l.TenantID), l.OneTime, l.CreatedBy, now, l.Expires.UnixMicro(), hash); err != nil {
			return s.wrap(op, err)
		}
		return s.audit(ctx, tx, l.TenantID, "setuplink.create", "SetupLink", l.ID, map[string]Change{"expires": {New: l.Expires}})
	})
	if err != nil {
		return SetupLink{}, "", err
	}
	return l, secret, nil
}

func (s *sqlStore) ListSetupLinks(ctx context.Context, tenantID string) ([]SetupLink, error) {
	var rows []setupLinkRow
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT `+setupLinkCols+` FROM setup_links
		WHERE tenant_id = ? AND revoked_at IS NULL AND expires_at > ? AND NOT (one_time AND used_at IS NOT NULL)
		ORDER BY created_at DESC, id`), tenantID, s.micros()); err != nil {
		return nil, s.wrap("appstore.ListSetupLinks", err)
	}
	out := make([]SetupLink, len(rows))
	for i, r := range rows {
		out[i] = r.link()
	}
	return out, nil
}

func (s *sqlStore) RevokeSetupLink(ctx context.Context, tenantID, id string) error {
	const op = "appstore.RevokeSetupLink"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE setup_links SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`), s.micros(), tenantID, id)
		if err != nil {
			return s.wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.Errorf(op, errkind.NotFound, "tenant %q has no setup link %q", tenantID, id)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE actor = ?`), SetupLinkActor(id)); err != nil {
			return s.wrap(op, err)
		}
		return s.audit(ctx, tx, tenantID, "setuplink.revoke", "SetupLink", id, nil)
	})
}

func (s *sqlStore) RedeemSetupLink(ctx context.Context, secret string) (SetupLink, error) {
	const op = "appstore.RedeemSetupLink"
	var out SetupLink
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		var r setupLinkRow
		err := tx.GetContext(ctx, &r, s.q(`SELECT `+setupLinkCols+` FROM setup_links WHERE secret_hash = ?`+s.d.forUpdate()), hashToken(secret))
		if s.wrapKind(err) == errkind.NotFound {
			return errkind.Errorf(op, errkind.NotFound, "no such setup link")
		}
		if err != nil {
			return s.wrap(op, err)
		}
		now := s.micros()
		if r.RevokedAt.Valid || r.ExpiresAt <= now || (r.OneTime && r.UsedAt.Valid) {
			return errkind.E(op, errkind.NotFound, "this setup link has expired or was revoked", ErrLinkGone)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE setup_links SET used_at = ? WHERE id = ?`), now, r.ID); err != nil {
			return s.wrap(op, err)
		}
		r.UsedAt = sql.NullInt64{Int64: now, Valid: true}
		out = r.link()
		return nil
	})
	return out, err
}

type sessionRow struct {
	ID        string         `db:"id"`
	TenantID  sql.NullString `db:"tenant_id"`
	Actor     string         `db:"actor"`
	CreatedAt int64          `db:"created_at"`
	SeenAt    int64          `db:"seen_at"`
	IdleUntil int64          `db:"idle_until"`
	ExpiresAt int64          `db:"expires_at"`
}

const sessionCols = `id, tenant_id, actor, created_at, seen_at, idle_until, expires_at`

func (r sessionRow) session() Session {
	return Session{ID: r.ID, TenantID: r.TenantID.String, Actor: r.Actor, Created: fromMicros(r.CreatedAt),
		Seen: fromMicros(r.SeenAt), IdleUntil: fromMicros(r.IdleUntil), Expires: fromMicros(r.ExpiresAt)}
}

func (s *sqlStore) CreateSession(ctx context.Context, sess Session, idle, absolute time.Duration) (Session, string, error) {
	const op = "appstore.CreateSession"
	secret, hash, err := newSecret("")
	if err != nil {
		return Session{}, "", errkind.E(op, errkind.Permanent, "no randomness", err)
	}
	now := s.micros()
	r := sessionRow{ID: uuid.NewString(), TenantID: nullString(sess.TenantID), Actor: sess.Actor, CreatedAt: now, SeenAt: now,
		IdleUntil: min(now+idle.Microseconds(), now+absolute.Microseconds()), ExpiresAt: now + absolute.Microseconds()}
	err = s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		// Ended sessions are swept here, on the rare write, rather than by a timer.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE idle_until <= ?`), now); err != nil {
			return s.wrap(op, err)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO web_sessions (`+sessionCols+`, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.TenantID, r.Actor, r.CreatedAt, r.SeenAt, r.IdleUntil, r.ExpiresAt, hash)
		return s.wrap(op, err)
	})
	if err != nil {
		return Session{}, "", err
	}
	return r.session(), secret, nil
}

func (s *sqlStore) TouchSession(ctx context.Context, secret string, idle time.Duration) (Session, error) {
	const op = "appstore.TouchSession"
	var r sessionRow
	err := s.rdb.GetContext(ctx, &r, s.q(`SELECT `+sessionCols+` FROM web_sessions WHERE secret_hash = ?`), hashToken(secret))
	if s.wrapKind(err) == errkind.NotFound {
		return Session{}, errkind.Errorf(op, errkind.Unauthorized, "no such session")
	}
	if err != nil {
		return Session{}, s.wrap(op, err)
	}
	now := s.micros()
	if now >= r.IdleUntil || now >= r.ExpiresAt {
		_, _ = s.db.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE id = ?`), r.ID)
		return Session{}, errkind.Errorf(op, errkind.Unauthorized, "the session has ended")
	}
	// seen_at is rewritten at most once a minute (or a tenth of idle, when shorter): a
	// page's burst of requests costs one write.
	if now-r.SeenAt >= min(lastUsedEvery, idle/10).Microseconds() {
		r.SeenAt, r.IdleUntil = now, min(now+idle.Microseconds(), r.ExpiresAt)
		if _, err := s.db.ExecContext(ctx, s.q(`UPDATE web_sessions SET seen_at = ?, idle_until = ? WHERE id = ?`), r.SeenAt, r.IdleUntil, r.ID); err != nil {
			return Session{}, s.wrap(op, err)
		}
	}
	return r.session(), nil
}

func (s *sqlStore) DeleteSession(ctx context.Context, secret string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE secret_hash = ?`), hashToken(secret))
	return s.wrap("appstore.DeleteSession", err)
}
