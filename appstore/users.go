package appstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
)

type userRow struct {
	ID               string         `db:"id"`
	TenantID         string         `db:"tenant_id"`
	UserName         string         `db:"user_name"`
	ExternalID       sql.NullString `db:"external_id"`
	Active           bool           `db:"active"`
	Attrs            string         `db:"attrs"`
	Source           string         `db:"source"`
	SourceCredential string         `db:"source_credential"`
	SourceClient     string         `db:"source_client"`
	OktaUserID       sql.NullString `db:"okta_user_id"`
	Version          int64          `db:"version"`
	CreatedAt        int64          `db:"created_at"`
	UpdatedAt        int64          `db:"updated_at"`
}

const userCols = `users.id, users.tenant_id, users.user_name, users.external_id, users.active, users.attrs, users.source, users.source_credential, users.source_client, users.okta_user_id, users.version, users.created_at, users.updated_at`

// lookupWithEpochQuery is the existence check under a pending AuthCheck: the user
// whose userName matches cond (with groupsCol), joined to the auth epoch so that a row
// comes back, with the epoch, when there is no such user.
func lookupWithEpochQuery(cond, groupsCol string) string {
	return `SELECT ` + userColsOrZero + `, ` + groupsCol + ` AS groups, auth_epoch.n AS auth_epoch
		FROM auth_epoch LEFT JOIN users ON ` + cond + ` AND users.deleted_at IS NULL WHERE auth_epoch.id = 1`
}

// userColsOrZero is userCols for an outer join that may find no user: the columns
// that cannot be NULL read as their zero values, and an empty id means no user.
const userColsOrZero = `COALESCE(users.id, '') AS id, COALESCE(users.tenant_id, '') AS tenant_id,
	COALESCE(users.user_name, '') AS user_name, users.external_id, COALESCE(users.active, false) AS active,
	COALESCE(users.attrs, '{}') AS attrs, COALESCE(users.source, '') AS source,
	COALESCE(users.source_credential, '') AS source_credential, COALESCE(users.source_client, '') AS source_client,
	users.okta_user_id, COALESCE(users.version, 0) AS version, COALESCE(users.created_at, 0) AS created_at,
	COALESCE(users.updated_at, 0) AS updated_at`

func (r userRow) user() (User, error) {
	attrs, err := decodeAttrs(r.Attrs)
	if err != nil {
		return User{}, err
	}
	return User{ID: r.ID, TenantID: r.TenantID, UserName: r.UserName, ExternalID: r.ExternalID.String,
		Active: r.Active, Attrs: attrs, Source: r.Source, SourceCredential: r.SourceCredential, SourceClient: r.SourceClient,
		OktaUserID: r.OktaUserID.String, Version: r.Version,
		Created: fromMicros(r.CreatedAt), Updated: fromMicros(r.UpdatedAt)}, nil
}

// reservedAttrs are kept in their own columns or derived, never in User.Attrs.
var reservedAttrs = []string{"id", "userName", "externalId", "active", "meta", "groups", "schemas", "password"}

func cleanAttrs(attrs map[string]any) map[string]any {
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		out[k] = v
	}
	for _, k := range reservedAttrs {
		for have := range out {
			if strings.EqualFold(have, k) {
				delete(out, have)
			}
		}
	}
	return out
}

func validateUser(op string, u *User) error {
	u.UserName = strings.TrimSpace(u.UserName)
	if u.UserName == "" {
		return errkind.InvalidField(op, "userName", "userName is required")
	}
	if err := checkIndexed(op, "userName", u.UserName); err != nil {
		return err
	}
	if err := checkIndexed(op, "externalId", u.ExternalID); err != nil {
		return err
	}
	if err := checkIndexed(op, "oktaUserId", u.OktaUserID); err != nil {
		return err
	}
	if u.Source == "" {
		u.Source = SourceApp
	}
	u.Attrs = cleanAttrs(u.Attrs)
	return checkJSONText(op, "", u.Attrs)
}

func userNameTaken(op, userName string) error {
	return errkind.Errorf(op, errkind.Conflict, "userName %q is already taken", userName)
}

func (s *sqlStore) CreateUser(ctx context.Context, u User, opts ...WriteOption) (User, error) {
	const op = "appstore.CreateUser"
	if err := validateUser(op, &u); err != nil {
		return User{}, err
	}
	u.ID = uuid.NewString()
	u.Version = 1
	now := s.micros()
	u.Created, u.Updated = fromMicros(now), fromMicros(now)
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		res, err := s.writeResource(ctx, tx, u.TenantID, u.Attrs)
		if err != nil {
			return err
		}
		u.Attrs = canonicalAttrs(res, u.Attrs)
		if err := s.checkEmailDomains(ctx, tx, op, nil, &u); err != nil {
			return err
		}
		attrs, err := marshalJSON(u.Attrs)
		if err != nil {
			return err
		}
		st, err := s.prepared(ctx, tx, s.q(userInsert))
		if err != nil {
			return s.wrap(op, err)
		}
		_, err = st.ExecContext(ctx,
			u.ID, u.TenantID, u.UserName, normalizeKey(u.UserName), nullString(u.ExternalID), u.Active, u.DisplayName(), normalizeKey(u.PrimaryEmail()),
			attrs, u.Source, u.SourceCredential, u.SourceClient, nullString(u.OktaUserID), u.Version, now, now)
		if s.d.isUnique(err) {
			return userNameTaken(op, u.UserName)
		}
		if s.d.isForeignKey(err) { // the tenant reference is the only foreign key
			return errkind.Errorf(op, errkind.NotFound, "no tenant %q", u.TenantID)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		created := userChanges(&User{}, &u)
		if err := s.bumpAppRev(ctx, tx, u.ID, created); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, u.TenantID, "user.create", "User", u.ID, created); err != nil {
			return err
		}
		if err := s.queueMail(ctx, tx, nil, u, opts); err != nil {
			return err
		}
		return s.emit(ctx, tx, event.UserCreated, u.TenantID, UserResource(u), nil)
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// userChanges lists what differs between two versions of a user.
func userChanges(old, u *User) map[string]Change {
	ch := map[string]Change{}
	if old.UserName != u.UserName {
		ch["userName"] = Change{Old: old.UserName, New: u.UserName}
	}
	if old.ExternalID != u.ExternalID {
		ch["externalId"] = Change{Old: old.ExternalID, New: u.ExternalID}
	}
	if old.Active != u.Active || old.ID == "" {
		ch["active"] = Change{Old: old.Active, New: u.Active}
	}
	if old.OktaUserID != u.OktaUserID {
		ch["oktaUserId"] = Change{Old: old.OktaUserID, New: u.OktaUserID}
	}
	for k, v := range u.Attrs {
		if ov, ok := old.Attrs[k]; !ok || !jsonEqual(ov, v) {
			ch[k] = Change{Old: ov, New: v}
		}
	}
	for k, ov := range old.Attrs {
		if _, ok := u.Attrs[k]; !ok {
			ch[k] = Change{Old: ov}
		}
	}
	if old.ID == "" { // a create: there was no old value
		for k, c := range ch {
			ch[k] = Change{New: c.New}
		}
	}
	return ch
}

// userInsert and userUpdate are the writes of every SCIM create and update, prepared
// once (see warmStatements).
const (
	userInsert = `INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, active, display_name, email, attrs, source, source_credential, source_client, okta_user_id, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	userUpdate = `UPDATE users SET user_name = ?, user_name_key = ?, external_id = ?, active = ?, display_name = ?, email = ?, attrs = ?,
		source = ?, source_credential = ?, source_client = ?, okta_user_id = ?, version = ?, updated_at = ? WHERE id = ?`
)

const userByID = `SELECT ` + userCols + ` FROM users WHERE id = ? AND deleted_at IS NULL`

func (s *sqlStore) getUser(ctx context.Context, q sqlx.QueryerContext, tenantID, id string, lock bool) (User, error) {
	var r userRow
	// By primary key alone, checking the tenant after: with tenant_id in the condition
	// PostgreSQL may pick a (tenant_id, ...) index while a new table has no statistics
	// yet, which turns every look-up of a first bulk import into a scan of the tenant.
	query := userByID
	if lock {
		query += s.d.forUpdate()
	}
	err := sql.ErrNoRows
	if lookupable(id) {
		var st *sqlx.Stmt
		st, err = s.prepared(ctx, q, s.q(query))
		if err == nil {
			err = st.GetContext(ctx, &r, id)
		}
	}
	if err == nil && r.TenantID != tenantID {
		err = sql.ErrNoRows
	}
	if err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return User{}, errkind.Errorf("appstore.GetUser", errkind.NotFound, "no user %q", id)
		}
		return User{}, s.wrap("appstore.GetUser", err)
	}
	return r.user()
}

func (s *sqlStore) GetUser(ctx context.Context, tenantID, id string) (User, error) {
	return s.getUser(ctx, s.rdb, tenantID, id, false)
}

func (s *sqlStore) GetUserByUserName(ctx context.Context, tenantID, userName string) (User, error) {
	u, _, err := s.lookupUser(ctx, tenantID, userName, false)
	return u, err
}

func (s *sqlStore) LookupUser(ctx context.Context, tenantID, userName string) (User, []GroupRef, error) {
	return s.lookupUser(ctx, tenantID, userName, true)
}

// lookupUser reads a user by userName, with its groups when withGroups is set, in one
// query whose plan cannot leave the unique userName index (see dialect.userNameKey).
func (s *sqlStore) lookupUser(ctx context.Context, tenantID, userName string, withGroups bool) (User, []GroupRef, error) {
	const op = "appstore.GetUserByUserName"
	cond, args := s.d.userNameKey(tenantID, normalizeKey(strings.TrimSpace(userName)))
	var r struct {
		userRow
		Groups sql.NullString `db:"groups"`
	}
	groupsCol := `NULL`
	if withGroups {
		groupsCol = s.d.groupRefs("users")
	}
	check := pendingCheck(ctx)
	err := sql.ErrNoRows
	switch {
	case !lookupable(tenantID, userName) && check != nil:
		var epoch int64
		if epoch, err = s.authEpoch(ctx); err != nil {
			return User{}, nil, s.wrap(op, err)
		}
		if err := s.confirm(check, epoch); err != nil {
			return User{}, nil, err
		}
		err = sql.ErrNoRows
	case !lookupable(tenantID, userName):
	case check != nil:
		// The deferred authentication's epoch is read by the same statement, so the
		// answer and the check see one snapshot; the join keeps a row when no user is
		// found. users_lookup still serves the users side whatever the statistics.
		var rr struct {
			userRow
			Groups    sql.NullString `db:"groups"`
			AuthEpoch int64          `db:"auth_epoch"`
		}
		var st *sqlx.Stmt
		st, err = s.prepared(ctx, s.rdb, s.q(lookupWithEpochQuery(cond, groupsCol)))
		if err == nil {
			err = st.GetContext(ctx, &rr, args...)
		}
		if err == nil {
			if err := s.confirm(check, rr.AuthEpoch); err != nil {
				return User{}, nil, err
			}
			if r.userRow, r.Groups = rr.userRow, rr.Groups; r.ID == "" {
				err = sql.ErrNoRows
			}
		}
	default:
		var st *sqlx.Stmt
		st, err = s.prepared(ctx, s.rdb, s.q(`SELECT `+userCols+`, `+groupsCol+` AS groups FROM users WHERE `+cond+` AND deleted_at IS NULL`))
		if err == nil {
			err = st.GetContext(ctx, &r, args...)
		}
	}
	if err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return User{}, nil, errkind.Errorf(op, errkind.NotFound, "no user with userName %q", userName)
		}
		return User{}, nil, s.wrap(op, err)
	}
	u, err := r.user()
	if err != nil || !r.Groups.Valid {
		return u, nil, err
	}
	var pairs [][2]string
	if err := json.Unmarshal([]byte(r.Groups.String), &pairs); err != nil {
		return User{}, nil, errkind.E(op, errkind.Other, "reading the user's groups", err)
	}
	groups := make([]GroupRef, len(pairs))
	for i, p := range pairs {
		groups[i] = GroupRef{ID: p[0], DisplayName: p[1]}
	}
	return u, groups, nil
}

func (s *sqlStore) UpdateUser(ctx context.Context, tenantID, id string, fn func(*User) error, opts ...WriteOption) (User, error) {
	const op = "appstore.UpdateUser"
	var out User
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		old, err := s.getUser(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		u := old
		u.Attrs = deepCopyMap(old.Attrs)
		if err := fn(&u); err != nil {
			return err
		}
		// Identity and bookkeeping are the store's, whatever fn did.
		u.ID, u.TenantID, u.Created, u.Version = old.ID, old.TenantID, old.Created, old.Version
		if err := validateUser(op, &u); err != nil {
			return err
		}
		res, err := s.writeResource(ctx, tx, tenantID, u.Attrs)
		if err != nil {
			return err
		}
		u.Attrs = canonicalAttrs(res, u.Attrs)
		if err := s.checkEmailDomains(ctx, tx, op, &old, &u); err != nil {
			return err
		}
		changes := userChanges(&old, &u)
		if len(changes) == 0 && u.Source == old.Source && u.SourceCredential == old.SourceCredential && u.SourceClient == old.SourceClient {
			out = old // nothing to write: keep the version, so ETags stay valid
			return nil
		}
		attrs, err := marshalJSON(u.Attrs)
		if err != nil {
			return err
		}
		u.Version = old.Version + 1
		u.Updated = fromMicros(s.micros())
		st, err := s.prepared(ctx, tx, s.q(userUpdate))
		if err != nil {
			return s.wrap(op, err)
		}
		_, err = st.ExecContext(ctx,
			u.UserName, normalizeKey(u.UserName), nullString(u.ExternalID), u.Active, u.DisplayName(), normalizeKey(u.PrimaryEmail()), attrs,
			u.Source, u.SourceCredential, u.SourceClient, nullString(u.OktaUserID), u.Version, u.Updated.UnixMicro(), u.ID)
		if s.d.isUnique(err) {
			return userNameTaken(op, u.UserName)
		}
		if s.d.isForeignKey(err) { // the tenant reference is the only foreign key
			return errkind.Errorf(op, errkind.NotFound, "no tenant %q", u.TenantID)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		if err := s.bumpAppRev(ctx, tx, u.ID, changes); err != nil {
			return err
		}
		out = u
		operation := "user.update"
		if c, ok := changes["active"]; ok && len(changes) == 1 {
			operation = map[bool]string{true: "user.reactivate", false: "user.deactivate"}[c.New.(bool)]
		}
		if err := s.audit(ctx, tx, tenantID, operation, "User", id, changes); err != nil {
			return err
		}
		if err := s.queueMail(ctx, tx, &old, u, opts); err != nil {
			return err
		}
		return s.emitUserUpdate(ctx, tx, old, u)
	})
	return out, err
}

// emitUserUpdate emits the events of a user write: user.deactivated or
// user.reactivated when active changed, and user.updated when anything else did. Both
// carry the user as it is after the write; each one's previous lists its own part.
func (s *sqlStore) emitUserUpdate(ctx context.Context, tx *sqlx.Tx, old, u User) error {
	before, after := UserResource(old), UserResource(u)
	if old.Active != u.Active {
		typ := event.UserDeactivated
		if u.Active {
			typ = event.UserReactivated
		}
		if err := s.emit(ctx, tx, typ, u.TenantID, after, map[string]any{"active": old.Active}); err != nil {
			return err
		}
	}
	return s.emitDiff(ctx, tx, event.UserUpdated, u.TenantID, before, after, "active")
}

func (s *sqlStore) DeleteUser(ctx context.Context, tenantID, id string) error {
	const op = "appstore.DeleteUser"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		u, err := s.getUser(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		now := s.micros()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET deleted_at = ?, version = version + 1, updated_at = ? WHERE id = ?`), now, now, id); err != nil {
			return s.wrap(op, err)
		}
		display := u.DisplayName()
		if display == "" {
			display = u.UserName
		}
		if err := s.dropMember(ctx, tx, tenantID, Member{Value: id, Type: "User", Display: display}, now); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, tenantID, "user.delete", "User", id, map[string]Change{"userName": {Old: u.UserName}}); err != nil {
			return err
		}
		return s.emit(ctx, tx, event.UserDeleted, tenantID, UserResource(u), nil)
	})
}

// dropMember removes m from every group, bumping those groups' versions, and emits a
// group.member_removed for each of them.
func (s *sqlStore) dropMember(ctx context.Context, tx *sqlx.Tx, tenantID string, m Member, now int64) error {
	const op = "appstore.dropMember"
	var groupIDs []string
	if err := tx.SelectContext(ctx, &groupIDs, s.q(`SELECT group_id FROM group_members WHERE member_id = ? ORDER BY group_id`), m.Value); err != nil {
		return s.wrap(op, err)
	}
	if len(groupIDs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE groups SET version = version + 1, updated_at = ? WHERE id IN (SELECT group_id FROM group_members WHERE member_id = ?)`), now, m.Value); err != nil {
		return s.wrap(op, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM group_members WHERE member_id = ?`), m.Value); err != nil {
		return s.wrap(op, err)
	}
	// The groups as they are now, with their member counts, in one query per 500.
	for start := 0; start < len(groupIDs); start += 500 {
		chunk := groupIDs[start:min(start+500, len(groupIDs))]
		args := withIDs(chunk, tenantID)
		var rows []struct {
			groupRow
			Members int `db:"member_count"`
		}
		if err := tx.SelectContext(ctx, &rows, s.q(`SELECT `+groupCols+`, (SELECT count(*) FROM group_members gm WHERE gm.group_id = groups.id) AS member_count
			FROM groups WHERE groups.tenant_id = ? AND groups.id IN (`+placeholders(len(chunk))+`) ORDER BY groups.id`), args...); err != nil {
			return s.wrap(op, err)
		}
		if len(rows) != len(chunk) {
			return errkind.Errorf(op, errkind.NotFound, "a group of member %q is not in tenant %q", m.Value, tenantID)
		}
		for _, r := range rows {
			if err := s.emit(ctx, tx, event.GroupMemberRemoved, tenantID, event.Membership{Group: GroupResource(r.group(), r.Members), Member: MemberResource(m)}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *sqlStore) ListUsers(ctx context.Context, tenantID string, q Query) (Page[User], error) {
	res, err := s.userResource(ctx, s.rdb, tenantID)
	if err != nil {
		return Page[User]{}, err
	}
	b := &sqlBuilder{d: s.d, res: res, table: "users"}
	where, args, q := listWhere("users", tenantID, q)
	total, rows, err := listRows[userRow](ctx, s, "appstore.ListUsers", tenantID, b, userCols, where, args, q)
	page := Page[User]{Total: total}
	if err != nil || rows == nil {
		return page, err
	}
	page.Items = make([]User, 0, len(rows))
	for _, r := range rows {
		u, err := r.user()
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, u)
	}
	return page, nil
}

// listRows runs a listing of b's table: the count of every row matching where and q's
// conditions (unless q.NoTotal; from q.After on when it is set), then the page of rows
// that q asks for, in q's order. rows is nil when no page is wanted (count=0, or
// startIndex past the end).
func listRows[R any](ctx context.Context, s *sqlStore, op, tenantID string, b *sqlBuilder, cols, where string, args []any, q Query) (total int, rows []R, err error) {
	count, page, args, err := listSQL(b, cols, where, args, q)
	if err != nil {
		return 0, nil, errkind.E(op, errkind.Invalid, err.Error(), nil)
	}
	if heavy(q.Filter, b.cost) {
		release, err := s.heavy.enter(ctx, tenantID)
		if err != nil {
			return 0, nil, s.wrap(op, err)
		}
		defer release()
	}
	total = -1
	if !q.NoTotal {
		if err := s.rdb.GetContext(ctx, &total, s.q(count), args...); err != nil {
			return 0, nil, s.wrap(op, err)
		}
	}
	limit, offset, ok := pageBounds(q, total)
	if !ok {
		return total, nil, nil
	}
	rows = []R{}
	if err := s.rdb.SelectContext(ctx, &rows, s.q(page), append(args, limit, offset)...); err != nil {
		return total, nil, s.wrap(op, err)
	}
	return total, rows, nil
}

// listSQL renders a listing's two queries: the count of matches, and the page, which
// takes the LIMIT and OFFSET as its last two arguments after args.
func listSQL(b *sqlBuilder, cols, where string, args []any, q Query) (count, page string, _ []any, err error) {
	if q.Filter != nil {
		cond, err := b.expr(q.Filter)
		if err != nil {
			return "", "", nil, err
		}
		if b.cost > MaxFilterCost {
			return "", "", nil, fmt.Errorf("the filter is too costly to run (cost %d, limit %d: each comparison costs 1, 2 on an attribute stored as JSON, and each multi-valued attribute searched 6 more); split it into several requests",
				b.cost, MaxFilterCost)
		}
		where += " AND " + cond
		args = append(args, b.args...)
	}
	where, args, err = narrow(b.table, where, args, q)
	if err != nil {
		return "", "", nil, err
	}
	order, err := b.orderBy(q.SortBy, q.SortDesc)
	if err != nil {
		return "", "", nil, err
	}
	count = `SELECT count(*) FROM ` + b.table + ` WHERE ` + where
	page = `SELECT ` + cols + ` FROM ` + b.table + ` WHERE ` + where + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	return count, page, args, nil
}

// narrow adds q's listing conditions other than the filter to where: source, active,
// group membership, last update, and the keyset position.
func narrow(t, where string, args []any, q Query) (string, []any, error) {
	if q.Source != "" {
		where += " AND " + t + ".source = ?"
		args = append(args, q.Source)
	}
	if (q.Active != nil || q.MemberOf != "") && t != "users" {
		return "", nil, fmt.Errorf("only users can be selected by active state or group")
	}
	if q.Active != nil {
		where += " AND users.active = ?"
		args = append(args, *q.Active)
	}
	if q.MemberOf != "" {
		where += " AND users.id IN (SELECT member_id FROM group_members WHERE group_id = ?)"
		args = append(args, q.MemberOf)
	}
	if !q.UpdatedSince.IsZero() {
		where += " AND " + t + ".updated_at >= ?"
		args = append(args, q.UpdatedSince.UnixMicro())
	}
	if q.After != nil {
		if q.SortBy != "" {
			return "", nil, fmt.Errorf("a cursor pages in creation order only, not with sortBy")
		}
		at := q.After.Created.UnixMicro()
		where += " AND (" + t + ".created_at > ? OR (" + t + ".created_at = ? AND " + t + ".id > ?))"
		args = append(args, at, at, q.After.ID)
	}
	return where, args, nil
}

// pageBounds turns a 1-based StartIndex and Count into LIMIT and OFFSET; ok is false when
// no rows are wanted.
func pageBounds(q Query, total int) (limit, offset int, ok bool) {
	start := q.StartIndex
	if start < 1 {
		start = 1
	}
	if q.Count == 0 || (total >= 0 && start > total) {
		return 0, 0, false
	}
	limit = q.Count
	if limit < 0 {
		limit = total
		if total < 0 { // not counted: no bound
			limit = math.MaxInt32
		}
	}
	return limit, start - 1, true
}

func (s *sqlStore) UserGroups(ctx context.Context, tenantID string, userIDs []string) (map[string][]GroupRef, error) {
	out := map[string][]GroupRef{}
	for len(userIDs) > 0 {
		chunk := userIDs
		if len(chunk) > 500 {
			chunk = chunk[:500]
		}
		userIDs = userIDs[len(chunk):]
		args := withIDs(chunk, tenantID)
		var rows []struct {
			MemberID    string `db:"member_id"`
			ID          string `db:"id"`
			DisplayName string `db:"display_name"`
		}
		query := s.q(`SELECT gm.member_id, g.id, g.display_name FROM ` + s.d.memberGroups() + `
			WHERE g.tenant_id = ? AND gm.member_id IN (` + placeholders(len(chunk)) + `) ORDER BY g.display_name_key, g.id`)
		var err error
		if len(chunk) == 1 { // a single user's groups, after every write: parsed once
			var st *sqlx.Stmt
			if st, err = s.prepared(ctx, s.rdb, query); err == nil {
				err = st.SelectContext(ctx, &rows, args...)
			}
		} else {
			err = s.rdb.SelectContext(ctx, &rows, query, args...)
		}
		if err != nil {
			return nil, s.wrap("appstore.UserGroups", err)
		}
		for _, r := range rows {
			out[r.MemberID] = append(out[r.MemberID], GroupRef{ID: r.ID, DisplayName: r.DisplayName})
		}
	}
	return out, nil
}

// deepCopyMap copies a JSON-shaped value so that fn cannot alias the stored original.
func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}
