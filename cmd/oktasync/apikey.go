package main

import (
	"context"
	"fmt"
	"time"

	"github.com/oktasync/oktasync/resource"
)

func runAPIKey(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "apikey", args, map[string]func(context.Context, *env, []string) error{
		"create": apikeyCreate,
		"list":   apikeyList,
		"remove": apikeyRemove,
	}, []string{"create", "list", "remove"})
}

func apikeyCreate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "apikey create", "[--name N]", "db").withJSON()
	name := f.String("name", "", "what the key is for, shown in listings")
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	k, err := m.CreateAPIKey(cliCtx(ctx), *name)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, k)
	}
	fmt.Fprintf(e.stdout, "Created API key %s (prefix %s). Send it as Authorization: Bearer <key> to /api/v1.\n", k.ID, k.Prefix)
	fmt.Fprintln(e.stdout, "Copy it now: it is not stored and cannot be shown again.")
	fmt.Fprintln(e.stdout, k.Secret)
	return nil
}

func apikeyList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "apikey list", "", "db").withJSON()
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	keys, err := m.ListAPIKeys(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		if keys == nil {
			keys = []resource.APIKey{}
		}
		return printJSON(e.stdout, keys)
	}
	var rows [][]string
	for _, k := range keys {
		last := "never"
		if k.LastUsed != nil {
			last = k.LastUsed.Format(time.RFC3339)
		}
		rows = append(rows, []string{k.ID, orDash(k.Name), k.Prefix, k.Created.Format(time.RFC3339), last})
	}
	table(e.stdout, []string{"ID", "NAME", "PREFIX", "CREATED", "LAST USED"}, rows)
	return nil
}

func apikeyRemove(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "apikey remove", "ID", "db")
	pos, m, err := f.start(ctx, args, 1, "API key ID or prefix")
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.RemoveAPIKey(cliCtx(ctx), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed API key %s; it stops working at once\n", pos[0])
	return nil
}
