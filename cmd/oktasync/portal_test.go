package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/oktasim"
	"github.com/oktasync/oktasync/web/browsertest"
)

// screenshotDir is where the README's pictures of the pages live.
var screenshotDir = filepath.Join("..", "..", "docs", "screenshots")

// portalRig is `oktasync serve` with a browser on its pages and oktasim as the
// customer's Okta org.
type portalRig struct {
	t     *testing.T
	serve *server
	cli   *cli
	sim   *oktasim.Server
	store appstore.Store
	base  string
}

func newPortalRig(t *testing.T, b storetest.Backend) *portalRig {
	dbURL := b.URL(t)
	vars := map[string]string{"OKTASYNC_DB": dbURL, "OKTASYNC_SECRET_KEY": testKey, "OKTASYNC_CONSOLE_LINK": "true"}
	s := startServe(t, vars)
	c := newCLI(t, dbURL)
	c.env["OKTASYNC_SECRET_KEY"] = testKey
	c.env["OKTASYNC_LISTEN"] = s.addr // the CLI's links point where serve listens, as their shared settings would
	sim := oktasim.NewServer(oktasim.WithAppLabel("Acme HR"))
	t.Cleanup(sim.Close)
	st, err := appstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &portalRig{t: t, serve: s, cli: c, sim: sim, store: st, base: "http://" + s.addr}
}

// pushes waits for oktasim's push engine to finish and returns its exchanges since
// the last call, as "METHOD path status".
func (r *portalRig) pushes() []oktasim.Push {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.sim.Sim.WaitIdle(ctx); err != nil {
		r.t.Fatalf("push queue did not drain: %v", err)
	}
	p := r.sim.Sim.Pushes()
	r.sim.Sim.ClearPushes()
	return p
}

func (r *portalRig) assign(login, first, last string) oktasim.User {
	r.t.Helper()
	u, err := r.sim.Sim.CreateUser(map[string]any{"login": login, "email": login, "firstName": first, "lastName": last}, true)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.sim.Sim.AssignUser(r.sim.AppID, u.ID, "", nil); err != nil {
		r.t.Fatal(err)
	}
	return u
}

func statuses(ps []oktasim.Push) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Status)
	}
	return out
}

func allOK(ps []oktasim.Push) bool {
	for _, p := range ps {
		if p.Status >= 400 || p.Error != "" {
			return false
		}
	}
	return len(ps) > 0
}

func rowWith(table, text string) string {
	return `//table[@id="` + table + `"]//tr[.//*[normalize-space(.)="` + text + `"]]`
}

// TestSetupPortalFlow walks the customer's setup in a real browser against a real
// `oktasync serve`, with oktasim as Okta: open the setup link, generate a token and read
// it from the page, point Okta at the SCIM URL with it, see the users and groups Okta
// pushes, turn invitations on, add a custom attribute, set the token inactive and renew
// it, connect Okta for the import and run a sync.
func TestSetupPortalFlow(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			r := newPortalRig(t, b)
			shots := b.Name == "sqlite"
			shot := func(tb *browsertest.Tab, name string) {
				if shots {
					tb.Screenshot(filepath.Join(screenshotDir, name+".png"))
				}
			}
			r.cli.ok("tenant", "create", "acme", "--name", "Acme Inc.", "--enable")
			link := lastLine(r.cli.ok("tenant", "setup-link", "acme", "--ttl", "2h"))
			if !strings.HasPrefix(link, r.base+"/setup/") {
				t.Fatalf("setup-link printed %q last", link)
			}

			tb := browsertest.NewTab(t)
			if st := tb.Open(link); st != http.StatusOK || tb.Location() != r.base+"/portal/acme/okta" {
				t.Fatalf("setup link: %d at %s", st, tb.Location())
			}
			if got := tb.Text("#provisioning-state"); got != "Provisioning is on" {
				t.Errorf("provisioning state %q", got)
			}
			if tb.Text("#scim-url") != r.base+"/scim/v2" {
				t.Errorf("SCIM URL shown: %q", tb.Text("#scim-url"))
			}
			shot(tb, "okta-provisioning-empty")

			// Generate, confirm in the dialog, read the token once.
			tb.Do("generate", chromedp.Click(browsertest.Button("Generate token"), chromedp.NodeVisible))
			if st := tb.Click("#confirm-ok"); st != http.StatusCreated {
				t.Fatalf("generate: %d", st)
			}
			token, scimURL := tb.Text("#new-secret"), tb.Text("#new-scim-url")
			if !strings.HasPrefix(token, "oks_") || scimURL != r.base+"/scim/v2" {
				t.Fatalf("new token %q at %q", token, scimURL)
			}
			shot(tb, "okta-provisioning-token")
			tb.Open(r.base + "/portal/acme/okta")
			if strings.Contains(browsertest.Eval[string](tb, `document.body.innerText`), token) {
				t.Fatal("the token is shown again after leaving the page")
			}

			// Okta: Test API Credentials, then a user and a group.
			r.sim.Sim.SetSCIMConnection(oktasim.SCIMConnection{BaseURL: scimURL, Token: token,
				CreateUsers: true, UpdateUsers: true, DeactivateUsers: true, GroupPush: true})
			if err := r.sim.Sim.TestConnection(context.Background(), r.sim.AppID); err != nil {
				t.Fatalf("Test API Credentials: %v", err)
			}
			// The page shows that Okta's Test API Credentials reached us (the log is written
			// in batches, so it may take a moment).
			for i := 0; ; i++ {
				tb.Open(r.base + "/portal/acme/okta")
				if last := tb.Text("#last-request"); strings.Contains(last, "GET /scim/v2/Users?startIndex=1&count=2 answered 200") {
					break
				} else if i == 50 {
					t.Fatalf("last request from Okta: %q", last)
				}
				time.Sleep(100 * time.Millisecond)
			}
			ann := r.assign("ann.lee@acme.example", "Ann", "Lee")
			g, err := r.sim.Sim.CreateGroup("Engineering", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.sim.Sim.AddGroupMember(g.ID, ann.ID); err != nil {
				t.Fatal(err)
			}
			if err := r.sim.Sim.PushGroup(r.sim.AppID, g.ID); err != nil {
				t.Fatal(err)
			}
			if ps := r.pushes(); !allOK(ps) {
				t.Fatalf("pushes with the generated token: %v", statuses(ps))
			}

			tb.Open(r.base + "/portal/acme/users")
			if src := tb.Text(rowWith("users", "ann.lee@acme.example") + `/td[@class="source"]`); src != "SCIM Okta" {
				t.Errorf("Source of Okta's user: %q, want SCIM Okta", src)
			}
			shot(tb, "users")
			tb.Click(`//table[@id="users"]//a[normalize-space(.)="ann.lee@acme.example"]`)
			if h := tb.Text("h1"); h != "ann.lee@acme.example" {
				t.Errorf("user page heading %q", h)
			}
			if hist := tb.Text("table.audit"); !strings.Contains(hist, "user.create") || !strings.Contains(hist, "scim") {
				t.Errorf("user history: %q", hist)
			}
			tb.Open(r.base + "/portal/acme/groups")
			if n := tb.Text(rowWith("groups", "Engineering") + `/td[@class="members"]`); n != "1" {
				t.Errorf("Engineering members: %q, want 1", n)
			}
			shot(tb, "groups")
			tb.Open(r.base + "/portal/acme/okta")
			if used := tb.Text(`//table[@id="tokens"]//tbody/tr/td[4]`); used == "never" {
				t.Errorf("token last used %q after Okta's requests", used)
			}

			// Invitations, with a template; an unknown variable is refused by name.
			tb.Open(r.base + "/portal/acme/settings")
			tb.Do("fill the invitation", chromedp.Click(chromedp.ID("inviteUsers")),
				chromedp.SendKeys(chromedp.ID("subject"), "Welcome to Acme, ${givenName}"),
				chromedp.SendKeys(chromedp.ID("text"), "Sign in as ${userName}, ${nickname}."))
			if st := tb.Click(browsertest.Button("Save Changes")); st != http.StatusBadRequest {
				t.Errorf("unknown variable saved: %d", st)
			}
			if msg := tb.Text(".notice.err"); !strings.Contains(msg, "${nickname}") {
				t.Errorf("refusal does not name the variable: %q", msg)
			}
			tb.Do("fix the text", chromedp.SetValue(chromedp.ID("text"), "Sign in as ${userName}."))
			tb.Click(browsertest.Button("Save Changes"))
			if msg := tb.Text(".notice.ok"); msg != "Settings saved." {
				t.Errorf("after saving: %q", msg)
			}
			if !browsertest.Eval[bool](tb, `document.getElementById("inviteUsers").checked`) {
				t.Error("invitations not on after saving")
			}
			r.assign("bob.ng@acme.example", "Bob", "Ng")
			if ps := r.pushes(); !allOK(ps) {
				t.Fatalf("pushes of Bob: %v", statuses(ps))
			}
			mails, err := r.store.DueMail(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(mails) != 1 || mails[0].To != "bob.ng@acme.example" || mails[0].Subject != "Welcome to Acme, Bob" || mails[0].Body != "Sign in as bob.ng@acme.example." {
				t.Fatalf("mail after invitations on: %+v", mails)
			}

			// A custom attribute, seen in /Schemas.
			tb.Do("add an attribute", chromedp.SendKeys(chromedp.ID("attr-name"), "costCenterCode"),
				chromedp.SendKeys(chromedp.ID("attr-desc"), "Finance cost centre"))
			tb.Click(browsertest.Button("Add Custom Attribute"))
			if got := tb.Text(rowWith("attributes", "costCenterCode") + "/td[2]"); got != "string" {
				t.Errorf("attribute row type %q", got)
			}
			shot(tb, "settings")
			req, _ := http.NewRequest("GET", scimURL+"/Schemas", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), `"costCenterCode"`) {
				t.Errorf("/Schemas lacks the new attribute: %d %.300s", resp.StatusCode, body)
			}

			// Inactive: Okta's next push gets 401. Renewed: the new secret works.
			tb.Open(r.base + "/portal/acme/okta")
			prefix := token[:len("oks_")+10]
			tb.Click(`//tr[@data-prefix="` + prefix + `"]//button[normalize-space(.)="Set to Inactive"]`)
			r.assign("carol.diaz@acme.example", "Carol", "Diaz")
			if ps := r.pushes(); len(ps) == 0 || ps[0].Status != http.StatusUnauthorized {
				t.Fatalf("push with an inactive token: %v, want 401", statuses(ps))
			}
			tb.Do("renew", chromedp.Click(`//tr[@data-prefix="`+prefix+`"]//button[normalize-space(.)="Renew"]`, chromedp.NodeVisible))
			tb.Click("#confirm-ok")
			renewed := tb.Text("#new-secret")
			if renewed == token || !strings.HasPrefix(renewed, "oks_") {
				t.Fatalf("renewed token %q", renewed)
			}
			r.sim.Sim.SetSCIMConnection(oktasim.SCIMConnection{BaseURL: scimURL, Token: renewed,
				CreateUsers: true, UpdateUsers: true, DeactivateUsers: true, GroupPush: true})
			r.assign("dan.obi@acme.example", "Dan", "Obi")
			if ps := r.pushes(); !allOK(ps) {
				t.Fatalf("push with the renewed token: %v", statuses(ps))
			}

			tb.Open(r.base + "/portal/acme/users")
			tb.Click(browsertest.Button("Search"), chromedp.SendKeys(chromedp.ID("q"), "Obi"))
			if got := tb.Text("#user-count"); got != `1 user matching “Obi”` {
				t.Errorf("search by family name: %q", got)
			}

			// Import to Okta: connect, test, Sync now, watch it finish.
			r.cli.ok("users", "create", "erin.app@acme.example", "--tenant", "acme", "--given-name", "Erin", "--family-name", "App", "--email", "erin.app@acme.example")
			tb.Open(r.base + "/portal/acme/import")
			tb.Do("connect", chromedp.SendKeys(chromedp.ID("orgUrl"), r.sim.URL), chromedp.SendKeys(chromedp.ID("appId"), r.sim.AppID),
				chromedp.SendKeys(chromedp.ID("apiToken"), r.sim.Token))
			tb.Click(browsertest.Button("Connect"))
			if strings.Contains(browsertest.Eval[string](tb, `document.documentElement.outerHTML`), r.sim.Token) {
				t.Fatal("the Okta API token is shown on the page")
			}
			tb.Click(browsertest.Button("Test connection"))
			if got := tb.Text("#check-result"); !strings.Contains(got, "Acme HR") {
				t.Errorf("test connection: %q", got)
			}
			tb.Click(browsertest.Button("Sync now"))
			if !strings.Contains(tb.Location(), "/portal/acme/import/runs/") {
				t.Fatalf("Sync now went to %s", tb.Location())
			}
			tb.Do("wait for the run to finish", chromedp.WaitVisible(`//span[@id="run-status"][normalize-space(.)="succeeded"]`))
			shot(tb, "sync-run")
			found := false
			for _, au := range r.sim.Sim.AppUsers(r.sim.AppID) {
				found = found || strings.EqualFold(au.UserName, "erin.app@acme.example")
			}
			if !found {
				t.Error("the app's user is not an AppUser after Sync now")
			}
			tb.Open(r.base + "/portal/acme/import")
			if got := tb.Text(`//table[@id="runs"]//tbody/tr[1]/td[@class="status"]`); got != "succeeded" {
				t.Errorf("history's last run: %q", got)
			}
			shot(tb, "import")
			tb.Click(browsertest.Button("Dry run"))
			tb.Do("wait for the dry run", chromedp.WaitVisible(`//span[@id="run-status"][normalize-space(.)="succeeded"]`))
			if got := tb.Text("#progress dl"); !strings.Contains(got, "dry run: nothing changed") {
				t.Errorf("dry run page: %q", got)
			}
			tb.Open(r.base + "/portal/acme/activity?status=2xx")
			if got := tb.Text(`//table[@id="scim-requests"]//tr[.//code[normalize-space(.)="/scim/v2/Users"]][1]/td[@class="status"]`); got != "201" {
				t.Errorf("SCIM log's create: status %q", got)
			}
			shot(tb, "activity")
			tb.Viewport(390, 844)
			tb.Open(r.base + "/portal/acme/users")
			shot(tb, "users-phone")

			// The console, through the one-time link `make run` prints.
			console := consoleLink(t, r.serve.stdout.String())
			ctb := browsertest.NewTab(t)
			ctb.Open(console)
			if ctb.Location() != r.base+"/console" {
				t.Fatalf("console link went to %s", ctb.Location())
			}
			if got := ctb.Text(rowWith("tenants", "acme") + "/td[3]"); got != "4" {
				t.Errorf("acme users in the console: %q, want 4 (Ann, Bob, Dan, Erin; Carol was refused)", got)
			}
			shot(ctb, "console")
			if st := browsertest.NewTab(t).Open(console); st != http.StatusGone {
				t.Errorf("console link opened twice: %d, want 410", st)
			}
		})
	}
}

// consoleLink reads the one-time console link serve prints with OKTASYNC_CONSOLE_LINK.
func consoleLink(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Console sign-in (once):"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("serve printed no console link:\n%s", out)
	return ""
}

func init() {
	// Screenshots land next to the README's other files; make sure the folder exists
	// when they are asked for.
	if os.Getenv(browsertest.ScreenshotsEnv) == "1" {
		os.MkdirAll(screenshotDir, 0o755)
	}
}
