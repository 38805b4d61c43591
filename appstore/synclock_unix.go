//go:build unix

package appstore

import (
	"errors"
	"os"
	"syscall"
)

// errLocked reports a file lock held by another process.
var errLocked = errors.New("locked by another process")

// lockFile takes an exclusive lock on the file at path without waiting. The kernel
// drops it when the process dies, so a killed holder never blocks the next run.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
