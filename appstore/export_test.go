package appstore

import "context"

// ExecForTest runs a statement directly, for tests that need to corrupt or age a database.
func ExecForTest(ctx context.Context, s Store, query string) error {
	_, err := s.(*sqlStore).db.ExecContext(ctx, query)
	return err
}
