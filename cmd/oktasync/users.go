package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

func runUsers(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "users", args, map[string]func(context.Context, *env, []string) error{
		"list":       usersList,
		"create":     usersCreate,
		"update":     usersUpdate,
		"deactivate": func(ctx context.Context, e *env, a []string) error { return usersActive(ctx, e, a, false) },
		"reactivate": func(ctx context.Context, e *env, a []string) error { return usersActive(ctx, e, a, true) },
	}, []string{"list", "create", "update", "deactivate", "reactivate"})
}

// appCtx attributes writes to the app itself: the CLI stands in for the app's own UI.
func appCtx(ctx context.Context) context.Context { return manage.AsApp(ctx, "cli") }

type userOut struct {
	ID          string         `json:"id"`
	UserName    string         `json:"userName"`
	DisplayName string         `json:"displayName,omitempty"`
	Email       string         `json:"email,omitempty"`
	Active      bool           `json:"active"`
	Source      string         `json:"source"`
	Client      string         `json:"sourceClient,omitempty"`
	Credential  string         `json:"sourceCredential,omitempty"`
	OktaUserID  string         `json:"oktaUserId,omitempty"`
	Version     int64          `json:"version"`
	Updated     time.Time      `json:"updated"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

func userJSON(u resource.User) userOut {
	return userOut{ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName, Email: u.Email, Active: u.Active,
		Source: u.Source, Client: u.SourceClient, Credential: u.SourceCredential, OktaUserID: u.OktaUserID, Version: u.Version, Updated: u.Updated, Attributes: u.Attributes}
}

func sourceLabel(u resource.User) string {
	if u.SourceCredential == "" {
		return u.Source
	}
	c := u.SourceCredential
	if len(c) > 8 {
		c = c[:8]
	}
	return u.Source + " (" + c + ")"
}

func usersList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "users list", "[--tenant T] [--filter SCIM-FILTER] [--limit N]", "db").withTenant().withJSON()
	filt := f.String("filter", "", `SCIM filter, e.g. 'userName sw "a"'`)
	limit := f.Int("limit", 100, "show at most N users (0 for all)")
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	q := manage.UserQuery{Filter: *filt, Limit: *limit, WithTotal: true}
	if *limit <= 0 {
		q.Limit = -1
	}
	page, err := m.ListUsers(ctx, *f.tenant, q)
	if err != nil {
		return err
	}
	if *f.json {
		out := make([]userOut, len(page.Items))
		for i, u := range page.Items {
			out[i] = userJSON(u)
		}
		return printJSON(e.stdout, out)
	}
	var rows [][]string
	for _, u := range page.Items {
		link := u.OktaUserID
		if link == "" {
			link = "-"
		}
		rows = append(rows, []string{u.ID, u.UserName, u.DisplayName, map[bool]string{true: "yes", false: "no"}[u.Active], sourceLabel(u), link, u.Updated.Format(time.RFC3339)})
	}
	table(e.stdout, []string{"ID", "USERNAME", "DISPLAY NAME", "ACTIVE", "SOURCE", "OKTA USER", "UPDATED"}, rows)
	if page.Total > len(page.Items) {
		fmt.Fprintf(e.stdout, "(%d of %d users shown; use --limit 0 for all)\n", len(page.Items), page.Total)
	}
	return nil
}

// profileFlags are the profile fields the users commands can set.
type profileFlags struct {
	userName, given, family, display, email, title, department, locale, phone *string
	attrs                                                                     *multiFlag
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func addProfileFlags(f *cmdFlags) *profileFlags {
	p := &profileFlags{
		userName:   f.String("user-name", "", "userName (sign-in name)"),
		given:      f.String("given-name", "", "first name"),
		family:     f.String("family-name", "", "last name"),
		display:    f.String("display-name", "", "display name"),
		email:      f.String("email", "", "primary work email"),
		title:      f.String("title", "", "job title"),
		department: f.String("department", "", "department (enterprise extension)"),
		locale:     f.String("locale", "", "locale, e.g. en-US"),
		phone:      f.String("phone", "", "work phone number"),
		attrs:      &multiFlag{},
	}
	f.Var(p.attrs, "attr", "custom attribute NAME=VALUE (repeatable)")
	return p
}

// fields returns the profile fields whose flags were given.
func (p *profileFlags) fields(f *cmdFlags) (manage.UserFields, error) {
	var u manage.UserFields
	for flagName, dst := range map[string]**string{
		"user-name": &u.UserName, "given-name": &u.GivenName, "family-name": &u.FamilyName, "display-name": &u.DisplayName,
		"email": &u.Email, "title": &u.Title, "department": &u.Department, "locale": &u.Locale, "phone": &u.Phone,
	} {
		if fl := f.Lookup(flagName); fl != nil && isSet(f, flagName) {
			v := fl.Value.String()
			*dst = &v
		}
	}
	for _, kv := range *p.attrs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return u, usagef("--attr %q: want NAME=VALUE", kv)
		}
		if u.Attributes == nil {
			u.Attributes = map[string]any{}
		}
		u.Attributes[k] = v
	}
	return u, nil
}

func isSet(f *cmdFlags, name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

func usersCreate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "users create", "USERNAME [profile flags] [--tenant T]", "db").withTenant().withJSON()
	p := addProfileFlags(f)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && *p.userName == "" {
		f.Set("user-name", pos[0])
	} else if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	if *p.userName == "" {
		return usagef("missing USERNAME (e.g. oktasync users create jane@example.com --email jane@example.com)")
	}
	fields, err := p.fields(f)
	if err != nil {
		return err
	}
	m, err := f.openManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	u, err := m.CreateUser(appCtx(ctx), *f.tenant, fields)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, userJSON(u))
	}
	fmt.Fprintf(e.stdout, "created user %s (%s)\n", u.ID, u.UserName)
	return nil
}

func usersUpdate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "users update", "ID|USERNAME [profile flags] [--tenant T]", "db").withTenant().withJSON()
	p := addProfileFlags(f)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "user ID or USERNAME"); err != nil {
		return err
	}
	fields, err := p.fields(f)
	if err != nil {
		return err
	}
	if fields.Empty() {
		return usagef("nothing to update: give at least one profile flag (see oktasync users update -h)")
	}
	m, err := f.openManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	u, err := m.UpdateUser(appCtx(ctx), *f.tenant, pos[0], fields)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, userJSON(u))
	}
	fmt.Fprintf(e.stdout, "updated user %s (%s), version %d\n", u.ID, u.UserName, u.Version)
	return nil
}

func usersActive(ctx context.Context, e *env, args []string, active bool) error {
	verb := map[bool]string{true: "reactivate", false: "deactivate"}[active]
	f := newFlags(e, "users "+verb, "ID|USERNAME [--tenant T]", "db").withTenant()
	pos, m, err := f.start(ctx, args, 1, "user ID or USERNAME")
	if err != nil {
		return err
	}
	defer m.Close()
	u, err := m.SetUserActive(appCtx(ctx), *f.tenant, pos[0], active)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "user %s (%s) %sd\n", u.ID, u.UserName, verb)
	return nil
}
