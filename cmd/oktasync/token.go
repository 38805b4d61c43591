package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

func runToken(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "token", args, map[string]func(context.Context, *env, []string) error{
		"create": tokenCreate,
		"list":   tokenList,
		"activate": func(ctx context.Context, e *env, a []string) error {
			return tokenStatus(ctx, e, a, manage.StatusActive)
		},
		"deactivate": func(ctx context.Context, e *env, a []string) error {
			return tokenStatus(ctx, e, a, manage.StatusInactive)
		},
		"renew":  tokenRenew,
		"remove": tokenRemove,
		"basic":  tokenBasic,
	}, []string{"create", "list", "activate", "deactivate", "renew", "remove", "basic"})
}

type credOut struct {
	ID       string     `json:"id"`
	Tenant   string     `json:"tenant"`
	Kind     string     `json:"kind"`
	Status   string     `json:"status"`
	Prefix   string     `json:"prefix,omitempty"`
	Username string     `json:"username,omitempty"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"lastUsed"`
	Token    string     `json:"token,omitempty"`
}

func credJSON(c resource.Credential) credOut {
	return credOut{ID: c.ID, Tenant: c.Tenant, Kind: c.Kind, Status: c.Status, Prefix: c.Prefix, Username: c.Username, Created: c.Created,
		LastUsed: c.LastUsed, Token: c.Secret}
}

// printSecret shows a new secret; in table mode the secret is the last line of standard
// output so that scripts can take it with tail -n 1.
func printSecret(f *cmdFlags, c resource.Credential, verb string) error {
	if *f.json {
		return printJSON(f.e.stdout, credJSON(c))
	}
	fmt.Fprintf(f.e.stdout, "%s token %s (prefix %s) for tenant %s.\n", verb, c.ID, c.Prefix, c.Tenant)
	fmt.Fprintln(f.e.stdout, "Copy it now: it is not stored and cannot be shown again.")
	fmt.Fprintln(f.e.stdout, c.Secret)
	return nil
}

func tokenCreate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token create", "[--tenant T]", "db").withTenant().withJSON()
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := m.CreateToken(cliCtx(ctx), *f.tenant)
	if err != nil {
		return err
	}
	return printSecret(f, c, "Created")
}

func tokenList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token list", "[--tenant T]", "db").withTenant().withJSON()
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	creds, err := m.ListCredentials(ctx, *f.tenant, "")
	if err != nil {
		return err
	}
	if *f.json {
		out := make([]credOut, len(creds))
		for i, c := range creds {
			out[i] = credJSON(c)
		}
		return printJSON(e.stdout, out)
	}
	var rows [][]string
	for _, c := range creds {
		last := "never"
		if c.LastUsed != nil {
			last = c.LastUsed.Format(time.RFC3339)
		}
		ident := c.Prefix
		if c.Kind == manage.KindBasic {
			ident = c.Username
		}
		rows = append(rows, []string{c.ID, c.Kind, ident, c.Status, c.Created.Format(time.RFC3339), last})
	}
	table(e.stdout, []string{"ID", "KIND", "PREFIX/USER", "STATUS", "CREATED", "LAST USED"}, rows)
	return nil
}

// tokenHint adds where to look to a credential that was not found.
func tokenHint(err error, tenant string) error {
	if errkind.Of(err) == errkind.NotFound && strings.Contains(errkind.Message(err), "has no token") {
		return errkind.E("token", errkind.NotFound, errkind.Message(err)+" (see oktasync token list --tenant "+tenant+")", err)
	}
	return err
}

func tokenStatus(ctx context.Context, e *env, args []string, status string) error {
	verb := map[string]string{manage.StatusActive: "activate", manage.StatusInactive: "deactivate"}[status]
	f := newFlags(e, "token "+verb, "ID [--tenant T]", "db").withTenant()
	pos, m, err := f.start(ctx, args, 1, "token ID or prefix")
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := m.SetCredentialStatus(cliCtx(ctx), *f.tenant, "", pos[0], status)
	if err != nil {
		return tokenHint(err, *f.tenant)
	}
	fmt.Fprintf(e.stdout, "credential %s is now %s\n", c.ID, status)
	return nil
}

func tokenRenew(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token renew", "ID [--tenant T]", "db").withTenant().withJSON()
	pos, m, err := f.start(ctx, args, 1, "token ID or prefix")
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := m.RenewToken(cliCtx(ctx), *f.tenant, pos[0])
	if err != nil {
		return tokenHint(err, *f.tenant)
	}
	return printSecret(f, c, "Renewed")
}

func tokenRemove(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token remove", "ID [--tenant T]", "db").withTenant()
	pos, m, err := f.start(ctx, args, 1, "token ID or prefix")
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := m.RemoveCredential(cliCtx(ctx), *f.tenant, "", pos[0])
	if err != nil {
		return tokenHint(err, *f.tenant)
	}
	fmt.Fprintf(e.stdout, "removed credential %s\n", c.ID)
	return nil
}

// tokenBasic creates HTTP Basic credentials; the password is read from
// OKTASYNC_BASIC_PASSWORD or the first line of standard input, never from the command line.
func tokenBasic(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token basic", "USERNAME [--tenant T]  (password from OKTASYNC_BASIC_PASSWORD or stdin)", "db").withTenant().withJSON()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "USERNAME"); err != nil {
		return err
	}
	password := e.getenv("OKTASYNC_BASIC_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return usagef("no password: set OKTASYNC_BASIC_PASSWORD or pipe it on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	m, err := f.openManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := m.CreateBasic(cliCtx(ctx), *f.tenant, pos[0], password)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, credJSON(c))
	}
	fmt.Fprintf(e.stdout, "created Basic credentials %s for user %s in tenant %s\n", c.ID, c.Username, c.Tenant)
	return nil
}
