package appstore

import (
	"errors"
	"strings"

	"github.com/lib/pq"
	"modernc.org/sqlite"
)

// dialect holds what differs between PostgreSQL and SQLite: row locking, JSON access,
// string functions and how a constraint violation is reported. Everything else is
// shared SQL written with ? placeholders and rebound by sqlx.
type dialect interface {
	name() string
	// forUpdate is appended to a SELECT that starts a read-modify-write.
	forUpdate() string
	// forShare is appended to a SELECT whose rows must not change or vanish before the
	// transaction commits (a reference about to be written to them).
	forShare() string
	// jsonText is the text of the JSON value at keys inside doc (NULL when absent).
	jsonText(doc string, keys ...string) string
	// jsonIs is a condition true when the JSON value at keys is the literal lit
	// ("true" or "false").
	jsonIs(doc, lit string, keys ...string) string
	// jsonNumber is the numeric value at keys inside doc.
	jsonNumber(doc string, keys ...string) string
	// jsonElements is a FROM item named alias that yields each element of the JSON
	// array at keys inside doc, with elemDoc(alias) the element as a JSON document and
	// elemText(alias) the element as text when it is a scalar.
	jsonElements(doc, alias string, keys ...string) string
	elemDoc(alias string) string
	elemText(alias string) string
	elemIs(alias, lit string) string
	elemNumber(alias string) string
	// contains, startsWith and endsWith are case-sensitive string tests of a against b.
	contains(a, b string) string
	startsWith(a, b string) string
	endsWith(a, b string) string
	// userNameKey is the condition selecting a tenant's user by normalised userName,
	// with its arguments.
	userNameKey(tenantID, key string) (string, []any)
	// groupRefs is a scalar subquery: the JSON array of [id, displayName] of the groups
	// the user row of table alias belongs to directly, ordered by displayName (NULL or
	// [] when none).
	groupRefs(alias string) string
	// memberGroups is the FROM clause of group_members gm joined to their groups g,
	// read by member (gm.member_id).
	memberGroups() string
	// isUnique reports whether err is a unique-constraint violation.
	isUnique(err error) bool
	// isForeignKey reports whether err is a foreign-key violation.
	isForeignKey(err error) bool
	// isBadText reports whether err refuses a string the backend cannot hold.
	isBadText(err error) bool
	// unavailable describes err when it says the database cannot serve now but may soon
	// (shutting down, starting, out of connections, a serialization failure or deadlock
	// to retry, its schema gone); "" otherwise.
	unavailable(err error) string
}

// quoteKey renders a JSON object key as an SQL string literal. Keys come from the schema
// (attribute names and schema URNs), never from request values; quotes are doubled all
// the same so that no key can end the literal.
func quoteKey(k string) string { return "'" + strings.ReplaceAll(k, "'", "''") + "'" }

type postgres struct{}

func (postgres) name() string      { return "postgres" }
func (postgres) forUpdate() string { return " FOR UPDATE" }
func (postgres) forShare() string  { return " FOR SHARE" }

func (postgres) jsonPath(doc string, keys []string, lastText bool) string {
	var b strings.Builder
	b.WriteString(doc)
	for i, k := range keys {
		if i == len(keys)-1 && lastText {
			b.WriteString("->>")
		} else {
			b.WriteString("->")
		}
		b.WriteString(quoteKey(k))
	}
	return b.String()
}
func (p postgres) jsonText(doc string, keys ...string) string {
	return "(" + p.jsonPath(doc, keys, true) + ")"
}
func (p postgres) jsonIs(doc, lit string, keys ...string) string {
	return "(" + p.jsonPath(doc, keys, false) + " = '" + lit + "'::jsonb)"
}
func (p postgres) jsonNumber(doc string, keys ...string) string {
	return "(CASE WHEN jsonb_typeof(" + p.jsonPath(doc, keys, false) + ") = 'number' THEN (" + p.jsonPath(doc, keys, true) + ")::numeric END)"
}
func (p postgres) jsonElements(doc, alias string, keys ...string) string {
	v := p.jsonPath(doc, keys, false)
	return "jsonb_array_elements(CASE WHEN jsonb_typeof(" + v + ") = 'array' THEN " + v + " ELSE '[]'::jsonb END) AS " + alias + "(v)"
}
func (postgres) elemDoc(alias string) string  { return alias + ".v" }
func (postgres) elemText(alias string) string { return "(" + alias + ".v #>> '{}')" }
func (postgres) elemIs(alias, lit string) string {
	return "(" + alias + ".v = '" + lit + "'::jsonb)"
}
func (postgres) contains(a, b string) string { return "(strpos(" + a + ", " + b + ") > 0)" }
func (postgres) startsWith(a, b string) string {
	return "(left(" + a + ", length(" + b + ")) = " + b + ")"
}
func (postgres) endsWith(a, b string) string {
	return "(right(" + a + ", length(" + b + ")) = " + b + ")"
}
func (postgres) isUnique(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23505"
}
func (postgres) isForeignKey(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23503"
}

type sqliteDialect struct{}

func (sqliteDialect) name() string      { return "sqlite" }
func (sqliteDialect) forUpdate() string { return "" } // write transactions start IMMEDIATE
func (sqliteDialect) forShare() string  { return "" } // likewise: no other writer can run

// path renders a JSON path such as $."urn:...:User"."department".
func (sqliteDialect) path(keys []string) string {
	var b strings.Builder
	b.WriteString("'$")
	for _, k := range keys {
		b.WriteString(`."`)
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(k, "'", "''"), `"`, ""))
		b.WriteString(`"`)
	}
	b.WriteString("'")
	return b.String()
}
func (s sqliteDialect) jsonText(doc string, keys ...string) string {
	return "(CASE WHEN json_type(" + doc + ", " + s.path(keys) + ") IN ('text','integer','real') THEN json_extract(" + doc + ", " + s.path(keys) + ") END)"
}
func (s sqliteDialect) jsonIs(doc, lit string, keys ...string) string {
	return "(json_type(" + doc + ", " + s.path(keys) + ") = '" + lit + "')"
}
func (s sqliteDialect) jsonNumber(doc string, keys ...string) string {
	return "(CASE WHEN json_type(" + doc + ", " + s.path(keys) + ") IN ('integer','real') THEN json_extract(" + doc + ", " + s.path(keys) + ") END)"
}
func (s sqliteDialect) jsonElements(doc, alias string, keys ...string) string {
	return "json_each(CASE WHEN json_type(" + doc + ", " + s.path(keys) + ") = 'array' THEN json_extract(" + doc + ", " + s.path(keys) + ") ELSE '[]' END) AS " + alias
}
func (sqliteDialect) elemDoc(alias string) string { return alias + ".value" }
func (sqliteDialect) elemText(alias string) string {
	return "(CASE WHEN " + alias + ".type IN ('text','integer','real') THEN " + alias + ".value END)"
}
func (sqliteDialect) elemIs(alias, lit string) string { return "(" + alias + ".type = '" + lit + "')" }
func (sqliteDialect) contains(a, b string) string     { return "(instr(" + a + ", " + b + ") > 0)" }
func (sqliteDialect) startsWith(a, b string) string {
	return "(substr(" + a + ", 1, length(" + b + ")) = " + b + ")"
}
func (sqliteDialect) endsWith(a, b string) string {
	return "(length(" + a + ") >= length(" + b + ") AND substr(" + a + ", length(" + a + ") - length(" + b + ") + 1) = " + b + ")"
}

// SQLite extended result codes for constraint violations.
const (
	sqliteConstraintUnique     = 2067
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintForeignKey = 787
)

func (sqliteDialect) isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPrimaryKey)
}
func (sqliteDialect) isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqliteConstraintForeignKey
}

func (postgres) elemNumber(alias string) string {
	return "(CASE WHEN jsonb_typeof(" + alias + ".v) = 'number' THEN (" + alias + ".v #>> '{}')::numeric END)"
}
func (sqliteDialect) elemNumber(alias string) string {
	return "(CASE WHEN " + alias + ".type IN ('integer','real') THEN " + alias + ".value END)"
}

func (postgres) isBadText(err error) bool {
	var pe *pq.Error
	// 22021 character_not_in_repertoire (NUL, invalid UTF-8 in text), 22P05
	// untranslatable_character (\u0000 in jsonb).
	return errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05")
}
func (sqliteDialect) isBadText(error) bool { return false }

// userNameKey matches the expression of the users_lookup index, which no other index
// serves: right after a bulk load, with no statistics yet, PostgreSQL otherwise takes any
// (tenant_id, ...) index for (tenant_id, user_name_key) and scans the tenant's users.
func (postgres) userNameKey(tenantID, key string) (string, []any) {
	return "(users.tenant_id || '/' || users.user_name_key) = ?", []any{tenantID + "/" + key}
}

// SQLite's planner takes a unique index matched on every column without statistics.
func (sqliteDialect) userNameKey(tenantID, key string) (string, []any) {
	return "users.tenant_id = ? AND users.user_name_key = ?", []any{tenantID, key}
}

func (d postgres) groupRefs(alias string) string {
	return `(SELECT json_agg(json_build_array(g.id, g.display_name) ORDER BY g.display_name_key, g.id)::text
		FROM ` + d.memberGroups() + ` WHERE gm.member_id = ` + alias + `.id AND g.tenant_id = ` + alias + `.tenant_id)`
}

func (d sqliteDialect) groupRefs(alias string) string {
	return `(SELECT json_group_array(json_array(x.id, x.display_name)) FROM (SELECT g.id, g.display_name
		FROM ` + d.memberGroups() + ` WHERE gm.member_id = ` + alias + `.id AND g.tenant_id = ` + alias + `.tenant_id
		ORDER BY g.display_name_key, g.id) x)`
}

func (postgres) memberGroups() string {
	return `group_members gm JOIN groups g ON g.id = gm.group_id`
}

// SQLite's planner, asked for the groups in display order, walks the tenant's groups
// by display name and probes each for the member: a cost that grows with the tenant's
// groups on every look-up. CROSS JOIN makes it start from the member's few rows.
func (sqliteDialect) memberGroups() string {
	return `group_members gm CROSS JOIN groups g ON g.id = gm.group_id`
}

func (postgres) unavailable(err error) string {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return ""
	}
	switch {
	case pe.Code.Class() == "08":
		return "database connection failed"
	case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03":
		return "database shutting down or starting up"
	case pe.Code == "53300":
		return "database has no free connections"
	case pe.Code == "57014":
		// query_canceled: the request's deadline passed (lib/pq cancels the query).
		return "query interrupted at the request's deadline"
	case pe.Code == "40001", pe.Code == "40P01":
		return "database write conflict; retry"
	case pe.Code == "42P01", pe.Code == "3F000":
		// The tables or the schema are gone (a database dropped and recreated): not
		// this request's fault, and /readyz says so until migrations run again.
		return "database schema missing"
	}
	return ""
}

func (sqliteDialect) unavailable(err error) string {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return ""
	}
	switch se.Code() & 0xff {
	case 10, 14: // SQLITE_IOERR, SQLITE_CANTOPEN
		return "database file unavailable"
	}
	return ""
}
