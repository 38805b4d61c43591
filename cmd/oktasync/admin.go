package main

import (
	"context"
	"fmt"

	"github.com/oktasync/oktasync/appstore"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "migrate", "[flags]", "db")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	s, err := appstore.OpenNoMigrate(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := appstore.Migrate(ctx, s)
	if err != nil {
		return err
	}
	cur, _, err := appstore.SchemaVersion(ctx, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "applied %d migration(s); schema version %d (%s)\n", n, cur, s.Backend())
	return nil
}

func runVersion(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "version", "")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "oktasync %s (schema version %d)\n", version, appstore.LatestVersion())
	return nil
}
