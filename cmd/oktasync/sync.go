package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/syncer"
)

// OktaTokenEnv names the variable `tenant okta set` reads the Okta API token from. The
// token is never taken from the command line, where ps and shell history would show it.
const OktaTokenEnv = "OKTASYNC_OKTA_API_TOKEN"

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
	m, err := f.openManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	var prog *progress
	if !*quiet && !*f.json {
		prog = newProgress(e.stdout)
	}
	opts := syncer.RunOptions{Full: *full, DryRun: *dry, Trigger: syncer.TriggerCLI}
	if prog != nil {
		opts.Progress = prog.update
	}
	rep, err := m.RunSync(ctx, *f.tenant, opts)
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
	_, m, err := f.start(ctx, args, 0, "")
	if err != nil {
		return err
	}
	defer m.Close()
	out, err := m.ListSyncRuns(ctx, *tenant, *limit, 50)
	if err != nil {
		return err
	}
	if *f.json {
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

func (p *policyFlags) changes() manage.PolicyChanges {
	return manage.PolicyChanges{Schedule: *p.schedule, FullSchedule: *p.full, Conflict: *p.conflict, Unmatched: *p.unmatched, Deactivate: *p.deactivate}
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
	if _, err := cfg.Key(); err != nil {
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
	m, err := f.openManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := m.SetOktaConnection(cliCtx(ctx), id, manage.NewOktaConnection{OrgURL: *orgURL, AppID: *appID, APIToken: token, Policy: pf.changes()})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Okta connection of tenant %s: org %s, app %s, API token stored encrypted.\n", id, c.OrgURL, c.AppID)
	printPolicy(e.stdout, c.Policy)
	fmt.Fprintf(e.stdout, "Check it with: oktasync tenant okta test --tenant %s\n", id)
	return nil
}

func oktaPolicy(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant okta policy", "[--tenant T] [--schedule SPEC] [--full-schedule SPEC] [--conflict P] [--unmatched P] [--deactivate P]", "db").withTenant()
	pf := addPolicyFlags(f)
	id, m, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer m.Close()
	if pf.changes() == (manage.PolicyChanges{}) {
		pol, err := m.Policy(ctx, id)
		if errkind.Of(err) == errkind.NotFound {
			return err
		}
		printPolicy(e.stdout, pol)
		return err
	}
	pol, err := m.SetPolicy(cliCtx(ctx), id, pf.changes())
	if err != nil {
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
	id, m, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer m.Close()
	c, perr := m.GetOktaConnection(ctx, id)
	if k := errkind.Of(perr); k == errkind.NotFound || (perr != nil && c.Tenant == "") {
		return perr
	}
	out := oktaOut{Tenant: id, OrgURL: c.OrgURL, AppID: c.AppID, APIToken: "(stored encrypted)", Policy: c.Policy, Updated: c.Updated}
	if *f.json {
		return printJSON(e.stdout, out)
	}
	table(e.stdout, []string{"TENANT", "ORG URL", "APP ID", "API TOKEN", "UPDATED"}, [][]string{{id, c.OrgURL, c.AppID, out.APIToken, c.Updated.Local().Format(time.RFC3339)}})
	fmt.Fprintln(e.stdout)
	printPolicy(e.stdout, c.Policy)
	return perr
}

func oktaTest(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant okta test", "[--tenant T]", "db", "secret-key").withTenant()
	id, m, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer m.Close()
	conn, res, err := m.TestOktaConnection(ctx, id)
	if err != nil {
		return err
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
	id, m, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.RemoveOktaConnection(cliCtx(ctx), id); err != nil {
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

func mappingShow(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "tenant mapping show", "[--tenant T] [--json]", "db").withTenant().withJSON()
	id, m, err := f.startTenant(ctx, args)
	if err != nil {
		return err
	}
	defer m.Close()
	rows, err := m.Mapping(ctx, id)
	if err != nil {
		return err
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
