package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/metrics"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/syncer"
)

// OktaTokenEnv names the variable `tenant okta set` reads the Okta API token from. The
// token is never taken from the command line, where ps and shell history would show it.
const OktaTokenEnv = "OKTASYNC_OKTA_API_TOKEN"

// setupSync starts the sync scheduler and mounts the admin API on mux.
func setupSync(ctx context.Context, wg *sync.WaitGroup, cfg config.Config, store appstore.Store, log *slog.Logger, mux *http.ServeMux, met *metrics.Metrics) error {
	key, err := cfg.Key()
	if err != nil {
		// The server still serves SCIM; syncs fail with a message naming the setting.
		// That is only worth a warning when some tenant is connected to Okta already.
		level := slog.LevelInfo
		if conns, lerr := store.ListOktaConnections(ctx); lerr == nil && len(conns) > 0 {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "sync with Okta is off until OKTASYNC_SECRET_KEY is set", "reason", err.Error())
		key = nil
	}
	sy := &syncer.Syncer{Store: store, Key: key, Log: log,
		OnOktaAttempt: func(a oktaclient.Attempt) { met.OktaAttempt(a.Family, a.Status, a.Remaining) },
		OnRunFinished: func(rec appstore.SyncRun) {
			met.SyncRun(rec.Mode, rec.Status, rec.Processed, rec.Finished.Sub(rec.Started))
		},
	}
	sched := &syncer.Scheduler{Syncer: sy, Log: log}
	if key != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sched.Run(ctx)
		}()
	}
	if cfg.AdminToken != "" {
		mux.Handle("/admin/v1/", &syncer.Admin{Syncer: sy, Token: cfg.AdminToken, BaseCtx: ctx})
	} else {
		log.Info("admin API off: set OKTASYNC_ADMIN_TOKEN to enable /admin/v1")
	}
	return nil
}

// newSyncer builds the worker for a CLI command.
func newSyncer(cfg config.Config, store appstore.Store) (*syncer.Syncer, error) {
	key, err := cfg.Key()
	if err != nil {
		return nil, errkind.E("sync", errkind.Invalid, "cannot read stored Okta API tokens: OKTASYNC_SECRET_KEY: "+err.Error(), err)
	}
	return &syncer.Syncer{Store: store, Key: key}, nil
}

func runSync(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "history" {
		return syncHistory(ctx, e, args[1:])
	}
	f := newFlags(e, "sync", "[--tenant T] [--full] [--dry-run] [--json]   |   oktasync sync history [--tenant T]", "db", "secret-key").withTenant().withJSON()
	full := f.Bool("full", false, "also list every AppUser (the drift check), not only users changed in the app")
	dry := f.Bool("dry-run", false, "compute and print the plan; change nothing in Okta or the app")
	quiet := f.Bool("quiet", false, "no progress display")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	s, cfg, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	sy, err := newSyncer(cfg, s)
	if err != nil {
		return err
	}
	var prog *progress
	if !*quiet && !*f.json {
		prog = newProgress(e.stdout)
	}
	opts := syncer.RunOptions{Full: *full, DryRun: *dry, Trigger: syncer.TriggerCLI}
	if prog != nil {
		opts.Progress = prog.update
	}
	rep, err := sy.Run(ctx, *f.tenant, opts)
	if prog != nil {
		prog.done()
	}
	if err != nil && rep.Run.ID == 0 {
		return err
	}
	if *f.json {
		if perr := printJSON(e.stdout, reportJSON(rep)); perr != nil {
			return perr
		}
	} else {
		printReport(e.stdout, rep)
	}
	if err != nil {
		return err
	}
	if n := rep.Run.Counts[syncer.ActError]; n > 0 {
		return errkind.Errorf("sync", errkind.Other, "%d users failed; they are retried by the next run (details: oktasync sync history --tenant %s)", n, *f.tenant)
	}
	return nil
}

type reportOut struct {
	syncer.RunJSON
	Plan []syncer.PlanItem `json:"plan"`
}

func reportJSON(rep syncer.Report) reportOut {
	out := reportOut{RunJSON: syncer.RunToJSON(rep.Run), Plan: rep.Plan}
	for _, e := range rep.Errors {
		out.Errors = append(out.Errors, syncer.RunErrorJSON{UserID: e.UserID, UserName: e.UserName, Action: e.Action, Message: e.Message, Time: e.Time})
	}
	if out.Plan == nil {
		out.Plan = []syncer.PlanItem{}
	}
	return out
}

// printReport shows a finished run: for a dry run the whole plan, then the counts by
// action and the failed users.
func printReport(w io.Writer, rep syncer.Report) {
	r := rep.Run
	if r.DryRun {
		fmt.Fprintf(w, "Plan (dry run: nothing was changed in Okta or in the app):\n")
		var rows [][]string
		for _, it := range rep.Plan {
			rows = append(rows, []string{it.Action, orDash(it.UserName), orDash(it.OktaUserID), planDetail(it)})
		}
		if len(rows) == 0 {
			fmt.Fprintln(w, "  nothing to do")
		} else {
			table(w, []string{"ACTION", "USER", "OKTA USER", "DETAIL"}, rows)
		}
		fmt.Fprintln(w)
	}
	mode := r.Mode
	if r.DryRun {
		mode += ", dry run"
	}
	fmt.Fprintf(w, "Run %d for tenant %s (%s): %s in %s, %d users looked at.\n", r.ID, r.TenantID, mode, r.Status,
		r.Finished.Sub(r.Started).Round(time.Millisecond), r.Processed)
	table(w, []string{"ACTION", "COUNT"}, countRows(r.Counts))
	if len(rep.Errors) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Failed users:")
		var rows [][]string
		for _, e := range rep.Errors {
			rows = append(rows, []string{orDash(e.UserName), e.Action, e.Message})
		}
		table(w, []string{"USER", "ACTION", "ERROR"}, rows)
	}
	if r.Error != "" && r.Status != syncer.RunPartial {
		fmt.Fprintf(w, "Error: %s\n", r.Error)
	}
}

func countRows(counts map[string]int64) [][]string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := [][]string{}
	for _, k := range keys {
		rows = append(rows, []string{k, strconv.FormatInt(counts[k], 10)})
	}
	if len(rows) == 0 {
		rows = append(rows, []string{"(nothing to do)", "0"})
	}
	return rows
}

func planDetail(it syncer.PlanItem) string {
	var parts []string
	if it.Detail != "" {
		parts = append(parts, it.Detail)
	}
	for _, c := range it.Conflicts {
		parts = append(parts, fmt.Sprintf("%s: app %s / okta %s → %s wins", c.Key, short(c.App), short(c.Okta), c.Winner))
	}
	keys := make([]string, 0, len(it.Values))
	for k := range it.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+short(it.Values[k]))
	}
	s := strings.Join(parts, " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// progress draws a progress bar on a terminal and plain lines elsewhere (a log file, a
// pipe), at most every 100 ms or every 5 s respectively.
type progress struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		p.tty = isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	return p
}

func (p *progress) update(r appstore.SyncRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if r.Finished.IsZero() && now.Sub(p.last) < every {
		return
	}
	p.last = now
	counts := summaryCounts(r.Counts)
	if !p.tty {
		if r.Finished.IsZero() {
			fmt.Fprintf(p.w, "sync %s: %d users looked at%s\n", r.TenantID, r.Processed, counts)
		}
		return
	}
	const width = 30
	frac := 0.0
	if r.Total > 0 {
		frac = float64(r.Processed) / float64(r.Total)
	}
	if !r.Finished.IsZero() {
		frac = 1
	} else if frac > 0.99 {
		frac = 0.99 // the total is an estimate
	}
	fill := int(frac * width)
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %3.0f%% %d users%s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), frac*100, r.Processed, counts)
	p.drawn = true
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}

func summaryCounts(c map[string]int64) string {
	var b strings.Builder
	for _, k := range []string{syncer.ActOktaAssign, syncer.ActOktaUpdate, syncer.ActAppCreate, syncer.ActAppUpdate, syncer.ActConflict, syncer.ActError} {
		if c[k] > 0 {
			fmt.Fprintf(&b, " %s=%d", k, c[k])
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return " —" + b.String()
}

func syncHistory(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "sync history", "[--tenant T] [--limit N] [--json]", "db").withJSON()
	tenant := f.String("tenant", "", "tenant id (default: every tenant)")
	limit := f.Int("limit", 20, "how many runs, newest first")
	_, s, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer s.Close()
	if *tenant != "" {
		if _, err := s.GetTenant(ctx, *tenant); err != nil {
			return err
		}
	}
	runs, err := s.ListSyncRuns(ctx, *tenant, *limit)
	if err != nil {
		return err
	}
	var out []syncer.RunJSON
	for _, r := range runs {
		j := syncer.RunToJSON(r)
		if r.Counts[syncer.ActError] > 0 || r.Status == appstore.RunFailed {
			errs, err := s.ListSyncRunErrors(ctx, r.ID, 50)
			if err != nil {
				return err
			}
			for _, e := range errs {
				j.Errors = append(j.Errors, syncer.RunErrorJSON{UserID: e.UserID, UserName: e.UserName, Action: e.Action, Message: e.Message, Time: e.Time})
			}
		}
		out = append(out, j)
	}
	if *f.json {
		if out == nil {
			out = []syncer.RunJSON{}
		}
		return printJSON(e.stdout, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(e.stdout, "No sync runs yet. Start one with: oktasync sync")
		return nil
	}
	var rows [][]string
	for _, r := range out {
		dur := "-"
		if r.Finished != nil {
			dur = r.Finished.Sub(r.Started).Round(time.Millisecond).String()
		}
		mode := r.Mode
		if r.DryRun {
			mode += " (dry run)"
		}
		rows = append(rows, []string{strconv.FormatInt(r.ID, 10), r.Tenant, r.Started.Local().Format("2006-01-02 15:04:05"), dur,
			r.Trigger, mode, r.Status, strings.TrimSpace(countsLine(r.Counts))})
	}
	table(e.stdout, []string{"RUN", "TENANT", "STARTED", "DURATION", "TRIGGER", "MODE", "STATUS", "ACTIONS"}, rows)
	for _, r := range out {
		if len(r.Errors) == 0 && r.Error == "" {
			continue
		}
		fmt.Fprintf(e.stdout, "\nRun %d: %s\n", r.ID, orDash(r.Error))
		for _, er := range r.Errors {
			fmt.Fprintf(e.stdout, "  %s  %s: %s\n", orDash(er.UserName), er.Action, er.Message)
		}
	}
	return nil
}

func countsLine(c map[string]int64) string {
	var parts []string
	for _, row := range countRows(c) {
		if row[1] != "0" {
			parts = append(parts, row[0]+"="+row[1])
		}
	}
	return strings.Join(parts, " ")
}

func tenantOkta(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "tenant okta", args, map[string]func(context.Context, *env, []string) error{
		"set":    oktaSet,
		"show":   oktaShow,
		"test":   oktaTest,
		"policy": oktaPolicy,
		"remove": oktaRemove,
	}, []string{"set", "show", "test", "policy", "remove"})
}

// policyFlags are the sync policy flags shared by `okta set` and `okta policy`.
type policyFlags struct {
	schedule, full, conflict, unmatched, deactivate *string
}

func addPolicyFlags(f *cmdFlags) *policyFlags {
	return &policyFlags{
		schedule:   f.String("schedule", "", `cron spec of the incremental sync (default "`+syncer.DefaultSchedule+`"; "off" disables)`),
		full:       f.String("full-schedule", "", `cron spec of the full drift check (default "`+syncer.DefaultFullSchedule+`"; "off" disables)`),
		conflict:   f.String("conflict", "", "who wins a value changed on both sides: okta-wins (default), app-wins, newest-wins"),
		unmatched:  f.String("unmatched", "", "app users no Okta user matches: create (default: create the Okta user, STAGED, and assign it) or report"),
		deactivate: f.String("deactivate", "", "what an app deactivation does in Okta: unassign (default), deactivate (the Okta user) or ignore"),
	}
}

func (p *policyFlags) any() bool {
	return *p.schedule != "" || *p.full != "" || *p.conflict != "" || *p.unmatched != "" || *p.deactivate != ""
}

// apply sets the given flags on the tenant's policy, validating the result.
func (p *policyFlags) apply(t *appstore.Tenant) (syncer.Policy, error) {
	pol, err := syncer.PolicyOf(*t)
	if err != nil && !p.any() {
		return pol, err
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&pol.Schedule, *p.schedule)
	set(&pol.FullSchedule, *p.full)
	set((*string)(&pol.Conflict), *p.conflict)
	set((*string)(&pol.Unmatched), *p.unmatched)
	set((*string)(&pol.Deactivate), *p.deactivate)
	if err := pol.Validate(); err != nil {
		return pol, usagef("%v", err)
	}
	pol.Apply(t)
	return pol, nil
}

func printPolicy(w io.Writer, p syncer.Policy) {
	table(w, []string{"SETTING", "VALUE"}, [][]string{
		{syncer.SettingSchedule, p.Schedule},
		{syncer.SettingFullSchedule, p.FullSchedule},
		{syncer.SettingConflict, string(p.Conflict)},
		{syncer.SettingUnmatched, string(p.Unmatched)},
		{syncer.SettingDeactivate, string(p.Deactivate)},
	})
}

func oktaSet(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant okta set", "[--tenant T] --org-url URL --app-id ID [policy flags]\n\nThe API token is read from "+OktaTokenEnv+", or else from the first line of standard input.", "db", "secret-key").withTenant()
	orgURL := f.String("org-url", "", "the Okta org, e.g. https://example.okta.com")
	appID := f.String("app-id", "", "the id of the Okta app (0oa...) whose users are synchronised")
	pf := addPolicyFlags(f)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	id, err := tenantArg(f, pos)
	if err != nil {
		return err
	}
	if *orgURL == "" || *appID == "" {
		return usagef("--org-url and --app-id are required (to change only the policy use: oktasync tenant okta policy)")
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	key, err := cfg.Key()
	if err != nil {
		return errkind.E("tenant okta set", errkind.Invalid, "refusing to store the Okta API token without encryption: OKTASYNC_SECRET_KEY: "+err.Error(), err)
	}
	token := strings.TrimSpace(e.getenv(OktaTokenEnv))
	if token == "" && e.stdin != nil {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the API token from standard input: %w", err)
		}
		token = strings.TrimSpace(line)
	}
	if token == "" {
		return usagef("no Okta API token: set %s or give it on standard input (e.g. oktasync tenant okta set ... < token.txt)", OktaTokenEnv)
	}
	// Validate the URL and id the way the client will use them (no request is made).
	if _, err := oktaclient.New(oktaclient.Config{OrgURL: *orgURL, APIToken: token, AppID: *appID}); err != nil {
		return usagef("%s", errkind.Message(err))
	}
	sealed, err := syncer.Seal(key, id, token)
	if err != nil {
		return err
	}
	s, err := appstore.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer s.Close()
	var pol syncer.Policy
	if _, err := s.UpdateTenant(cliCtx(ctx), id, func(t *appstore.Tenant) error {
		pol, err = pf.apply(t)
		return err
	}); err != nil {
		return err
	}
	c, err := s.SetOktaConnection(cliCtx(ctx), appstore.OktaConnection{TenantID: id, OrgURL: strings.TrimRight(*orgURL, "/"), AppID: *appID, EncryptedToken: sealed})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Okta connection of tenant %s: org %s, app %s, API token stored encrypted.\n", id, c.OrgURL, c.AppID)
	printPolicy(e.stdout, pol)
	fmt.Fprintf(e.stdout, "Check it with: oktasync tenant okta test --tenant %s\n", id)
	return nil
}

func oktaPolicy(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant okta policy", "[--tenant T] [--schedule SPEC] [--full-schedule SPEC] [--conflict P] [--unmatched P] [--deactivate P]", "db").withTenant()
	pf := addPolicyFlags(f)
	id, s, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer s.Close()
	var pol syncer.Policy
	if !pf.any() {
		t, err := s.GetTenant(ctx, id)
		if err != nil {
			return err
		}
		pol, err = syncer.PolicyOf(t)
		printPolicy(e.stdout, pol)
		return err
	}
	if _, err := s.UpdateTenant(cliCtx(ctx), id, func(t *appstore.Tenant) error {
		pol, err = pf.apply(t)
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Sync policy of tenant %s:\n", id)
	printPolicy(e.stdout, pol)
	return nil
}

type oktaOut struct {
	Tenant   string        `json:"tenant"`
	OrgURL   string        `json:"orgUrl"`
	AppID    string        `json:"appId"`
	APIToken string        `json:"apiToken"`
	Policy   syncer.Policy `json:"policy"`
	Updated  time.Time     `json:"updated"`
}

func oktaShow(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant okta show", "[--tenant T] [--json]", "db").withTenant().withJSON()
	id, s, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer s.Close()
	t, err := s.GetTenant(ctx, id)
	if err != nil {
		return err
	}
	c, err := s.GetOktaConnection(ctx, id)
	if err != nil {
		return err
	}
	pol, perr := syncer.PolicyOf(t)
	out := oktaOut{Tenant: id, OrgURL: c.OrgURL, AppID: c.AppID, APIToken: "(stored encrypted)", Policy: pol, Updated: c.Updated}
	if *f.json {
		return printJSON(e.stdout, out)
	}
	table(e.stdout, []string{"TENANT", "ORG URL", "APP ID", "API TOKEN", "UPDATED"}, [][]string{{id, c.OrgURL, c.AppID, out.APIToken, c.Updated.Local().Format(time.RFC3339)}})
	fmt.Fprintln(e.stdout)
	printPolicy(e.stdout, pol)
	return perr
}

func oktaTest(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant okta test", "[--tenant T]", "db", "secret-key").withTenant()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	id, err := tenantArg(f, pos)
	if err != nil {
		return err
	}
	s, cfg, err := f.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	sy, err := newSyncer(cfg, s)
	if err != nil {
		return err
	}
	c, err := sy.Client(ctx, id)
	if err != nil {
		return err
	}
	conn, err := s.GetOktaConnection(ctx, id)
	if err != nil {
		return err
	}
	res, err := c.Check(ctx)
	if err != nil {
		return errkind.E("tenant okta test", errkind.Of(err), fmt.Sprintf("Okta at %s refused the check: %s", conn.OrgURL, orDash(errkind.Message(err))), err)
	}
	more := ""
	if res.More {
		more = " (more on further pages)"
	}
	fmt.Fprintf(e.stdout, "OK: %s answers with this API token.\n", conn.OrgURL)
	table(e.stdout, []string{"APP ID", "LABEL", "NAME", "STATUS", "APP USERS ON FIRST PAGE"}, [][]string{{res.AppID, res.AppLabel, res.AppName, res.AppStatus, strconv.Itoa(res.Users) + more}})
	return nil
}

func oktaRemove(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant okta remove", "[--tenant T]", "db").withTenant()
	id, s, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.DeleteOktaConnection(cliCtx(ctx), id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Okta connection of tenant %s removed; its syncs stop.\n", id)
	return nil
}

func tenantMapping(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "tenant mapping", args, map[string]func(context.Context, *env, []string) error{
		"show": mappingShow,
	}, []string{"show"})
}

type mappingRow struct {
	App    string `json:"app"`
	Okta   string `json:"okta"`
	Custom bool   `json:"custom,omitempty"`
}

func mappingShow(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant mapping show", "[--tenant T] [--json]", "db").withTenant().withJSON()
	id, s, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer s.Close()
	attrs, err := s.ListAttributes(ctx, id)
	if err != nil {
		return err
	}
	m := syncer.DefaultMapping(attrs)
	rows := []mappingRow{{App: "userName", Okta: syncer.KeyUserName}, {App: "active", Okta: "(assignment to the app)"}}
	for _, fl := range m.Fields {
		rows = append(rows, mappingRow{App: fl.SCIM, Okta: fl.Okta, Custom: fl.Custom})
	}
	if *f.json {
		return printJSON(e.stdout, rows)
	}
	var tr [][]string
	for _, r := range rows {
		note := ""
		if r.Custom {
			note = "custom attribute"
		}
		tr = append(tr, []string{r.App, "<->", r.Okta, note})
	}
	table(e.stdout, []string{"APP (SCIM)", "", "OKTA APP USER", ""}, tr)
	return nil
}
