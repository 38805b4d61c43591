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
	s.stmts.mu.Lock()
	st, ok := s.stmts.stmts[query]
	s.stmts.mu.Unlock()
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
	// SQLite's only one a transaction may be waiting for the lock to find its own
	// statements.
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if have, ok := s.stmts.stmts[query]; ok { // prepared meanwhile by another caller
		st.Close()
		return have, nil
	}
	if s.stmts.stmts == nil {
		s.stmts.stmts = map[string]*sqlx.Stmt{}
	}
	s.stmts.stmts[query] = st
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
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for _, st := range s.stmts.stmts {
		st.Close()
	}
	s.stmts.stmts = nil
}
