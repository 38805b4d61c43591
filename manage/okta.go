package manage

import (
	"context"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/syncer"
)

// PolicyChanges are the sync policy settings to change; "" leaves one as it is.
type PolicyChanges struct {
	Schedule, FullSchedule, Conflict, Unmatched, Deactivate string
}

func (p PolicyChanges) any() bool {
	return p.Schedule != "" || p.FullSchedule != "" || p.Conflict != "" || p.Unmatched != "" || p.Deactivate != ""
}

// apply sets the given settings on the tenant's policy, validating the result.
func (p PolicyChanges) apply(t *appstore.Tenant) (syncer.Policy, error) {
	pol, err := syncer.PolicyOf(*t)
	if err != nil && !p.any() {
		return pol, err
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&pol.Schedule, p.Schedule)
	set(&pol.FullSchedule, p.FullSchedule)
	set((*string)(&pol.Conflict), p.Conflict)
	set((*string)(&pol.Unmatched), p.Unmatched)
	set((*string)(&pol.Deactivate), p.Deactivate)
	if err := pol.Validate(); err != nil {
		return pol, errkind.InvalidField("manage.Policy", policyField(err.Error()), "%v", err)
	}
	pol.Apply(t)
	return pol, nil
}

// policyField names the setting a policy validation message is about.
func policyField(msg string) string {
	for _, f := range []struct{ setting, field string }{
		{syncer.SettingFullSchedule, "fullSchedule"}, {syncer.SettingSchedule, "schedule"}, {syncer.SettingConflict, "conflict"},
		{syncer.SettingUnmatched, "unmatched"}, {syncer.SettingDeactivate, "deactivate"},
	} {
		if strings.Contains(msg, f.setting) {
			return f.field
		}
	}
	return "policy"
}

// OktaConnection is a tenant's connection to its Okta org, never with the API token.
type OktaConnection struct {
	Tenant  string        `json:"tenant"`
	OrgURL  string        `json:"orgUrl"`
	AppID   string        `json:"appId"`
	Policy  syncer.Policy `json:"policy"`
	Updated time.Time     `json:"updated"`
}

// NewOktaConnection is what connecting a tenant to Okta takes.
type NewOktaConnection struct {
	OrgURL, AppID string
	// APIToken is the Okta API token; it is stored encrypted with the secret key.
	APIToken string
	Policy   PolicyChanges
}

func (m *Manager) keyNeeded(op, why string) error {
	return errkind.E(op, errkind.Invalid, why+": OKTASYNC_SECRET_KEY: "+errkind.MessageOr(m.opts.KeyErr), m.opts.KeyErr)
}

// SetOktaConnection connects a tenant to its Okta org (replacing any connection) and
// applies the policy changes. The API token is checked for form, not against Okta.
func (m *Manager) SetOktaConnection(ctx context.Context, tenant string, in NewOktaConnection) (OktaConnection, error) {
	const op = "manage.SetOktaConnection"
	if m.opts.Key == nil {
		return OktaConnection{}, m.keyNeeded(op, "refusing to store the Okta API token without encryption")
	}
	token := strings.TrimSpace(in.APIToken)
	if token == "" {
		return OktaConnection{}, errkind.InvalidField(op, "apiToken", "no Okta API token")
	}
	// Validate the URL and id the way the client will use them (no request is made).
	if _, err := oktaclient.New(oktaclient.Config{OrgURL: in.OrgURL, APIToken: token, AppID: in.AppID}); err != nil {
		field := "orgUrl"
		if strings.Contains(strings.ToLower(errkind.Message(err)), "app") {
			field = "appId"
		}
		return OktaConnection{}, errkind.InvalidField(op, field, "%s", errkind.Message(err))
	}
	sealed, err := syncer.Seal(m.opts.Key, tenant, token)
	if err != nil {
		return OktaConnection{}, err
	}
	var pol syncer.Policy
	if _, err := m.store.UpdateTenant(ctx, tenant, func(t *appstore.Tenant) error {
		pol, err = in.Policy.apply(t)
		return err
	}); err != nil {
		return OktaConnection{}, err
	}
	c, err := m.store.SetOktaConnection(ctx, appstore.OktaConnection{TenantID: tenant, OrgURL: strings.TrimRight(in.OrgURL, "/"), AppID: in.AppID, EncryptedToken: sealed})
	if err != nil {
		return OktaConnection{}, err
	}
	return OktaConnection{Tenant: tenant, OrgURL: c.OrgURL, AppID: c.AppID, Policy: pol, Updated: c.Updated}, nil
}

// GetOktaConnection returns a tenant's Okta connection with its sync policy. A stored
// policy that no longer validates is returned with the error that says why.
func (m *Manager) GetOktaConnection(ctx context.Context, tenant string) (OktaConnection, error) {
	t, err := m.store.GetTenant(ctx, tenant)
	if err != nil {
		return OktaConnection{}, err
	}
	c, err := m.store.GetOktaConnection(ctx, tenant)
	if err != nil {
		return OktaConnection{}, err
	}
	pol, perr := syncer.PolicyOf(t)
	return OktaConnection{Tenant: tenant, OrgURL: c.OrgURL, AppID: c.AppID, Policy: pol, Updated: c.Updated}, perr
}

// RemoveOktaConnection disconnects a tenant from Okta; its syncs stop.
func (m *Manager) RemoveOktaConnection(ctx context.Context, tenant string) error {
	return m.store.DeleteOktaConnection(ctx, tenant)
}

// TestOktaConnection checks a tenant's connection against Okta.
func (m *Manager) TestOktaConnection(ctx context.Context, tenant string) (OktaConnection, oktaclient.CheckResult, error) {
	const op = "manage.TestOktaConnection"
	var res oktaclient.CheckResult
	sy, err := m.cliSyncer(op)
	if err != nil {
		return OktaConnection{}, res, err
	}
	c, err := sy.Client(ctx, tenant)
	if err != nil {
		return OktaConnection{}, res, err
	}
	conn, err := m.GetOktaConnection(ctx, tenant)
	if err != nil && errkind.Of(err) == errkind.NotFound {
		return conn, res, err
	}
	res, err = c.Check(ctx)
	if err != nil {
		msg := errkind.Message(err)
		if msg == "" {
			msg = "-"
		}
		return conn, res, errkind.E(op, errkind.Of(err), "Okta at "+conn.OrgURL+" refused the check: "+msg, err)
	}
	return conn, res, nil
}

// Policy returns a tenant's sync policy.
func (m *Manager) Policy(ctx context.Context, tenant string) (syncer.Policy, error) {
	t, err := m.store.GetTenant(ctx, tenant)
	if err != nil {
		return syncer.Policy{}, err
	}
	return syncer.PolicyOf(t)
}

// SetPolicy changes a tenant's sync policy.
func (m *Manager) SetPolicy(ctx context.Context, tenant string, p PolicyChanges) (syncer.Policy, error) {
	var pol syncer.Policy
	_, err := m.store.UpdateTenant(ctx, tenant, func(t *appstore.Tenant) error {
		var err error
		pol, err = p.apply(t)
		return err
	})
	return pol, err
}

// MappingRow is one attribute of the mapping between the app's users and the AppUser.
type MappingRow struct {
	App    string `json:"app"`
	Okta   string `json:"okta"`
	Custom bool   `json:"custom,omitempty"`
}

// Mapping returns the tenant's attribute mapping between app users and Okta AppUsers.
func (m *Manager) Mapping(ctx context.Context, tenant string) ([]MappingRow, error) {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return nil, err
	}
	attrs, err := m.store.ListAttributes(ctx, tenant)
	if err != nil {
		return nil, err
	}
	rows := []MappingRow{{App: "userName", Okta: syncer.KeyUserName}, {App: "active", Okta: "(assignment to the app)"}}
	for _, fl := range syncer.DefaultMapping(attrs).Fields {
		rows = append(rows, MappingRow{App: fl.SCIM, Okta: fl.Okta, Custom: fl.Custom})
	}
	return rows, nil
}

// cliSyncer is the sync worker for an operation that must read stored Okta tokens.
func (m *Manager) cliSyncer(op string) (*syncer.Syncer, error) {
	if m.opts.Key == nil {
		return nil, m.keyNeeded(op, "cannot read stored Okta API tokens")
	}
	return m.syncer, nil
}

// RunSync runs a sync of the tenant now and waits for it to finish. The report is
// returned with the error when the run was recorded but did not succeed.
func (m *Manager) RunSync(ctx context.Context, tenant string, opts syncer.RunOptions) (syncer.Report, error) {
	sy, err := m.cliSyncer("manage.RunSync")
	if err != nil {
		return syncer.Report{}, err
	}
	return sy.Run(ctx, tenant, opts)
}

// StartSync begins a sync of the tenant that goes on in the background (on
// Options.BaseCtx) and returns the run as it starts. A run already going is a Conflict;
// a tenant without an Okta connection Invalid.
func (m *Manager) StartSync(ctx context.Context, tenant string, full, dryRun bool, trigger string) (syncer.RunJSON, error) {
	return m.admin.Start(ctx, tenant, syncer.RunOptions{Full: full, DryRun: dryRun, Trigger: trigger})
}

// ListSyncRuns returns recent runs, newest first, of a tenant ("" for every tenant);
// runs in which users failed carry up to withErrors of the failures.
func (m *Manager) ListSyncRuns(ctx context.Context, tenant string, limit, withErrors int) ([]syncer.RunJSON, error) {
	return m.admin.Runs(ctx, tenant, limit, withErrors)
}

// GetSyncRun returns one run of a tenant with its errors (and its plan while this
// process remembers it).
func (m *Manager) GetSyncRun(ctx context.Context, tenant string, id int64) (syncer.RunJSON, error) {
	return m.admin.Run(ctx, tenant, id)
}
