package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
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
func appCtx(ctx context.Context) context.Context {
	return appstore.WithActor(ctx, appstore.Actor{Kind: "app", ID: "cli"})
}

type userOut struct {
	ID          string         `json:"id"`
	UserName    string         `json:"userName"`
	DisplayName string         `json:"displayName,omitempty"`
	Email       string         `json:"email,omitempty"`
	Active      bool           `json:"active"`
	Source      string         `json:"source"`
	Credential  string         `json:"sourceCredential,omitempty"`
	OktaUserID  string         `json:"oktaUserId,omitempty"`
	Version     int64          `json:"version"`
	Updated     time.Time      `json:"updated"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

func userJSON(u appstore.User) userOut {
	return userOut{ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName(), Email: u.PrimaryEmail(), Active: u.Active,
		Source: u.Source, Credential: u.SourceCredential, OktaUserID: u.OktaUserID, Version: u.Version, Updated: u.Updated, Attributes: u.Attrs}
}

func sourceLabel(u appstore.User) string {
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
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	q := appstore.Query{Count: *limit}
	if *limit <= 0 {
		q.Count = -1
	}
	if *filt != "" {
		ex, err := scimfilter.Parse(*filt)
		if err != nil {
			return usagef("--filter: %v", err)
		}
		q.Filter = ex
	}
	s, _, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.GetTenant(ctx, *f.tenant); err != nil {
		return err
	}
	page, err := s.ListUsers(ctx, *f.tenant, q)
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
		rows = append(rows, []string{u.ID, u.UserName, u.DisplayName(), map[bool]string{true: "yes", false: "no"}[u.Active], sourceLabel(u), link, u.Updated.Format(time.RFC3339)})
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

// apply writes the flags that were given onto u.
func (p *profileFlags) apply(f *cmdFlags, u *appstore.User, custom []scimschema.CustomAttr) error {
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if u.Attrs == nil {
		u.Attrs = map[string]any{}
	}
	if set["user-name"] {
		u.UserName = *p.userName
	}
	name, _ := u.Attrs["name"].(map[string]any)
	if name == nil {
		name = map[string]any{}
	}
	if set["given-name"] {
		name["givenName"] = *p.given
	}
	if set["family-name"] {
		name["familyName"] = *p.family
	}
	if len(name) > 0 {
		u.Attrs["name"] = name
	}
	for _, simple := range []struct {
		flag, attr string
		val        *string
	}{{"display-name", "displayName", p.display}, {"title", "title", p.title}, {"locale", "locale", p.locale}} {
		if set[simple.flag] {
			u.Attrs[simple.attr] = *simple.val
		}
	}
	if set["email"] {
		u.Attrs["emails"] = []any{map[string]any{"value": *p.email, "type": "work", "primary": true}}
	}
	if set["phone"] {
		u.Attrs["phoneNumbers"] = []any{map[string]any{"value": *p.phone, "type": "work", "primary": true}}
	}
	if set["department"] {
		ent, _ := u.Attrs[scimschema.EnterpriseURN].(map[string]any)
		if ent == nil {
			ent = map[string]any{}
		}
		ent["department"] = *p.department
		u.Attrs[scimschema.EnterpriseURN] = ent
	}
	for _, kv := range *p.attrs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usagef("--attr %q: want NAME=VALUE", kv)
		}
		known := false
		for _, c := range custom {
			if strings.EqualFold(c.Name, k) {
				known, k = true, c.Name
			}
		}
		if !known {
			return usagef("--attr %q: the tenant has no custom attribute %q (see oktasync tenant attributes list)", kv, k)
		}
		ext, _ := u.Attrs[scimschema.CustomURN].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
		}
		ext[k] = v
		u.Attrs[scimschema.CustomURN] = ext
	}
	return nil
}

func usersCreate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "users create", "USERNAME [profile flags] [--tenant T]", "db").withTenant().withJSON()
	p := addProfileFlags(f)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && *p.userName == "" {
		*p.userName = pos[0]
		f.Set("user-name", pos[0])
	} else if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	if *p.userName == "" {
		return usagef("missing USERNAME (e.g. oktasync users create jane@example.com --email jane@example.com)")
	}
	s, _, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	custom, err := s.ListAttributes(ctx, *f.tenant)
	if err != nil {
		return err
	}
	u := appstore.User{TenantID: *f.tenant, Active: true, Source: appstore.SourceApp}
	if err := p.apply(f, &u, custom); err != nil {
		return err
	}
	u, err = s.CreateUser(appCtx(ctx), u)
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, userJSON(u))
	}
	fmt.Fprintf(e.stdout, "created user %s (%s)\n", u.ID, u.UserName)
	return nil
}

// findUser resolves an id or a userName.
func findUser(ctx context.Context, s appstore.Store, tenant, ref string) (appstore.User, error) {
	u, err := s.GetUser(ctx, tenant, ref)
	if errors.Is(err, errkind.NotFound) {
		u, err = s.GetUserByUserName(ctx, tenant, ref)
	}
	if errors.Is(err, errkind.NotFound) {
		return u, errkind.Errorf("users", errkind.NotFound, "tenant %q has no user %q", tenant, ref)
	}
	return u, err
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
	if countProfileFlags(f) == 0 {
		return usagef("nothing to update: give at least one profile flag (see oktasync users update -h)")
	}
	s, _, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	u, err := findUser(ctx, s, *f.tenant, pos[0])
	if err != nil {
		return err
	}
	custom, err := s.ListAttributes(ctx, *f.tenant)
	if err != nil {
		return err
	}
	u, err = s.UpdateUser(appCtx(ctx), *f.tenant, u.ID, func(u *appstore.User) error { return p.apply(f, u, custom) })
	if err != nil {
		return err
	}
	if *f.json {
		return printJSON(e.stdout, userJSON(u))
	}
	fmt.Fprintf(e.stdout, "updated user %s (%s), version %d\n", u.ID, u.UserName, u.Version)
	return nil
}

func countProfileFlags(f *cmdFlags) int {
	n := 0
	f.Visit(func(fl *flag.Flag) {
		if fl.Name != "tenant" && fl.Name != "json" && fl.Name != "db" {
			n++
		}
	})
	return n
}

func usersActive(ctx context.Context, e *env, args []string, active bool) error {
	verb := map[bool]string{true: "reactivate", false: "deactivate"}[active]
	f := newFlags(e, "users "+verb, "ID|USERNAME [--tenant T]", "db").withTenant()
	pos, s, err := f.start(ctx, args, 1, "user ID or USERNAME")
	if err != nil {
		return err
	}
	defer s.Close()
	u, err := findUser(ctx, s, *f.tenant, pos[0])
	if err != nil {
		return err
	}
	if _, err := s.UpdateUser(appCtx(ctx), *f.tenant, u.ID, func(u *appstore.User) error { u.Active = active; return nil }); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "user %s (%s) %sd\n", u.ID, u.UserName, verb)
	return nil
}
