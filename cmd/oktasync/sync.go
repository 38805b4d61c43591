package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/errkind"
)

// setupSync starts the sync scheduler and mounts the admin API on mux.
func setupSync(ctx context.Context, wg *sync.WaitGroup, cfg config.Config, store appstore.Store, log *slog.Logger, mux *http.ServeMux) error {
	return nil
}

func runSync(ctx context.Context, e *env, args []string) error {
	return errkind.Errorf("sync", errkind.Permanent, "sync with Okta is not available in this build")
}

func tenantOkta(ctx context.Context, e *env, args []string) error {
	return errkind.Errorf("tenant okta", errkind.Permanent, "the Okta connection is not available in this build")
}

func tenantMapping(ctx context.Context, e *env, args []string) error {
	return errkind.Errorf("tenant mapping", errkind.Permanent, "attribute mapping is not available in this build")
}
