package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/requestid"
	httpserver "github.com/oktasync/oktasync/server"
)

func runServe(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "serve", "[flags]", httpserver.Settings...)
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
	// Every line logged with a request's context carries its id.
	log := slog.New(requestid.Handler(cfg.Logger(e.stderr).Handler()))
	store, err := appstore.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (OKTASYNC_LISTEN): %w", cfg.Listen, err)
	}
	srv := httpserver.New(ctx, cfg, store, log, httpserver.Options{Version: version})
	secret, err := srv.Manager.Bootstrap(ctx)
	if err != nil {
		ln.Close()
		srv.Close()
		return err
	}
	if secret != "" {
		// A fresh install: print what to paste into Okta, once.
		fmt.Fprintf(e.stdout, `
oktasync is ready for Okta. In your Okta app's Provisioning > Integration settings use:

  SCIM connector base URL:  %s
  Unique identifier field:  userName
  Authentication mode:      HTTP Header (Bearer)
  API token:                %s

The token is shown only now. Manage tokens with 'oktasync token list|create|renew'.

`, cfg.SCIMURL(), secret)
	}
	if cfg.ConsoleLinkOn() {
		l, err := srv.Manager.CreateConsoleLink(manage.AsCLI(ctx), consoleLinkTTL)
		if err != nil {
			ln.Close()
			srv.Close()
			return err
		}
		fmt.Fprintf(e.stdout, "  Console sign-in (once):  %s\n\n", l.URL)
	}
	return srv.Serve(ctx, ln)
}

// consoleLinkTTL is how long the one-time console link of OKTASYNC_CONSOLE_LINK works.
const consoleLinkTTL = time.Hour
