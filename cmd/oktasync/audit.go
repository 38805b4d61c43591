package main

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

func runAudit(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "audit", args, map[string]func(context.Context, *env, []string) error{
		"list": auditList,
	}, []string{"list"})
}

func auditList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "audit list", "[--tenant T] [--resource ID] [--actor A] [--since T] [--until T] [--limit N] [--csv]", "db").withJSON()
	tenant := f.String("tenant", "", "only this tenant (default: all)")
	res := f.String("resource", "", "only events about this resource id")
	actor := f.String("actor", "", `only events of this actor: "kind:id", or a kind such as cli, app, api, scim`)
	since := f.String("since", "", "only events at or after this time (RFC 3339)")
	until := f.String("until", "", "only events before this time (RFC 3339)")
	limit := f.Int("limit", 50, "newest N events")
	csvOut := f.Bool("csv", false, "print every matching event as CSV with a header row (ignores --limit)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	if *limit < 1 {
		return usagef("--limit must be at least 1")
	}
	q := manage.AuditQuery{Tenant: *tenant, Resource: *res, Actor: *actor, Limit: *limit}
	for _, t := range []struct {
		flag string
		val  string
		dst  *time.Time
	}{{"--since", *since, &q.Since}, {"--until", *until, &q.Until}} {
		if t.val == "" {
			continue
		}
		if *t.dst, err = time.Parse(time.RFC3339, t.val); err != nil {
			return usagef("%s: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", t.flag, t.val)
		}
	}
	m, err := f.openManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	if *csvOut {
		return m.WriteAuditCSV(ctx, e.stdout, q)
	}
	page, err := m.ListAudit(ctx, q)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, page.Items)
	}
	var rows [][]string
	for _, ev := range page.Items {
		rows = append(rows, []string{ev.Time.Format(time.RFC3339), ev.Tenant, ev.Actor, ev.Operation, ev.ResourceType + " " + ev.ResourceID, changeSummary(ev.Changes)})
	}
	table(e.stdout, []string{"TIME", "TENANT", "ACTOR", "OPERATION", "RESOURCE", "CHANGES"}, rows)
	return nil
}

// changeSummary renders changes compactly: attr: old → new, values cut at 40 characters.
func changeSummary(ch map[string]resource.AuditChange) string {
	keys := make([]string, 0, len(ch))
	for k := range ch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		c := ch[k]
		s := k + ": "
		if c.Old != nil {
			s += short(c.Old) + " → "
		}
		s += short(c.New)
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func short(v any) string {
	if v == nil {
		return "∅"
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
