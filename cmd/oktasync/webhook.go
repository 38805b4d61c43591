package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

// listFlag collects a repeatable flag; each value may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func runEvents(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "events", args, map[string]func(context.Context, *env, []string) error{
		"tail": eventsTail,
	}, []string{"tail"})
}

// tailLast is how many events `events tail` shows when no --after is given.
const tailLast = 10

func eventsTail(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "events tail", "[--tenant T] [--after SEQ] [--types a,b] [--follow]", "db")
	tenant := f.String("tenant", "", "only this tenant's events (default: every tenant)")
	after := f.Int64("after", -1, fmt.Sprintf("print the events after this seq (default: the last %d)", tailLast))
	var types listFlag
	f.Var(&types, "types", "only these event types, comma-separated")
	follow := f.Bool("follow", false, "keep printing new events as they are committed")
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	cursor := *after
	if cursor < 0 {
		last, err := m.LastEventSeq(ctx)
		if err != nil {
			return err
		}
		cursor = max(0, last-tailLast)
	}
	enc := json.NewEncoder(e.stdout)
	for {
		p, err := m.ListEvents(ctx, manage.EventQuery{After: cursor, Limit: manage.MaxLimit, Tenant: *tenant, Types: types})
		if err != nil {
			return err
		}
		for _, ev := range p.Events {
			if err := enc.Encode(ev); err != nil {
				return err
			}
		}
		cursor = p.Next
		if len(p.Events) == manage.MaxLimit {
			continue
		}
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func runWebhook(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "webhook", args, map[string]func(context.Context, *env, []string) error{
		"add":        webhookAdd,
		"list":       webhookList,
		"remove":     webhookRemove,
		"test":       webhookTest,
		"deliveries": webhookDeliveries,
	}, []string{"add", "list", "remove", "test", "deliveries"})
}

func webhookAdd(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "webhook add", "URL [--tenant T]... [--types a,b]", "db", "secret-key", "webhook-allow-private").withJSON()
	var tenants, types listFlag
	f.Var(&tenants, "tenant", "only this tenant's events (repeatable; default: every tenant)")
	f.Var(&types, "types", "only these event types, comma-separated (default: every type)")
	pos, m, err := f.start(ctx, args, 1, "webhook URL")
	if err != nil {
		return err
	}
	defer m.Close()
	w, err := m.CreateWebhook(cliCtx(ctx), manage.NewWebhook{URL: pos[0], Tenants: tenants, Types: types})
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, w)
	}
	fmt.Fprintf(e.stdout, "Created webhook %s for %s (tenants: %s; types: %s).\n", w.ID, w.URL, orAll(w.Tenants), orAll(w.Types))
	fmt.Fprintln(e.stdout, "Its signing secret, shown only now:")
	fmt.Fprintln(e.stdout, w.Secret)
	return nil
}

func orAll(list []string) string {
	if len(list) == 0 {
		return "all"
	}
	return strings.Join(list, ",")
}

func webhookList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "webhook list", "", "db").withJSON()
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	list, err := m.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, list)
	}
	var rows [][]string
	for _, w := range list {
		rows = append(rows, []string{w.ID, w.URL, orAll(w.Tenants), orAll(w.Types), strconv.FormatBool(w.Enabled), w.Created.Format(time.RFC3339)})
	}
	table(e.stdout, []string{"ID", "URL", "TENANTS", "TYPES", "ENABLED", "CREATED"}, rows)
	return nil
}

func webhookRemove(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "webhook remove", "ID", "db")
	pos, m, err := f.start(ctx, args, 1, "webhook ID")
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.DeleteWebhook(cliCtx(ctx), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed webhook %s and its queued deliveries\n", pos[0])
	return nil
}

func webhookTest(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "webhook test", "ID", "db").withJSON()
	pos, m, err := f.start(ctx, args, 1, "webhook ID")
	if err != nil {
		return err
	}
	defer m.Close()
	d, err := m.TestWebhook(cliCtx(ctx), pos[0])
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, d)
	}
	fmt.Fprintf(e.stdout, "queued ping %s as delivery %d; a running `oktasync serve` sends it (see oktasync webhook deliveries %s)\n", d.Event, d.ID, pos[0])
	return nil
}

func webhookDeliveries(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "webhook deliveries", "ID [--limit N]", "db").withJSON()
	limit := f.Int("limit", 50, "how many, newest first")
	pos, m, err := f.start(ctx, args, 1, "webhook ID")
	if err != nil {
		return err
	}
	defer m.Close()
	list, err := m.ListDeliveries(ctx, pos[0], *limit)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, list)
	}
	var rows [][]string
	for _, d := range list {
		rows = append(rows, deliveryRow(d))
	}
	table(e.stdout, []string{"ID", "EVENT", "SEQ", "TYPE", "TENANT", "STATUS", "ATTEMPTS", "CODE", "NEXT ATTEMPT", "LAST ERROR"}, rows)
	return nil
}

func deliveryRow(d resource.Delivery) []string {
	next := "-"
	if d.NextAttempt != nil {
		next = d.NextAttempt.Format(time.RFC3339)
	}
	code := "-"
	if d.LastResponseCode != 0 {
		code = strconv.Itoa(d.LastResponseCode)
	}
	return []string{strconv.FormatInt(d.ID, 10), d.Event, strconv.FormatInt(d.Seq, 10), d.Type, d.Tenant, d.Status,
		strconv.Itoa(d.Attempts), code, next, d.LastError}
}
