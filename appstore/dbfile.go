package appstore

import (
	"os"

	"github.com/oktasync/oktasync/errkind"
)

// dbFile is the SQLite database file a store opened. A file deleted or replaced under a
// running server keeps answering through the open descriptor, into an unlinked inode that
// is lost at the next restart; comparing the path's file with the opened one notices it.
type dbFile struct {
	path string
	info os.FileInfo // nil when there is no file to watch (PostgreSQL)
}

func openedFile(path string) (dbFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		return dbFile{}, err
	}
	return dbFile{path: path, info: info}, nil
}

// check is nil while path still names the opened file, and a Transient error (503 to a
// client, "not ready" to /readyz) that says what happened once it does not.
func (f dbFile) check() error {
	if f.info == nil {
		return nil
	}
	now, err := os.Stat(f.path)
	switch {
	case os.IsNotExist(err):
		return errkind.Errorf("appstore", errkind.Transient,
			"the SQLite database file %s was deleted while the server was running; writes are refused so that nothing more is lost: restore the file and restart", f.path)
	case err != nil:
		return errkind.E("appstore", errkind.Transient, "the SQLite database file "+f.path+" cannot be read", err)
	case !os.SameFile(f.info, now):
		return errkind.Errorf("appstore", errkind.Transient,
			"the SQLite database file %s was replaced by another file while the server was running; writes are refused: restart the server to use the new file", f.path)
	}
	return nil
}
