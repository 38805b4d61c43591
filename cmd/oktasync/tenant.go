package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/scimschema"
)

func cliCtx(ctx context.Context) context.Context { return manage.AsCLI(ctx) }

// subcommand dispatches "oktasync GROUP VERB ..." to a table of verbs.
func subcommand(ctx context.Context, e *env, group string, args []string, verbs map[string]func(context.Context, *env, []string) error, order []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(e.stderr, "usage: oktasync %s <", group)
		for i, v := range order {
			if i > 0 {
				fmt.Fprint(e.stderr, "|")
			}
			fmt.Fprint(e.stderr, v)
		}
		fmt.Fprintln(e.stderr, "> [flags]")
		if len(args) == 0 {
			return usagef("%s: missing subcommand", group)
		}
		return errHelp
	}
	fn, ok := verbs[args[0]]
	if !ok {
		return usagef("%s: unknown subcommand %q (want one of %v)", group, args[0], order)
	}
	return fn(ctx, e, args[1:])
}

func runTenant(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "tenant", args, map[string]func(context.Context, *env, []string) error{
		"create":     tenantCreate,
		"list":       tenantList,
		"enable":     func(ctx context.Context, e *env, a []string) error { return tenantEnable(ctx, e, a, true) },
		"disable":    func(ctx context.Context, e *env, a []string) error { return tenantEnable(ctx, e, a, false) },
		"set":        tenantSet,
		"attributes": tenantAttributes,
		"okta":       tenantOkta,
		"mapping":    tenantMapping,
		"setup-link": tenantSetupLink,
	}, []string{"create", "list", "enable", "disable", "set", "attributes", "okta", "mapping", "setup-link"})
}

// tenantArg takes the tenant from the single positional argument or --tenant.
func tenantArg(f *cmdFlags, pos []string) (string, error) {
	if len(pos) > 1 {
		return "", usagef("unexpected argument %q", pos[1])
	}
	if len(pos) == 1 {
		return pos[0], nil
	}
	return *f.tenant, nil
}

func tenantCreate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant create", "ID [--name NAME] [--enable]", "db").withJSON()
	name := f.String("name", "", "display name (default: the id)")
	enable := f.Bool("enable", false, "enable provisioning right away")
	pos, m, err := f.start(ctx, args, 1, "tenant ID (e.g. oktasync tenant create acme)")
	if err != nil {
		return err
	}
	defer m.Close()
	t, err := m.CreateTenant(cliCtx(ctx), manage.NewTenant{ID: pos[0], Name: *name, ProvisioningEnabled: *enable})
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, tenantJSON(t))
	}
	state := "disabled (enable with: oktasync tenant enable " + t.ID + ")"
	if t.ProvisioningEnabled {
		state = "enabled"
	}
	fmt.Fprintf(e.stdout, "created tenant %s; provisioning %s\n", t.ID, state)
	return nil
}

type tenantOut struct {
	ID                  string    `json:"id"`
	Name                string    `json:"name"`
	ProvisioningEnabled bool      `json:"provisioningEnabled"`
	InviteUsers         bool      `json:"inviteUsers"`
	AllowedEmailDomains []string  `json:"allowedEmailDomains"`
	SCIMURL             string    `json:"scimUrl"`
	Created             time.Time `json:"created"`
}

func tenantJSON(t resource.Tenant) tenantOut {
	return tenantOut{ID: t.ID, Name: t.Name, ProvisioningEnabled: t.ProvisioningEnabled, InviteUsers: t.InviteUsers,
		AllowedEmailDomains: t.AllowedEmailDomains, SCIMURL: t.SCIMURL, Created: t.Created}
}

func tenantList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant list", "", "db").withJSON()
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	ts, err := m.ListTenants(ctx)
	if err != nil {
		return err
	}
	if *f.json {
		out := make([]tenantOut, len(ts))
		for i, t := range ts {
			out[i] = tenantJSON(t)
		}
		return printJSON(e.stdout, out)
	}
	var rows [][]string
	for _, t := range ts {
		rows = append(rows, []string{t.ID, t.Name, onOff(t.ProvisioningEnabled), onOff(t.InviteUsers), t.Created.Format(time.RFC3339)})
	}
	table(e.stdout, []string{"ID", "NAME", "PROVISIONING", "INVITE USERS", "CREATED"}, rows)
	return nil
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func tenantEnable(ctx context.Context, e *env, args []string, on bool) error {
	verb := map[bool]string{true: "enable", false: "disable"}[on]
	f := newFlags(e, "tenant "+verb, "ID", "db").withTenant()
	id, m, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.UpdateTenant(cliCtx(ctx), id, manage.TenantChanges{ProvisioningEnabled: &on}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "provisioning %s for tenant %s\n", onOff(on), id)
	return nil
}

func tenantSet(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant set", "[ID] [--name NAME] [--invite-users true|false] [--allowed-email-domains D1,D2]", "db").withTenant()
	name := f.String("name", "", "new display name")
	invite := f.String("invite-users", "", "send a welcome email to users provisioned from Okta: true or false")
	domains := f.String("allowed-email-domains", "", `comma-separated email domains users must belong to ("" with --allowed-email-domains= allows any)`)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	id, err := tenantArg(f, pos)
	if err != nil {
		return err
	}
	var ch manage.TenantChanges
	if *name != "" {
		ch.Name = name
	}
	if *invite != "" {
		v, err := strconv.ParseBool(*invite)
		if err != nil {
			return usagef("--invite-users: %q is not true or false", *invite)
		}
		ch.InviteUsers = &v
	}
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == "allowed-email-domains" {
			list := []string{}
			for _, d := range strings.Split(*domains, ",") {
				if d = strings.TrimSpace(d); d != "" {
					list = append(list, d)
				}
			}
			ch.AllowedEmailDomains = &list
		}
	})
	if ch.Empty() {
		return usagef("nothing to set: give --name, --invite-users or --allowed-email-domains")
	}
	m, err := f.openManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	t, err := m.UpdateTenant(cliCtx(ctx), id, ch)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "tenant %s: name %q, invite users %s", t.ID, t.Name, onOff(t.InviteUsers))
	if len(t.AllowedEmailDomains) > 0 {
		fmt.Fprintf(e.stdout, ", allowed email domains %s", strings.Join(t.AllowedEmailDomains, ", "))
	}
	fmt.Fprintln(e.stdout)
	return nil
}

func tenantAttributes(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "tenant attributes", args, map[string]func(context.Context, *env, []string) error{
		"add":    attrAdd,
		"list":   attrList,
		"remove": attrRemove,
	}, []string{"add", "list", "remove"})
}

func attrAdd(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant attributes add", "NAME [--type string|boolean|integer|decimal|dateTime] [--multi] [--description TEXT]", "db").withTenant()
	typ := f.String("type", scimschema.String, "attribute type: string, boolean, integer, decimal or dateTime")
	multi := f.Bool("multi", false, "the attribute holds a list of values")
	desc := f.String("description", "", "what the attribute means")
	pos, m, err := f.start(ctx, args, 1, "attribute NAME")
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.AddAttribute(cliCtx(ctx), *f.tenant, resource.Attribute{Name: pos[0], Type: *typ, MultiValued: *multi, Description: *desc}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added attribute %s (%s) to tenant %s; SCIM clients send it under %s\n", pos[0], *typ, *f.tenant, scimschema.CustomURN)
	return nil
}

func attrList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant attributes list", "", "db").withTenant().withJSON()
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	attrs, err := m.ListAttributes(ctx, *f.tenant)
	if err != nil {
		return err
	}
	if *f.json {
		type out struct {
			Name        string `json:"name"`
			Type        string `json:"type"`
			MultiValued bool   `json:"multiValued"`
			Description string `json:"description,omitempty"`
			SchemaURN   string `json:"schema"`
		}
		list := make([]out, len(attrs))
		for i, a := range attrs {
			list[i] = out{a.Name, a.Type, a.MultiValued, a.Description, scimschema.CustomURN}
		}
		return printJSON(e.stdout, list)
	}
	var rows [][]string
	for _, a := range attrs {
		rows = append(rows, []string{a.Name, a.Type, strconv.FormatBool(a.MultiValued), a.Description})
	}
	table(e.stdout, []string{"NAME", "TYPE", "MULTI", "DESCRIPTION"}, rows)
	return nil
}

func attrRemove(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant attributes remove", "NAME", "db").withTenant()
	pos, m, err := f.start(ctx, args, 1, "attribute NAME")
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.RemoveAttribute(cliCtx(ctx), *f.tenant, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed attribute %s from tenant %s (stored values are kept but no longer served)\n", pos[0], *f.tenant)
	return nil
}
