package appstore

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// stmtCache keeps prepared statements for the queries every SCIM request runs
// (authentication, the userName look-up, reading a user, the audit insert). Parsing SQL
// is a large share of a small query's cost, most of all on the embedded SQLite, so these
// are parsed once per connection instead of once per call.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// prepared returns a prepared statement for query (already rebound for the backend) on
// q: the database itself, or the transaction q when it is one. Statements are cached
// when first prepared outside a transaction. Inside one, a statement not yet cached is
// prepared on the transaction alone: preparing on the database would need a second
// connection, and SQLite's pool has only the one the transaction holds.
func (s *sqlStore) prepared(ctx context.Context, q sqlx.QueryerContext, query string) (*sqlx.Stmt, error) {
	tx, inTx := q.(*sqlx.Tx)
	cache, db := &s.stmts, s.db
	if q == sqlx.QueryerContext(s.rdb) && s.rdb != s.db {
		cache, db = &s.rstmts, s.rdb
	}
	cache.mu.Lock()
	st, ok := cache.stmts[query]
	cache.mu.Unlock()
	if ok {
		if inTx {
			return tx.StmtxContext(ctx, st), nil
		}
		return st, nil
	}
	if inTx {
		return tx.PreparexContext(ctx, query)
	}
	// Prepared without holding the lock: preparing waits for a connection, and on
	// SQLite's only writer a transaction may be waiting for the lock to find its own
	// statements.
	st, err := db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if have, ok := cache.stmts[query]; ok { // prepared meanwhile by another caller
		st.Close()
		return have, nil
	}
	if cache.stmts == nil {
		cache.stmts = map[string]*sqlx.Stmt{}
	}
	cache.stmts[query] = st
	return st, nil
}

// warmStatements prepares the statements that are otherwise only run inside
// transactions, so that those find them cached.
func (s *sqlStore) warmStatements(ctx context.Context) error {
	for _, q := range append([]string{auditInsert, userByID, userByID + s.d.forUpdate(), userInsert, userUpdate, tenantSettingsByID}, s.eventStatements()...) {
		if _, err := s.prepared(ctx, s.db, s.q(q)); err != nil {
			return err
		}
	}
	return nil
}

// closeStmts releases the cached statements.
func (s *sqlStore) closeStmts() {
	for _, c := range []*stmtCache{&s.stmts, &s.rstmts} {
		c.mu.Lock()
		for _, st := range c.stmts {
			st.Close()
		}
		c.stmts = nil
		c.mu.Unlock()
	}
}
