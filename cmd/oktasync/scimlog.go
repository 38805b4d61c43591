package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

func runSCIMLog(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "scim-log", "[--tenant T] [--status 4xx] [--limit N] [--json]", "db").withJSON()
	tenant := f.String("tenant", "", "only this tenant's requests (default: every tenant, and the requests refused before a credential told one)")
	status := f.String("status", "", "only this status class: 1xx, 2xx, 3xx, 4xx or 5xx")
	limit := f.Int("limit", 50, "newest N requests")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	if *limit < 1 || *limit > manage.MaxLimit {
		return usagef("--limit must be between 1 and %d", manage.MaxLimit)
	}
	m, err := f.openManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	page, err := m.ListSCIMRequests(ctx, manage.SCIMRequestQuery{Tenant: *tenant, StatusClass: *status, Limit: *limit})
	if errkind.FieldOf(err) == "status" {
		return usagef("--status: %s", errkind.Message(err))
	}
	if err != nil {
		return err
	}
	items := make([]resource.SCIMRequest, len(page.Items))
	for i, r := range page.Items {
		items[i] = appstore.SCIMRequestResource(r)
	}
	if *f.json {
		return printJSON(e.stdout, items)
	}
	var rows [][]string
	for _, r := range items {
		tn := r.Tenant
		if tn == "" {
			tn = "-"
		}
		problem := r.ScimType
		if r.Detail != "" {
			problem = fmt.Sprintf("%s %s", problem, r.Detail)
		}
		rows = append(rows, []string{r.Time.Format(time.RFC3339), tn, r.Method, r.Path, strconv.Itoa(r.Status),
			strconv.FormatFloat(r.DurationMs, 'f', 1, 64), r.UserAgent, r.RequestID, problem})
	}
	table(e.stdout, []string{"TIME", "TENANT", "METHOD", "PATH", "STATUS", "MS", "USER-AGENT", "REQUEST-ID", "ERROR"}, rows)
	return nil
}
