//go:build !unix

package appstore

import "errors"

var errLocked = errors.New("locked by another process")

// lockFile is a no-op where flock is not available: the in-process lock alone guards
// the sync, as documented for SQLite.
func lockFile(path string) (func(), error) { return func() {}, nil }
