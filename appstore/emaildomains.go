package appstore

import (
	"context"
	"regexp"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
)

// The email-domain allow-list (TenantSettings.AllowedEmailDomains) is enforced here, in
// the store's user create and update, because every write of a user passes through
// them: SCIM's, the app's (CLI and API) and the sync worker's. Two writes are let
// through:
//
//   - the sync worker's (actor "syncer"): it imports the users of the tenant's own Okta
//     org, which the tenant's administrator connected; refusing one would fail that user
//     on every run without a way to fix it from Okta's side;
//   - values an update leaves as they were: only a userName that changes, and emails
//     that were not there before, are checked. Tightening the list therefore never
//     stops Okta from deactivating or updating a user created before.

// domainPattern is what an allowed domain must look like: labels of letters, digits and
// dashes separated by dots (lower-case once normalised).
var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// normalizeEmailDomains lower-cases the allow-list, drops blanks, a leading "@" and a
// trailing dot, removes repeats, and refuses anything that is not a domain name.
func normalizeEmailDomains(op string, list []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, d := range list {
		n := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@"), ".")
		if n == "" {
			continue
		}
		if !domainPattern.MatchString(n) || len(n) > 253 {
			return nil, errkind.Errorf(op, errkind.Invalid, "allowedEmailDomains: %q is not a domain name (e.g. example.com)", d)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// emailDomain is the domain of an address (lower-case, without a trailing dot), and
// false when the value has no "@".
func emailDomain(addr string) (string, bool) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return "", false
	}
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(addr[i+1:])), "."), true
}

// emailValues lists the value of every entry of u's emails.
func emailValues(u *User) []string {
	list, _ := u.Attrs["emails"].([]any)
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		if v, _ := m["value"].(string); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// checkEmailDomains refuses, with Invalid naming the domain, a write that gives u a
// userName or an email outside the tenant's allowed domains. old is the user before an
// update (nil for a create); see the comment at the top of this file for what is exempt.
func (s *sqlStore) checkEmailDomains(ctx context.Context, tx *sqlx.Tx, op string, old, u *User) error {
	if ActorFrom(ctx).Kind == "syncer" {
		return nil
	}
	var fresh []string // the addresses this write brings, with what they are
	if old == nil || !strings.EqualFold(old.UserName, u.UserName) {
		if strings.Contains(u.UserName, "@") {
			fresh = append(fresh, "userName", u.UserName)
		}
	}
	var before []string
	if old != nil {
		before = emailValues(old)
	}
	for _, e := range emailValues(u) {
		if !containsFold(before, e) {
			fresh = append(fresh, "email", e)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	allowed, err := s.allowedEmailDomains(ctx, tx, op, u.TenantID)
	if err != nil || len(allowed) == 0 {
		return err
	}
	for i := 0; i < len(fresh); i += 2 {
		what, addr := fresh[i], fresh[i+1]
		d, _ := emailDomain(addr)
		if !containsFold(allowed, d) {
			return errkind.InvalidField(op, what, "%s %q: the domain %q is not among the tenant's allowed email domains (%s)",
				what, addr, d, strings.Join(allowed, ", "))
		}
	}
	return nil
}

const tenantSettingsByID = `SELECT settings FROM tenants WHERE id = ?`

// allowedEmailDomains reads the tenant's allow-list inside tx.
func (s *sqlStore) allowedEmailDomains(ctx context.Context, tx *sqlx.Tx, op, tenantID string) ([]string, error) {
	// A SCIM write reads the list as of the auth epoch it authenticated under: any
	// change to a tenant moves the epoch.
	epoch, ok := confirmedEpoch(ctx)
	if ok {
		if d, hit := s.auth.tenantDomains(epoch, tenantID); hit {
			return d, nil
		}
	}
	d, err := s.readAllowedEmailDomains(ctx, tx, op, tenantID)
	if err == nil && ok {
		s.auth.putTenantDomains(epoch, tenantID, d)
	}
	return d, err
}

func (s *sqlStore) readAllowedEmailDomains(ctx context.Context, tx *sqlx.Tx, op, tenantID string) ([]string, error) {
	var raw string
	st, err := s.prepared(ctx, tx, s.q(tenantSettingsByID))
	if err == nil {
		err = st.GetContext(ctx, &raw, tenantID)
	}
	if err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return nil, errkind.Errorf(op, errkind.NotFound, "no tenant %q", tenantID)
		}
		return nil, s.wrap(op, err)
	}
	t, err := tenantRow{Settings: raw}.tenant()
	if err != nil {
		return nil, err
	}
	return t.Settings.AllowedEmailDomains, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
