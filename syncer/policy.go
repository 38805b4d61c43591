package syncer

import (
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/oktasync/oktasync/appstore"
)

// Tenant settings (appstore.TenantSettings.Extra) that steer the worker.
const (
	SettingConflict     = "sync.conflict"      // okta-wins (default), app-wins, newest-wins
	SettingUnmatched    = "sync.unmatched"     // create (default), report
	SettingDeactivate   = "sync.deactivate"    // unassign (default), deactivate, ignore
	SettingSchedule     = "sync.schedule"      // cron spec of the incremental sync; "off" disables
	SettingFullSchedule = "sync.full-schedule" // cron spec of the full drift check; "off" disables
)

// Defaults of the schedules.
const (
	DefaultSchedule     = "*/15 * * * *"
	DefaultFullSchedule = "0 3 * * *"
)

// ConflictPolicy settles a value changed on both sides since the last sync.
type ConflictPolicy string

// Conflict policies.
const (
	OktaWins   ConflictPolicy = "okta-wins"
	AppWins    ConflictPolicy = "app-wins"
	NewestWins ConflictPolicy = "newest-wins" // the side whose record changed last
)

func (p ConflictPolicy) winner(appNewer bool) Side {
	switch {
	case p == AppWins, p == NewestWins && appNewer:
		return SideApp
	}
	return SideOkta
}

// UnmatchedPolicy says what to do with an app user no Okta user matches.
type UnmatchedPolicy string

// Unmatched policies.
const (
	CreateUnmatched UnmatchedPolicy = "create" // create the Okta user (STAGED, no email) and assign it
	ReportUnmatched UnmatchedPolicy = "report" // leave it, and report it as unmatched
)

// DeactivatePolicy says what a deactivation (and reactivation) in the app does in Okta.
type DeactivatePolicy string

// Deactivation policies.
const (
	// Unassign removes the user from the app; reactivation assigns it again.
	Unassign DeactivatePolicy = "unassign"
	// DeactivateUser deactivates the Okta user (which also removes its app
	// assignments); reactivation activates it (no email) and assigns it again.
	DeactivateUser DeactivatePolicy = "deactivate"
	// IgnoreDeactivation leaves Okta alone.
	IgnoreDeactivation DeactivatePolicy = "ignore"
)

// Policy is a tenant's sync policy.
type Policy struct {
	Conflict     ConflictPolicy   `json:"conflict"`
	Unmatched    UnmatchedPolicy  `json:"unmatched"`
	Deactivate   DeactivatePolicy `json:"deactivate"`
	Schedule     string           `json:"schedule"`
	FullSchedule string           `json:"fullSchedule"`
}

// PolicyOf reads a tenant's policy, defaults filled in. Invalid stored values are
// reported rather than silently replaced.
func PolicyOf(t appstore.Tenant) (Policy, error) {
	x := t.Settings.Extra
	p := Policy{
		Conflict:     ConflictPolicy(orDefault(x[SettingConflict], string(OktaWins))),
		Unmatched:    UnmatchedPolicy(orDefault(x[SettingUnmatched], string(CreateUnmatched))),
		Deactivate:   DeactivatePolicy(orDefault(x[SettingDeactivate], string(Unassign))),
		Schedule:     orDefault(x[SettingSchedule], DefaultSchedule),
		FullSchedule: orDefault(x[SettingFullSchedule], DefaultFullSchedule),
	}
	return p, p.Validate()
}

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}

// Validate checks every field.
func (p Policy) Validate() error {
	if err := oneOf(SettingConflict, string(p.Conflict), OktaWins, AppWins, NewestWins); err != nil {
		return err
	}
	if err := oneOf(SettingUnmatched, string(p.Unmatched), CreateUnmatched, ReportUnmatched); err != nil {
		return err
	}
	if err := oneOf(SettingDeactivate, string(p.Deactivate), Unassign, DeactivateUser, IgnoreDeactivation); err != nil {
		return err
	}
	for name, spec := range map[string]string{SettingSchedule: p.Schedule, SettingFullSchedule: p.FullSchedule} {
		if _, err := ParseSchedule(spec); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func oneOf[T ~string](name, v string, allowed ...T) error {
	for _, a := range allowed {
		if v == string(a) {
			return nil
		}
	}
	return fmt.Errorf("%s: %q is not one of %v", name, v, allowed)
}

// Apply stores the policy's fields in tenant settings.
func (p Policy) Apply(t *appstore.Tenant) {
	if t.Settings.Extra == nil {
		t.Settings.Extra = map[string]string{}
	}
	t.Settings.Extra[SettingConflict] = string(p.Conflict)
	t.Settings.Extra[SettingUnmatched] = string(p.Unmatched)
	t.Settings.Extra[SettingDeactivate] = string(p.Deactivate)
	t.Settings.Extra[SettingSchedule] = p.Schedule
	t.Settings.Extra[SettingFullSchedule] = p.FullSchedule
}

// ParseSchedule parses a standard five-field cron spec (or a descriptor such as
// "@hourly" or "@every 5m"); "off" gives a nil schedule.
func ParseSchedule(spec string) (cron.Schedule, error) {
	if strings.EqualFold(strings.TrimSpace(spec), "off") {
		return nil, nil
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("bad cron spec %q: %w", spec, err)
	}
	return s, nil
}
