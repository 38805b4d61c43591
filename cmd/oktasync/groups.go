package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

func runGroups(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "groups", args, map[string]func(context.Context, *env, []string) error{
		"list": groupsList,
		"show": groupsShow,
	}, []string{"list", "show"})
}

func groupsList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "groups list", "[--tenant T] [--filter SCIM-FILTER] [--limit N]", "db").withTenant().withJSON()
	filt := f.String("filter", "", `SCIM filter, e.g. 'displayName sw "Eng"'`)
	limit := f.Int("limit", 100, "show at most N groups (0 for all)")
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	q := manage.GroupQuery{Filter: *filt, Limit: *limit, WithTotal: true}
	if *limit <= 0 {
		q.Limit = -1
	}
	page, err := m.ListGroups(ctx, *f.tenant, q)
	if err != nil {
		return err
	}
	if *f.json {
		if page.Items == nil {
			page.Items = []resource.Group{}
		}
		return printJSON(e.stdout, page.Items)
	}
	var rows [][]string
	for _, g := range page.Items {
		rows = append(rows, []string{g.ID, g.DisplayName, strconv.Itoa(g.MemberCount), g.Source, g.Updated.Format(time.RFC3339)})
	}
	table(e.stdout, []string{"ID", "DISPLAY NAME", "MEMBERS", "SOURCE", "UPDATED"}, rows)
	if page.Total > len(page.Items) {
		fmt.Fprintf(e.stdout, "(%d of %d groups shown; use --limit 0 for all)\n", len(page.Items), page.Total)
	}
	return nil
}

func groupsShow(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "groups show", "ID [--tenant T] [--limit N]", "db").withTenant().withJSON()
	limit := f.Int("limit", 100, "show at most N members (0 for all)")
	pos, m, err := f.start(ctx, args, 1, "group ID")
	if err != nil {
		return err
	}
	defer m.Close()
	g, err := m.GetGroup(ctx, *f.tenant, pos[0])
	if err != nil {
		return err
	}
	n := *limit
	if n <= 0 {
		n = -1
	}
	members, err := m.ListMembers(ctx, *f.tenant, g.ID, n, "")
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, struct {
			resource.Group
			Members []resource.Member `json:"members"`
		}{g, members.Items})
	}
	fmt.Fprintf(e.stdout, "Group %s (%s): %d members, source %s, updated %s\n\n", g.DisplayName, g.ID, g.MemberCount, g.Source, g.Updated.Format(time.RFC3339))
	var rows [][]string
	for _, mb := range members.Items {
		rows = append(rows, []string{mb.ID, mb.Type, mb.Display})
	}
	table(e.stdout, []string{"MEMBER", "TYPE", "DISPLAY"}, rows)
	if members.Next != "" {
		fmt.Fprintf(e.stdout, "(first %d members shown; use --limit 0 for all)\n", len(members.Items))
	}
	return nil
}
