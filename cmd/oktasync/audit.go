package main

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
)

func runAudit(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "audit", args, map[string]func(context.Context, *env, []string) error{
		"list": auditList,
	}, []string{"list"})
}

func auditList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "audit list", "[--tenant T] [--resource ID] [--limit N]", "db").withJSON()
	tenant := f.String("tenant", "", "only this tenant (default: all)")
	resource := f.String("resource", "", "only events about this resource id")
	limit := f.Int("limit", 50, "newest N events")
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
	s, _, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if *tenant != "" {
		if _, err := s.GetTenant(ctx, *tenant); err != nil {
			return err
		}
	}
	events, err := s.ListAudit(ctx, appstore.AuditQuery{TenantID: *tenant, ResourceID: *resource, Limit: *limit})
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, events)
	}
	var rows [][]string
	for _, ev := range events {
		rows = append(rows, []string{ev.Time.Format(time.RFC3339), ev.TenantID, ev.Actor, ev.Operation, ev.ResourceType + " " + ev.ResourceID, changeSummary(ev.Changes)})
	}
	table(e.stdout, []string{"TIME", "TENANT", "ACTOR", "OPERATION", "RESOURCE", "CHANGES"}, rows)
	return nil
}

// changeSummary renders changes compactly: attr: old → new, values cut at 40 characters.
func changeSummary(ch map[string]appstore.Change) string {
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
