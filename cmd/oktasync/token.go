package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

func runToken(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "token", args, map[string]func(context.Context, *env, []string) error{
		"create": tokenCreate,
		"list":   tokenList,
		"activate": func(ctx context.Context, e *env, a []string) error {
			return tokenStatus(ctx, e, a, appstore.StatusActive)
		},
		"deactivate": func(ctx context.Context, e *env, a []string) error {
			return tokenStatus(ctx, e, a, appstore.StatusInactive)
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

func credJSON(c appstore.Credential, secret string) credOut {
	o := credOut{ID: c.ID, Tenant: c.TenantID, Kind: c.Kind, Status: c.Status, Prefix: c.Prefix, Username: c.Username, Created: c.Created, Token: secret}
	if !c.LastUsed.IsZero() {
		o.LastUsed = &c.LastUsed
	}
	return o
}

// printSecret shows a new secret; in table mode the secret is the last line of standard
// output so that scripts can take it with tail -n 1.
func printSecret(f *cmdFlags, c appstore.Credential, secret, verb string) error {
	if *f.json {
		return printJSON(f.e.stdout, credJSON(c, secret))
	}
	fmt.Fprintf(f.e.stdout, "%s token %s (prefix %s) for tenant %s.\n", verb, c.ID, c.Prefix, c.TenantID)
	fmt.Fprintln(f.e.stdout, "Copy it now: it is not stored and cannot be shown again.")
	fmt.Fprintln(f.e.stdout, secret)
	return nil
}

func tokenCreate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token create", "[--tenant T]", "db").withTenant().withJSON()
	_, s, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer s.Close()
	c, secret, err := s.CreateToken(cliCtx(ctx), *f.tenant)
	if err != nil {
		return err
	}
	return printSecret(f, c, secret, "Created")
}

func tokenList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token list", "[--tenant T]", "db").withTenant().withJSON()
	_, s, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer s.Close()
	creds, err := s.ListCredentials(ctx, *f.tenant)
	if err != nil {
		return err
	}
	if *f.json {
		out := make([]credOut, len(creds))
		for i, c := range creds {
			out[i] = credJSON(c, "")
		}
		return printJSON(e.stdout, out)
	}
	var rows [][]string
	for _, c := range creds {
		last := "never"
		if !c.LastUsed.IsZero() {
			last = c.LastUsed.Format(time.RFC3339)
		}
		ident := c.Prefix
		if c.Kind == appstore.CredentialBasic {
			ident = c.Username
		}
		rows = append(rows, []string{c.ID, c.Kind, ident, c.Status, c.Created.Format(time.RFC3339), last})
	}
	table(e.stdout, []string{"ID", "KIND", "PREFIX/USER", "STATUS", "CREATED", "LAST USED"}, rows)
	return nil
}

// findCredential resolves an id, a token prefix or a Basic username to a credential.
func findCredential(ctx context.Context, s appstore.Store, tenant, ref string) (appstore.Credential, error) {
	creds, err := s.ListCredentials(ctx, tenant)
	if err != nil {
		return appstore.Credential{}, err
	}
	for _, c := range creds {
		if c.ID == ref || (c.Prefix != "" && c.Prefix == ref) || (c.Username != "" && c.Username == ref) {
			return c, nil
		}
	}
	return appstore.Credential{}, errkind.Errorf("token", errkind.NotFound, "tenant %q has no token %q (see oktasync token list --tenant %s)", tenant, ref, tenant)
}

func tokenStatus(ctx context.Context, e *env, args []string, status string) error {
	verb := map[string]string{appstore.StatusActive: "activate", appstore.StatusInactive: "deactivate"}[status]
	f := newFlags(e, "token "+verb, "ID [--tenant T]", "db").withTenant()
	pos, s, err := f.start(ctx, args, 1, "token ID or prefix")
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := findCredential(ctx, s, *f.tenant, pos[0])
	if err != nil {
		return err
	}
	if _, err := s.SetCredentialStatus(cliCtx(ctx), *f.tenant, c.ID, status); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "credential %s is now %s\n", c.ID, status)
	return nil
}

func tokenRenew(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token renew", "ID [--tenant T]", "db").withTenant().withJSON()
	pos, s, err := f.start(ctx, args, 1, "token ID or prefix")
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := findCredential(ctx, s, *f.tenant, pos[0])
	if err != nil {
		return err
	}
	c, secret, err := s.RenewToken(cliCtx(ctx), *f.tenant, c.ID)
	if err != nil {
		return err
	}
	return printSecret(f, c, secret, "Renewed")
}

func tokenRemove(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "token remove", "ID [--tenant T]", "db").withTenant()
	pos, s, err := f.start(ctx, args, 1, "token ID or prefix")
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := findCredential(ctx, s, *f.tenant, pos[0])
	if err != nil {
		return err
	}
	if err := s.RemoveCredential(cliCtx(ctx), *f.tenant, c.ID); err != nil {
		return err
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
	s, _, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := s.CreateBasic(cliCtx(ctx), *f.tenant, pos[0], password)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, credJSON(c, ""))
	}
	fmt.Fprintf(e.stdout, "created Basic credentials %s for user %s in tenant %s\n", c.ID, c.Username, c.TenantID)
	return nil
}
