package appstore

import (
	"context"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
)

// BulkUser is a user for BulkInsertUsers, with the sync state to give it.
type BulkUser struct {
	User
	// Snapshot, when not nil, is stored as the user's sync snapshot.
	Snapshot map[string]any
}

// BulkInsertUsers stores many users in one transaction with multi-row INSERTs, without
// audit events, uniqueness pre-checks or attribute canonicalisation, and marks them
// synchronised (synced_rev = app_rev = 0). It exists to seed benchmarks and large tests
// quickly; the program itself never calls it.
func BulkInsertUsers(ctx context.Context, s Store, users []BulkUser) error {
	const op = "appstore.BulkInsertUsers"
	ss, ok := s.(*sqlStore)
	if !ok {
		return errkind.Errorf(op, errkind.Invalid, "not an SQL store")
	}
	now := ss.micros()
	const per = 500 // rows per statement: 13 values each stays under both backends' limits
	return ss.inTx(ctx, op, func(tx *sqlx.Tx) error {
		for start := 0; start < len(users); start += per {
			chunk := users[start:min(start+per, len(users))]
			var args, sargs []any
			nstate := 0
			for i := range chunk {
				u := &chunk[i].User
				if u.ID == "" {
					u.ID = uuid.NewString()
				}
				if u.Source == "" {
					u.Source = SourceApp
				}
				attrs, err := marshalJSON(cleanAttrs(u.Attrs))
				if err != nil {
					return err
				}
				args = append(args, u.ID, u.TenantID, u.UserName, normalizeKey(u.UserName), nullString(u.ExternalID), u.Active,
					u.DisplayName(), normalizeKey(u.PrimaryEmail()), attrs, u.Source, nullString(u.OktaUserID), now, now)
				if chunk[i].Snapshot != nil {
					snap, err := marshalJSON(chunk[i].Snapshot)
					if err != nil {
						return err
					}
					sargs = append(sargs, u.ID, u.TenantID, u.OktaUserID, snap, now)
					nstate++
				}
			}
			rows := ""
			for i := range chunk {
				if i > 0 {
					rows += ", "
				}
				rows += "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0, 0, '[]')"
			}
			if _, err := tx.ExecContext(ctx, ss.q(`INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, active, display_name, email, attrs, source, okta_user_id, version, created_at, updated_at, app_rev, synced_rev, app_changed) VALUES `+rows), args...); err != nil {
				return ss.wrap(op, err)
			}
			if nstate > 0 {
				rows = ""
				for i := 0; i < nstate; i++ {
					if i > 0 {
						rows += ", "
					}
					rows += "(?, ?, ?, ?, 'ACTIVE', ?)"
				}
				if _, err := tx.ExecContext(ctx, ss.q(`INSERT INTO sync_state (user_id, tenant_id, okta_user_id, snapshot, okta_status, updated_at) VALUES `+rows), sargs...); err != nil {
					return ss.wrap(op, err)
				}
			}
		}
		return nil
	})
}
