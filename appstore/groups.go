package appstore

import (
	"context"
	"database/sql"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
	"github.com/oktasync/oktasync/scimschema"
)

type groupRow struct {
	ID               string         `db:"id"`
	TenantID         string         `db:"tenant_id"`
	DisplayName      string         `db:"display_name"`
	ExternalID       sql.NullString `db:"external_id"`
	Source           string         `db:"source"`
	SourceCredential string         `db:"source_credential"`
	Version          int64          `db:"version"`
	CreatedAt        int64          `db:"created_at"`
	UpdatedAt        int64          `db:"updated_at"`
}

const groupCols = `groups.id, groups.tenant_id, groups.display_name, groups.external_id, groups.source, groups.source_credential, groups.version, groups.created_at, groups.updated_at`

func (r groupRow) group() Group {
	return Group{ID: r.ID, TenantID: r.TenantID, DisplayName: r.DisplayName, ExternalID: r.ExternalID.String,
		Source: r.Source, SourceCredential: r.SourceCredential, Version: r.Version,
		Created: fromMicros(r.CreatedAt), Updated: fromMicros(r.UpdatedAt)}
}

func groupNameTaken(op, name string) error {
	return errkind.Errorf(op, errkind.Conflict, "a group named %q already exists", name)
}

func validateGroup(op string, g *Group) error {
	g.DisplayName = strings.TrimSpace(g.DisplayName)
	if g.DisplayName == "" {
		return errkind.Errorf(op, errkind.Invalid, "displayName is required")
	}
	if err := checkIndexed(op, "displayName", g.DisplayName); err != nil {
		return err
	}
	if err := checkIndexed(op, "externalId", g.ExternalID); err != nil {
		return err
	}
	if g.Source == "" {
		g.Source = SourceApp
	}
	// Members are a set keyed by id; the last mention of an id wins.
	seen := map[string]int{}
	var out []Member
	for _, m := range g.Members {
		m.Value = strings.TrimSpace(m.Value)
		if m.Value == "" {
			return errkind.Errorf(op, errkind.Invalid, "a member has no value")
		}
		if err := checkIndexed(op, "a member's value", m.Value); err != nil {
			return err
		}
		if err := checkText(op, "a member's display", m.storedDisplay()); err != nil {
			return err
		}
		if m.Type == "" {
			m.Type = "User"
		}
		switch strings.ToLower(m.Type) {
		case "user":
			m.Type = "User"
		case "group":
			m.Type = "Group"
		default:
			return errkind.Errorf(op, errkind.Invalid, "member %q has type %q: want User or Group", m.Value, m.Type)
		}
		if i, ok := seen[m.Value]; ok {
			out[i] = m
			continue
		}
		seen[m.Value] = len(out)
		out = append(out, m)
	}
	g.Members = out
	return nil
}

// checkMembers verifies that every member exists in the tenant, as the type says. The
// rows are read with a share lock: under READ COMMITTED a user or group deleted between
// this check and the commit would otherwise be left a member for good. With the lock a
// concurrent delete either waits for this transaction (and then removes the new
// membership) or commits first, and the re-checked row no longer qualifies.
func (s *sqlStore) checkMembers(ctx context.Context, tx *sqlx.Tx, tenantID, groupID string, members []Member) error {
	const op = "appstore.checkMembers"
	byType := map[string][]string{}
	for _, m := range members {
		if m.Type == "Group" && m.Value == groupID {
			return errkind.Errorf(op, errkind.Invalid, "a group cannot be a member of itself")
		}
		byType[m.Type] = append(byType[m.Type], m.Value)
	}
	for typ, ids := range byType {
		table, extra := "users", " AND deleted_at IS NULL"
		if typ == "Group" {
			table, extra = "groups", ""
		}
		found := map[string]bool{}
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := withIDs(chunk, tenantID)
			var got []string
			if err := tx.SelectContext(ctx, &got, s.q(`SELECT id FROM `+table+` WHERE tenant_id = ?`+extra+` AND id IN (`+placeholders(len(chunk))+`)`+s.d.forShare()), args...); err != nil {
				return s.wrap(op, err)
			}
			for _, id := range got {
				found[id] = true
			}
		}
		for _, id := range ids {
			if !found[id] {
				return errkind.Errorf(op, errkind.Invalid, "member %q is not a %s in this tenant", id, strings.ToLower(typ))
			}
		}
	}
	return nil
}

func (s *sqlStore) insertMembers(ctx context.Context, tx *sqlx.Tx, groupID string, members []Member) error {
	for start := 0; start < len(members); start += 300 {
		chunk := members[start:min(start+300, len(members))]
		args := make([]any, 0, 4*len(chunk))
		vals := make([]string, 0, len(chunk))
		for _, m := range chunk {
			vals = append(vals, "(?, ?, ?, ?)")
			args = append(args, groupID, m.Value, m.Type, m.storedDisplay())
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO group_members (group_id, member_id, member_type, display) VALUES `+strings.Join(vals, ", ")), args...); err != nil {
			return s.wrap("appstore.insertMembers", err)
		}
	}
	return nil
}

func memberIDs(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Value
	}
	sort.Strings(out)
	return out
}

func (s *sqlStore) CreateGroup(ctx context.Context, g Group) (Group, error) {
	const op = "appstore.CreateGroup"
	if err := validateGroup(op, &g); err != nil {
		return Group{}, err
	}
	g.ID = uuid.NewString()
	g.Version = 1
	now := s.micros()
	g.Created, g.Updated = fromMicros(now), fromMicros(now)
	var out Group
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		if _, err := s.getTenant(ctx, tx, g.TenantID, false); err != nil {
			return err
		}
		if err := s.checkMembers(ctx, tx, g.TenantID, g.ID, g.Members); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO groups (id, tenant_id, display_name, display_name_key, external_id, source, source_credential, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			g.ID, g.TenantID, g.DisplayName, normalizeKey(g.DisplayName), nullString(g.ExternalID), g.Source, g.SourceCredential, g.Version, now, now)
		if s.d.isUnique(err) {
			return groupNameTaken(op, g.DisplayName)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		if err := s.insertMembers(ctx, tx, g.ID, g.Members); err != nil {
			return err
		}
		ch := map[string]Change{"displayName": {New: g.DisplayName}}
		if len(g.Members) > 0 {
			ch["members"] = Change{New: memberIDs(g.Members)}
		}
		if g.ExternalID != "" {
			ch["externalId"] = Change{New: g.ExternalID}
		}
		if err := s.audit(ctx, tx, g.TenantID, "group.create", "Group", g.ID, ch); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, event.GroupCreated, g.TenantID, GroupResource(g, 0), nil); err != nil {
			return err
		}
		if len(g.Members) == 0 {
			out, out.Members = g, []Member{}
			return nil
		}
		// Read inside the write, the displays serve both the events and the reply.
		if out, err = s.withDisplays(ctx, tx, g); err != nil {
			return err
		}
		return s.emitMembers(ctx, tx, event.GroupMemberAdded, out, out.Members)
	})
	if err != nil {
		return Group{}, err
	}
	return out, nil
}

// withDisplays fills in member display names.
func (s *sqlStore) withDisplays(ctx context.Context, q sqlx.QueryerContext, g Group) (Group, error) {
	ms, err := s.members(ctx, q, []string{g.ID})
	if err != nil {
		return g, err
	}
	g.Members = ms[g.ID]
	if g.Members == nil {
		g.Members = []Member{}
	}
	return g, nil
}

// membersWithNames is group_members gm with what a member's display is derived from:
// derivedDisplay, the user's displayName or userName, or the group's displayName.
const (
	membersWithNames = `FROM group_members gm
		LEFT JOIN users u ON gm.member_type = 'User' AND u.id = gm.member_id
		LEFT JOIN groups g2 ON gm.member_type = 'Group' AND g2.id = gm.member_id`
	derivedDisplay = `COALESCE(NULLIF(u.display_name, ''), u.user_name, g2.display_name, '')`
)

// resolveDisplays is withDisplays for g as UpdateGroup just wrote it over old, whose
// members were read with their displays: a member whose display was sent keeps it, one
// that kept a derived display keeps old's, and only the others (added, or whose sent
// display was dropped) are read, so that a large group's update does not read every
// member again.
func (s *sqlStore) resolveDisplays(ctx context.Context, tx *sqlx.Tx, old, g Group) (Group, error) {
	oldByID := make(map[string]Member, len(old.Members))
	for _, m := range old.Members {
		oldByID[m.Value] = m
	}
	members := make([]Member, len(g.Members))
	var unknown []string
	for i, m := range g.Members {
		switch om, ok := oldByID[m.Value]; {
		case m.storedDisplay() != "":
			m.DisplayDerived = false
		case ok && om.Type == m.Type && om.DisplayDerived:
			m.Display, m.DisplayDerived = om.Display, true
		default:
			unknown = append(unknown, m.Value)
		}
		members[i] = m
	}
	if len(unknown) > 0 {
		derived := map[string]string{}
		for start := 0; start < len(unknown); start += 500 {
			chunk := unknown[start:min(start+500, len(unknown))]
			var rows []struct {
				ID      string `db:"member_id"`
				Derived string `db:"derived"`
			}
			if err := tx.SelectContext(ctx, &rows, s.q(`SELECT gm.member_id, `+derivedDisplay+` AS derived `+membersWithNames+`
				WHERE gm.group_id = ? AND gm.member_id IN (`+placeholders(len(chunk))+`)`), withIDs(chunk, g.ID)...); err != nil {
				return g, s.wrap("appstore.members", err)
			}
			for _, r := range rows {
				derived[r.ID] = r.Derived
			}
		}
		for i := range members {
			if members[i].storedDisplay() == "" && !members[i].DisplayDerived {
				members[i].Display, members[i].DisplayDerived = derived[members[i].Value], true
			}
		}
	}
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.Value, b.Value) })
	g.Members = members
	return g, nil
}

// members loads the members of the given groups, with display names, in a stable order.
func (s *sqlStore) members(ctx context.Context, q sqlx.QueryerContext, groupIDs []string) (map[string][]Member, error) {
	out := map[string][]Member{}
	for start := 0; start < len(groupIDs); start += 500 {
		chunk := groupIDs[start:min(start+500, len(groupIDs))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		var rows []struct {
			GroupID string `db:"group_id"`
			ID      string `db:"member_id"`
			Type    string `db:"member_type"`
			Sent    string `db:"display"`
			Derived string `db:"derived"`
		}
		err := sqlx.SelectContext(ctx, q, &rows, s.q(`SELECT gm.group_id, gm.member_id, gm.member_type, gm.display, `+derivedDisplay+` AS derived
			`+membersWithNames+` WHERE gm.group_id IN (`+placeholders(len(chunk))+`) ORDER BY gm.group_id, gm.member_id`), args...)
		if err != nil {
			return nil, s.wrap("appstore.members", err)
		}
		for _, r := range rows {
			m := Member{Value: r.ID, Type: r.Type, Display: r.Sent}
			if m.Display == "" {
				m.Display, m.DisplayDerived = r.Derived, true
			}
			out[r.GroupID] = append(out[r.GroupID], m)
		}
	}
	return out, nil
}

func (s *sqlStore) getGroup(ctx context.Context, q sqlx.QueryerContext, tenantID, id string, lock bool) (Group, error) {
	var r groupRow
	query := `SELECT ` + groupCols + ` FROM groups WHERE id = ?` // by primary key; see getUser
	if lock {
		query += s.d.forUpdate()
	}
	err := sql.ErrNoRows
	if lookupable(id) {
		err = sqlx.GetContext(ctx, q, &r, s.q(query), id)
	}
	if err == nil && r.TenantID != tenantID {
		err = sql.ErrNoRows
	}
	if err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return Group{}, errkind.Errorf("appstore.GetGroup", errkind.NotFound, "no group %q", id)
		}
		return Group{}, s.wrap("appstore.GetGroup", err)
	}
	return r.group(), nil
}

func (s *sqlStore) GetGroup(ctx context.Context, tenantID, id string, withMembers bool) (Group, error) {
	g, err := s.getGroup(ctx, s.rdb, tenantID, id, false)
	if err != nil || !withMembers {
		return g, err
	}
	return s.withDisplays(ctx, s.rdb, g)
}

func (s *sqlStore) UpdateGroup(ctx context.Context, tenantID, id string, fn func(*Group) error) (Group, error) {
	const op = "appstore.UpdateGroup"
	var out Group
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		old, err := s.getGroup(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if old, err = s.withDisplays(ctx, tx, old); err != nil {
			return err
		}
		g := old
		g.Members = append([]Member(nil), old.Members...)
		if err := fn(&g); err != nil {
			return err
		}
		g.ID, g.TenantID, g.Created, g.Version = old.ID, old.TenantID, old.Created, old.Version
		if err := validateGroup(op, &g); err != nil {
			return err
		}
		oldSet := map[string]Member{}
		for _, m := range old.Members {
			oldSet[m.Value] = m
		}
		newSet := map[string]bool{}
		var added, redisplayed []Member
		var removed []string
		for _, m := range g.Members {
			newSet[m.Value] = true
			om, ok := oldSet[m.Value]
			switch {
			case !ok || om.Type != m.Type:
				added = append(added, m)
			case om.storedDisplay() != m.storedDisplay():
				redisplayed = append(redisplayed, m)
			}
		}
		for _, m := range old.Members {
			if !newSet[m.Value] {
				removed = append(removed, m.Value)
			}
		}
		ch := map[string]Change{}
		if g.DisplayName != old.DisplayName {
			ch["displayName"] = Change{Old: old.DisplayName, New: g.DisplayName}
		}
		if g.ExternalID != old.ExternalID {
			ch["externalId"] = Change{Old: old.ExternalID, New: g.ExternalID}
		}
		if len(added) > 0 {
			ch["members.added"] = Change{New: memberIDs(added)}
		}
		if len(removed) > 0 {
			sort.Strings(removed)
			ch["members.removed"] = Change{Old: removed}
		}
		if len(redisplayed) > 0 {
			ch["members.display"] = Change{New: memberIDs(redisplayed)}
		}
		if len(ch) == 0 && g.Source == old.Source && g.SourceCredential == old.SourceCredential {
			out = old
			return nil
		}
		if err := s.checkMembers(ctx, tx, tenantID, id, added); err != nil {
			return err
		}
		g.Version = old.Version + 1
		g.Updated = fromMicros(s.micros())
		_, err = tx.ExecContext(ctx, s.q(`UPDATE groups SET display_name = ?, display_name_key = ?, external_id = ?, source = ?, source_credential = ?, version = ?, updated_at = ? WHERE id = ?`),
			g.DisplayName, normalizeKey(g.DisplayName), nullString(g.ExternalID), g.Source, g.SourceCredential, g.Version, g.Updated.UnixMicro(), id)
		if s.d.isUnique(err) {
			return groupNameTaken(op, g.DisplayName)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		for start := 0; start < len(removed); start += 500 {
			chunk := removed[start:min(start+500, len(removed))]
			args := []any{id}
			for _, r := range chunk {
				args = append(args, r)
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM group_members WHERE group_id = ? AND member_id IN (`+placeholders(len(chunk))+`)`), args...); err != nil {
				return s.wrap(op, err)
			}
		}
		var fresh []Member
		for _, m := range added {
			if _, ok := oldSet[m.Value]; ok { // type changed: replace the row
				if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM group_members WHERE group_id = ? AND member_id = ?`), id, m.Value); err != nil {
					return s.wrap(op, err)
				}
			}
			fresh = append(fresh, m)
		}
		if err := s.insertMembers(ctx, tx, id, fresh); err != nil {
			return err
		}
		for _, m := range redisplayed {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE group_members SET display = ? WHERE group_id = ? AND member_id = ?`), m.storedDisplay(), id, m.Value); err != nil {
				return s.wrap(op, err)
			}
		}
		if g, err = s.resolveDisplays(ctx, tx, old, g); err != nil {
			return err
		}
		out = g
		if err := s.audit(ctx, tx, tenantID, "group.update", "Group", id, ch); err != nil {
			return err
		}
		return s.emitGroupUpdate(ctx, tx, old, g, removed, added, len(redisplayed) > 0)
	})
	return out, err
}

// emitGroupUpdate emits group.updated when the group's own fields changed, or when only
// members' displays did (with an empty previous: no field of the group itself changed),
// then one group.member_removed per member gone and one group.member_added per member
// added.
func (s *sqlStore) emitGroupUpdate(ctx context.Context, tx *sqlx.Tx, old, g Group, removed []string, added []Member, redisplayed bool) error {
	prev, err := event.Diff(GroupResource(old, 0), GroupResource(g, 0))
	if err != nil {
		return errkind.E("appstore.emit", errkind.Permanent, "comparing event data", err)
	}
	delete(prev, "memberCount")
	if len(prev) > 0 || redisplayed {
		if err := s.emit(ctx, tx, event.GroupUpdated, g.TenantID, GroupResource(g, 0), prev); err != nil {
			return err
		}
	}
	oldByID := map[string]Member{}
	for _, m := range old.Members {
		oldByID[m.Value] = m
	}
	gone := make([]Member, 0, len(removed))
	for _, id := range removed {
		gone = append(gone, oldByID[id])
	}
	for _, m := range added { // a member whose type changed was removed as the old type
		if om, ok := oldByID[m.Value]; ok {
			gone = append(gone, om)
		}
	}
	if err := s.emitMembers(ctx, tx, event.GroupMemberRemoved, g, gone); err != nil {
		return err
	}
	newByID := map[string]Member{}
	for _, m := range g.Members {
		newByID[m.Value] = m
	}
	in := make([]Member, 0, len(added))
	for _, m := range added {
		in = append(in, newByID[m.Value])
	}
	return s.emitMembers(ctx, tx, event.GroupMemberAdded, g, in)
}

// emitMembers emits one membership event of type typ per member, each carrying g as it
// is after the write.
func (s *sqlStore) emitMembers(ctx context.Context, tx *sqlx.Tx, typ string, g Group, members []Member) error {
	res := GroupResource(g, 0)
	for _, m := range members {
		if err := s.emit(ctx, tx, typ, g.TenantID, event.Membership{Group: res, Member: MemberResource(m)}, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) DeleteGroup(ctx context.Context, tenantID, id string) error {
	const op = "appstore.DeleteGroup"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		g, err := s.getGroup(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		now := s.micros()
		var n int
		if err := tx.GetContext(ctx, &n, s.q(`SELECT count(*) FROM group_members WHERE group_id = ?`), id); err != nil {
			return s.wrap(op, err)
		}
		if err := s.dropMember(ctx, tx, tenantID, Member{Value: id, Type: "Group", Display: g.DisplayName}, now); err != nil { // as a member of other groups
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM group_members WHERE group_id = ?`), id); err != nil {
			return s.wrap(op, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM groups WHERE id = ?`), id); err != nil {
			return s.wrap(op, err)
		}
		if err := s.audit(ctx, tx, tenantID, "group.delete", "Group", id, map[string]Change{"displayName": {Old: g.DisplayName}}); err != nil {
			return err
		}
		return s.emit(ctx, tx, event.GroupDeleted, tenantID, GroupResource(g, n), nil)
	})
}

func (s *sqlStore) ListGroups(ctx context.Context, tenantID string, q Query) (Page[Group], error) {
	b := &sqlBuilder{d: s.d, res: scimschema.GroupResource(), table: "groups"}
	where, args, q := listWhere("groups", tenantID, q)
	total, rows, err := listRows[groupRow](ctx, s, "appstore.ListGroups", tenantID, b, groupCols, where, args, q)
	page := Page[Group]{Total: total}
	if err != nil || rows == nil {
		return page, err
	}
	page.Items = make([]Group, 0, len(rows))
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		page.Items = append(page.Items, r.group())
		ids = append(ids, r.ID)
	}
	if q.WithMembers && len(ids) > 0 {
		ms, err := s.members(ctx, s.rdb, ids)
		if err != nil {
			return page, err
		}
		for i := range page.Items {
			page.Items[i].Members = ms[page.Items[i].ID]
			if page.Items[i].Members == nil {
				page.Items[i].Members = []Member{}
			}
		}
	}
	return page, nil
}

// MemberCounts returns how many direct members each of the given groups has.
func (s *sqlStore) MemberCounts(ctx context.Context, tenantID string, groupIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(groupIDs))
	for start := 0; start < len(groupIDs); start += 500 {
		chunk := groupIDs[start:min(start+500, len(groupIDs))]
		args := withIDs(chunk, tenantID)
		var rows []struct {
			GroupID string `db:"group_id"`
			N       int    `db:"n"`
		}
		if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT gm.group_id, count(*) AS n FROM group_members gm JOIN groups g ON g.id = gm.group_id
			WHERE g.tenant_id = ? AND gm.group_id IN (`+placeholders(len(chunk))+`) GROUP BY gm.group_id`), args...); err != nil {
			return nil, s.wrap("appstore.MemberCounts", err)
		}
		for _, r := range rows {
			out[r.GroupID] = r.N
		}
	}
	return out, nil
}

// ListMembers returns up to limit members of a group whose ids sort after afterID, in
// member id order, so that paging stays stable while members come and go.
func (s *sqlStore) ListMembers(ctx context.Context, tenantID, groupID, afterID string, limit int) ([]Member, error) {
	const op = "appstore.ListMembers"
	if _, err := s.getGroup(ctx, s.db, tenantID, groupID, false); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	var rows []struct {
		ID      string `db:"member_id"`
		Type    string `db:"member_type"`
		Display string `db:"display"`
	}
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT gm.member_id, gm.member_type,
			COALESCE(NULLIF(u.display_name, ''), u.user_name, g2.display_name, '') AS display
		FROM group_members gm
		LEFT JOIN users u ON gm.member_type = 'User' AND u.id = gm.member_id
		LEFT JOIN groups g2 ON gm.member_type = 'Group' AND g2.id = gm.member_id
		WHERE gm.group_id = ? AND gm.member_id > ? ORDER BY gm.member_id LIMIT ?`), groupID, afterID, limit); err != nil {
		return nil, s.wrap(op, err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = Member{Value: r.ID, Type: r.Type, Display: r.Display}
	}
	return out, nil
}
