package main

import (
	"context"
	"fmt"
	"time"

	"github.com/oktasync/oktasync/manage"
)

// tenantSetupLink makes a link to a tenant's setup pages for the customer's administrator.
func tenantSetupLink(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant setup-link", "TENANT [--ttl 24h]", "db", "public-url", "listen").withTenant()
	ttl := f.Duration("ttl", manage.DefaultSetupLinkTTL, "how long the link works (1m to 720h)")
	id, m, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer m.Close()
	l, err := m.CreateSetupLink(cliCtx(ctx), id, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "setup link for %s, valid until %s (shown only now):\n%s\n", id, l.Expires.Local().Format(time.RFC1123), l.URL)
	return nil
}
