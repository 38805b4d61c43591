package syncer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/oktaclient"
)

// incremental synchronises the users with app changes not yet synchronised (and users
// the worker has never looked at), in id order, in bounded batches. Users without such
// changes cost nothing: no Okta call and no write.
func (r *Run) incremental(ctx context.Context) error {
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := r.s.Store.ScanSyncUsers(ctx, r.tenant.ID, appstore.ScanQuery{AfterID: after, Limit: 200, Dirty: true})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		after = batch[len(batch)-1].ID
		ids := make([]string, len(batch))
		for i, u := range batch {
			ids[i] = u.ID
		}
		states, err := r.s.Store.SyncStates(ctx, r.tenant.ID, ids)
		if err != nil {
			return err
		}
		each(ctx, r.s.workers(), batch, flushAfter(ctx, r, func(u appstore.SyncUser) {
			st, ok := states[u.ID]
			if err := r.syncDirty(ctx, u, st, ok); err != nil {
				r.failUser(ctx, u, st, ok, err)
			}
		}))
		r.progress(ctx, len(batch))
		if r.opts.DryRun {
			r.markPlanned(ids)
		}
	}
}

// userError carries the action that failed.
type userError struct {
	action string
	err    error
}

func (e *userError) Error() string { return e.action + ": " + e.err.Error() }
func (e *userError) Unwrap() error { return e.err }

func failed(action string, err error) error { return &userError{action: action, err: err} }

// failUser records a user's failure and remembers it in the user's sync state; the
// user's app changes stay unsynchronised, so the next run tries again.
func (r *Run) failUser(ctx context.Context, u appstore.SyncUser, st appstore.SyncState, hasState bool, err error) {
	action := "sync"
	var ue *userError
	if errors.As(err, &ue) {
		action, err = ue.action, ue.err
	}
	r.fail(ctx, &u.User, action, err)
	if r.opts.DryRun || ctx.Err() != nil {
		return
	}
	if !hasState {
		st = appstore.SyncState{TenantID: r.tenant.ID, UserID: u.ID}
	}
	st.LastError = action + ": " + err.Error()
	_ = r.s.Store.SaveSyncState(ctx, st, -1)
}

// syncDirty synchronises one user with unsynchronised app changes.
func (r *Run) syncDirty(ctx context.Context, u appstore.SyncUser, st appstore.SyncState, hasState bool) error {
	if u.OktaUserID != "" {
		au, found, err := r.getAppUser(ctx, u.OktaUserID)
		if err != nil {
			return failed("okta.get", err)
		}
		if !found {
			au = nil
		}
		return r.reconcile(ctx, u, st, hasState, au)
	}
	if u.Source == appstore.SourceApp {
		return r.importUser(ctx, u, st, hasState)
	}
	return r.linkProvisioned(ctx, u, st, hasState)
}

// getAppUser reads the user's assignment; found is false when there is none.
func (r *Run) getAppUser(ctx context.Context, oktaID string) (*oktaclient.AppUser, bool, error) {
	var au oktaclient.AppUser
	err := r.retry(ctx, func() (err error) {
		au, err = r.okta.GetAppUser(ctx, oktaID)
		return err
	})
	if errors.Is(err, errkind.NotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &au, true, nil
}

// markSynced records that a user needs nothing, keeping its state otherwise as it is.
func (r *Run) markSynced(ctx context.Context, u appstore.SyncUser, st appstore.SyncState, hasState bool) error {
	if r.opts.DryRun {
		return nil
	}
	if !hasState {
		st = appstore.SyncState{TenantID: r.tenant.ID, UserID: u.ID}
	}
	st.LastError = ""
	return r.s.Store.SaveSyncState(ctx, st, u.AppRev)
}

// linkProvisioned links a user that came through SCIM (or was created by the worker)
// to its AppUser. Okta's push sets externalId to the Okta user id, so one read
// confirms the link; users of another identity provider are left alone.
func (r *Run) linkProvisioned(ctx context.Context, u appstore.SyncUser, st appstore.SyncState, hasState bool) error {
	if u.ExternalID == "" {
		return r.markSynced(ctx, u, st, hasState)
	}
	au, found, err := r.getAppUser(ctx, u.ExternalID)
	if err != nil && !errors.Is(err, errkind.Invalid) {
		return failed("okta.get", err)
	}
	if !found || (au.ExternalID != "" && au.ExternalID != u.ID && !strings.EqualFold(au.UserName, u.UserName)) {
		return r.markSynced(ctx, u, st, hasState)
	}
	linked, err := r.link(ctx, u, au.ID)
	if err != nil {
		return err
	}
	return r.reconcile(ctx, linked, appstore.SyncState{}, false, au)
}

// link records the Okta user id on the app user, refusing to take an Okta user that
// another app user is linked to.
func (r *Run) link(ctx context.Context, u appstore.SyncUser, oktaID string) (appstore.SyncUser, error) {
	others, err := r.s.Store.FindSyncUsers(ctx, r.tenant.ID, appstore.ByOktaUserID, []string{oktaID})
	if err != nil {
		return u, failed(ActAppLink, err)
	}
	if o, ok := others[oktaID]; ok && o.ID != u.ID {
		return u, failed(ActAppLink, errkind.Errorf("syncer.link", errkind.Conflict, "Okta user %s is already linked to app user %s (%s)", oktaID, o.UserName, o.ID))
	}
	r.record(PlanItem{Action: ActAppLink, UserID: u.ID, UserName: u.UserName, OktaUserID: oktaID})
	u.OktaUserID = oktaID
	if r.opts.DryRun {
		return u, nil
	}
	_, err = r.s.Store.UpdateUser(r.actorCtx(ctx), r.tenant.ID, u.ID, func(cur *appstore.User) error {
		if cur.OktaUserID != "" && cur.OktaUserID != oktaID {
			return errkind.Errorf("syncer.link", errkind.Conflict, "app user is linked to Okta user %s meanwhile", cur.OktaUserID)
		}
		cur.OktaUserID = oktaID
		return nil
	})
	if err != nil {
		return u, failed(ActAppLink, err)
	}
	return u, nil
}

// importUser is "Import New Users" done through the management API: the app user is
// matched to an Okta user by login, then by primary email, or created (STAGED, no
// email) if the policy allows; then it is assigned to the app with the mapped profile
// and linked. Every step is idempotent, so a run killed anywhere in between finishes
// the job next time without duplicates: the login look-up finds a user created by the
// killed run, and assigning an assigned user only updates it.
func (r *Run) importUser(ctx context.Context, u appstore.SyncUser, st appstore.SyncState, hasState bool) error {
	if !u.Active {
		return r.markSynced(ctx, u, st, hasState) // deactivated before it ever reached Okta
	}
	ou, found, err := r.findOktaUser(ctx, &u.User)
	if err != nil {
		return failed("okta.find", err)
	}
	if !found {
		if r.policy.Unmatched == ReportUnmatched {
			r.record(PlanItem{Action: ActUnmatched, UserID: u.ID, UserName: u.UserName, Detail: "no Okta user has this login or primary email"})
			if r.opts.DryRun {
				return nil
			}
			if !hasState {
				st = appstore.SyncState{TenantID: r.tenant.ID, UserID: u.ID}
			}
			st.Unmatched, st.LastError = true, ""
			return r.s.Store.SaveSyncState(ctx, st, u.AppRev)
		}
		nu := r.newOktaUser(&u.User)
		r.record(PlanItem{Action: ActOktaCreate, UserID: u.ID, UserName: u.UserName, Values: map[string]any{"login": nu.Login, "email": nu.Email, "firstName": nu.FirstName, "lastName": nu.LastName}})
		if r.opts.DryRun {
			r.record(PlanItem{Action: ActOktaAssign, UserID: u.ID, UserName: u.UserName, Values: r.mapping.Profile(&u.User)})
			return nil
		}
		created, err := r.okta.CreateUser(ctx, nu)
		if err != nil {
			// A create that failed on the way back may have happened: look again.
			again, ok, ferr := r.findOktaUser(ctx, &u.User)
			if ferr != nil || !ok {
				return failed(ActOktaCreate, err)
			}
			created = again
		}
		ou = created
	}
	others, err := r.s.Store.FindSyncUsers(ctx, r.tenant.ID, appstore.ByOktaUserID, []string{ou.ID})
	if err != nil {
		return err
	}
	if o, ok := others[ou.ID]; ok && o.ID != u.ID {
		return failed(ActOktaAssign, errkind.Errorf("syncer.import", errkind.Conflict, "the matching Okta user %s is already linked to app user %s", ou.ID, o.UserName))
	}
	// The app's own values only: after a killed run, values Okta's push wrote into the
	// app meanwhile are not sent back as if the app had set them.
	profile := r.mapping.ProfileOf(&u.User, u.AppEdited)
	r.record(PlanItem{Action: ActOktaAssign, UserID: u.ID, UserName: u.UserName, OktaUserID: ou.ID, Values: profile})
	if r.opts.DryRun {
		return nil
	}
	var au oktaclient.AppUser
	if err := r.retry(ctx, func() (err error) {
		au, err = r.okta.AssignUser(ctx, oktaclient.Assignment{UserID: ou.ID, UserName: u.UserName, Profile: profile})
		return err
	}); err != nil {
		return failed(ActOktaAssign, err)
	}
	linked, err := r.link(ctx, u, ou.ID)
	if err != nil {
		return err
	}
	return r.reconcile(ctx, linked, appstore.SyncState{}, false, &au)
}

// findOktaUser matches an app user to an Okta user: by login (the userName), then by
// primary email when exactly one Okta user has it.
func (r *Run) findOktaUser(ctx context.Context, u *appstore.User) (oktaclient.User, bool, error) {
	var ou oktaclient.User
	err := r.retry(ctx, func() (err error) {
		ou, err = r.okta.FindUserByLogin(ctx, u.UserName)
		return err
	})
	if err == nil {
		return ou, true, nil
	}
	if !errors.Is(err, errkind.NotFound) && !errors.Is(err, errkind.Invalid) {
		return ou, false, err
	}
	email := u.PrimaryEmail()
	if email == "" {
		return ou, false, nil
	}
	var list []oktaclient.User
	if err := r.retry(ctx, func() (err error) {
		list, err = r.okta.FindUsersByEmail(ctx, email)
		return err
	}); err != nil {
		return ou, false, err
	}
	switch len(list) {
	case 0:
		return ou, false, nil
	case 1:
		return list[0], true, nil
	}
	return ou, false, errkind.Errorf("syncer.match", errkind.Conflict, "%d Okta users have the primary email %s; link one by giving it the login %s", len(list), email, u.UserName)
}

// newOktaUser is the Okta user created for an unmatched app user. Okta requires a
// first and last name: missing ones are taken from the display name or the login.
func (r *Run) newOktaUser(u *appstore.User) oktaclient.NewUser {
	p := r.mapping.Profile(u)
	first, _ := p["givenName"].(string)
	last, _ := p["familyName"].(string)
	if first == "" || last == "" {
		dn := strings.Fields(u.DisplayName())
		if first == "" && len(dn) > 0 {
			first = dn[0]
		}
		if last == "" && len(dn) > 1 {
			last = strings.Join(dn[1:], " ")
		}
	}
	local, _, _ := strings.Cut(u.UserName, "@")
	if first == "" {
		first = local
	}
	if last == "" {
		last = local
	}
	email := u.PrimaryEmail()
	if email == "" {
		email = u.UserName
	}
	return oktaclient.NewUser{Login: u.UserName, Email: email, FirstName: first, LastName: last}
}

// reconcile merges one linked user three ways (app, AppUser, last snapshot) and writes
// the outcome to each side, then stores the new snapshot. au is nil when the user has
// no assignment (any more).
func (r *Run) reconcile(ctx context.Context, u appstore.SyncUser, st appstore.SyncState, hasState bool, au *oktaclient.AppUser) error {
	appV := r.mapping.AppValues(&u.User)
	var base map[string]any
	hasBase := hasState && st.OktaUserID == u.OktaUserID && st.Snapshot != nil
	if hasBase {
		base = st.Snapshot
	}
	var oktaV map[string]any
	if au != nil {
		oktaV = r.mapping.OktaValues(au)
		base = settlePending(base, oktaV)
	} else {
		// Without an assignment Okta has no profile to compare: only "active" changed
		// there; every other value counts as what was last agreed.
		oktaV = maps.Clone(base)
		if !hasBase {
			oktaV = maps.Clone(appV)
		}
		if oktaV == nil {
			oktaV = map[string]any{}
		}
		oktaV[KeyActive] = false
	}
	noBase := SideOkta
	if u.Source == appstore.SourceApp {
		noBase = SideApp
	}
	m := ThreeWay(MergeInput{Keys: r.mapping.Keys(), App: appV, Okta: oktaV, Base: base, HasBase: hasBase,
		Policy: r.policy.Conflict, AppNewer: au == nil || u.Updated.After(au.LastUpdated), NoBaseWinner: noBase})

	// Only what app writes changed since the last sync flows to Okta. Anything else
	// that differs on the app side came in through SCIM, from Okta's own push (which
	// also fills values the AppUser profile lacks, such as a default locale): such
	// values never flow back. Okta's value wins where it has one; where it has none the
	// app keeps its value and the snapshot stays as it was.
	revDirty := u.AppRev > u.SyncedRev && u.AppRev > 0
	edited := func(k string) bool { return revDirty && u.AppEdited(r.mapping.AttrOf(k)) }
	for k := range m.ToOkta {
		if edited(k) {
			continue
		}
		delete(m.ToOkta, k)
		if ov := oktaV[k]; !empty(ov) || k == KeyActive {
			m.ToApp[k], m.Base[k] = ov, ov
		} else if bv, ok := base[k]; ok {
			m.Base[k] = bv
		} else {
			delete(m.Base, k)
		}
	}
	kept := m.Conflicts[:0]
	for _, c := range m.Conflicts {
		if edited(c.Key) {
			kept = append(kept, c)
		}
	}
	m.Conflicts = kept

	item := func(action string, values map[string]any) PlanItem {
		return PlanItem{Action: action, UserID: u.ID, UserName: u.UserName, OktaUserID: u.OktaUserID, Values: values}
	}
	if len(m.Conflicts) > 0 {
		r.record(PlanItem{Action: ActConflict, UserID: u.ID, UserName: u.UserName, OktaUserID: u.OktaUserID, Conflicts: m.Conflicts,
			Detail: "settled by " + string(r.policy.Conflict)})
		if !r.opts.DryRun {
			changes := map[string]appstore.Change{"policy": {New: string(r.policy.Conflict)}}
			for _, c := range m.Conflicts {
				changes[c.Key] = appstore.Change{Old: c.App, New: c.Okta}
				changes[c.Key+".winner"] = appstore.Change{New: string(c.Winner)}
			}
			// Old is the app's value and New Okta's, for every conflicting key.
			if err := r.s.Store.RecordAudit(r.actorCtx(ctx), appstore.AuditEvent{TenantID: r.tenant.ID, Operation: "sync.conflict",
				ResourceType: "User", ResourceID: u.ID, Changes: changes}); err != nil {
				return failed(ActConflict, err)
			}
		}
	}

	status := st.OktaStatus
	if au != nil {
		status = au.Status
	}
	// Okta side: activation first, since it decides whether there is a profile to update.
	if act, ok := m.ToOkta[KeyActive]; ok {
		delete(m.ToOkta, KeyActive)
		if act == true {
			newAU, err := r.reactivateInOkta(ctx, u)
			if err != nil {
				return err
			}
			if newAU == nil {
				m.Base[KeyActive] = false // ignored (or planned only): Okta still has no assignment
			} else {
				au, status = newAU, newAU.Status
				// The assignment carried the whole app profile.
				for k := range m.ToOkta {
					delete(m.ToOkta, k)
				}
			}
		} else {
			done, err := r.deactivateInOkta(ctx, u, au)
			if err != nil {
				return err
			}
			if !done {
				m.Base[KeyActive] = true // ignored: Okta keeps the user active
			} else {
				au, status = nil, "UNASSIGNED"
			}
		}
	}
	if au == nil || !u.Active {
		// No assignment to update, or one kept for a user the app deactivated (the
		// ignore policy): what the app changed waits for the next assignment. Updating
		// the profile would make Okta push the user back as active, too.
		for k := range m.ToOkta {
			if v, ok := base[k]; ok {
				m.Base[k] = v
			} else {
				delete(m.Base, k)
			}
		}
	} else if len(m.ToOkta) > 0 {
		upd := oktaclient.AppUserUpdate{Profile: map[string]any{}}
		for k, v := range m.ToOkta {
			if k == KeyUserName {
				upd.UserName, _ = v.(string)
				continue
			}
			upd.Profile[k] = v
		}
		if len(upd.Profile) == 0 {
			upd.Profile = nil
		}
		r.record(item(ActOktaUpdate, m.ToOkta))
		if !r.opts.DryRun && hasBase {
			// Write ahead what is about to be pushed: if the process dies after Okta
			// took it but before the new snapshot is stored, the next run recognises
			// Okta's value as its own write, not as an Okta change that would conflict
			// with (and, under okta-wins, undo) a newer app edit.
			ahead := maps.Clone(base)
			ahead[pendingKey] = maps.Clone(m.ToOkta)
			if err := r.s.Store.SaveSyncState(ctx, appstore.SyncState{TenantID: r.tenant.ID, UserID: u.ID, OktaUserID: u.OktaUserID,
				Snapshot: ahead, OktaStatus: status}, -1); err != nil {
				return failed(ActOktaUpdate, err)
			}
		}
		if !r.opts.DryRun {
			if err := r.retry(ctx, func() error {
				got, err := r.okta.UpdateAppUser(ctx, u.OktaUserID, upd)
				if err == nil {
					status = got.Status
				}
				return err
			}); err != nil {
				return failed(ActOktaUpdate, err)
			}
		}
	}

	// App side.
	if len(m.ToApp) > 0 {
		action := ActAppUpdate
		if v, ok := m.ToApp[KeyActive]; ok && len(m.ToApp) == 1 {
			action = map[bool]string{true: ActAppReactivate, false: ActAppDeactivate}[v == true]
		}
		r.record(item(action, m.ToApp))
		if !r.opts.DryRun {
			var skipped []string
			if _, err := r.s.Store.UpdateUser(r.actorCtx(ctx), r.tenant.ID, u.ID, func(cur *appstore.User) error {
				// A value the app changed since this run read it is the app's newer
				// edit: it is left alone (and synchronised by the next run).
				now := r.mapping.AppValues(cur)
				write := map[string]any{}
				skipped = skipped[:0]
				for k, v := range m.ToApp {
					if same(now[k], appV[k]) {
						write[k] = v
					} else {
						skipped = append(skipped, k)
					}
				}
				r.mapping.Apply(cur, write)
				return nil
			}); err != nil {
				return failed(action, err)
			}
			for _, k := range skipped {
				if v, ok := base[k]; ok {
					m.Base[k] = v
				} else {
					delete(m.Base, k)
				}
			}
		}
	}

	if r.opts.DryRun {
		return nil
	}
	next := appstore.SyncState{TenantID: r.tenant.ID, UserID: u.ID, OktaUserID: u.OktaUserID, Snapshot: m.Base, OktaStatus: status}
	if hasState && !u.Dirty() && st.LastError == "" && !st.Unmatched && st.OktaStatus == status && st.OktaUserID == next.OktaUserID && sameMap(st.Snapshot, m.Base) {
		return nil // nothing new to remember: a clean drift check writes nothing
	}
	if err := r.s.Store.SaveSyncState(ctx, next, u.AppRev); err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	return nil
}

func sameMap(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !same(v, w) {
			return false
		}
	}
	return true
}

// deactivateInOkta carries a deactivation in the app to Okta per the tenant's policy.
// done is false when the policy ignores deactivations.
func (r *Run) deactivateInOkta(ctx context.Context, u appstore.SyncUser, au *oktaclient.AppUser) (bool, error) {
	it := PlanItem{UserID: u.ID, UserName: u.UserName, OktaUserID: u.OktaUserID}
	switch r.policy.Deactivate {
	case IgnoreDeactivation:
		return false, nil
	case DeactivateUser:
		it.Action = ActOktaDeactivate
		r.record(it)
		if r.opts.DryRun {
			return true, nil
		}
		err := r.retry(ctx, func() error { return r.okta.DeactivateUser(ctx, u.OktaUserID, oktaclient.LifecycleOptions{}) })
		if err != nil && !errors.Is(err, errkind.NotFound) {
			return false, failed(it.Action, err)
		}
		return true, nil
	default:
		if au == nil {
			return true, nil
		}
		it.Action = ActOktaUnassign
		r.record(it)
		if r.opts.DryRun {
			return true, nil
		}
		err := r.retry(ctx, func() error { return r.okta.UnassignUser(ctx, u.OktaUserID) })
		if err != nil && !errors.Is(err, errkind.NotFound) { // already gone is the goal
			return false, failed(it.Action, err)
		}
		return true, nil
	}
}

// reactivateInOkta carries a reactivation in the app to Okta: the Okta user is
// activated if the policy deactivated it, then assigned again with the app profile.
func (r *Run) reactivateInOkta(ctx context.Context, u appstore.SyncUser) (*oktaclient.AppUser, error) {
	if r.policy.Deactivate == IgnoreDeactivation {
		return nil, nil
	}
	profile := r.mapping.Profile(&u.User)
	r.record(PlanItem{Action: ActOktaReactivate, UserID: u.ID, UserName: u.UserName, OktaUserID: u.OktaUserID, Values: profile})
	if r.opts.DryRun {
		return nil, nil
	}
	var ou oktaclient.User
	if err := r.retry(ctx, func() (err error) { ou, err = r.okta.GetUser(ctx, u.OktaUserID); return err }); err != nil {
		return nil, failed(ActOktaReactivate, err)
	}
	if ou.Status == "DEPROVISIONED" || ou.Status == "STAGED" && r.policy.Deactivate == DeactivateUser {
		if err := r.retry(ctx, func() error { return r.okta.ActivateUser(ctx, ou.ID, oktaclient.LifecycleOptions{}) }); err != nil {
			return nil, failed(ActOktaReactivate, err)
		}
	}
	var au oktaclient.AppUser
	if err := r.retry(ctx, func() (err error) {
		au, err = r.okta.AssignUser(ctx, oktaclient.Assignment{UserID: u.OktaUserID, UserName: u.UserName, Profile: profile})
		return err
	}); err != nil {
		return nil, failed(ActOktaReactivate, err)
	}
	return &au, nil
}

// pendingKey holds, inside a stored snapshot, the values a run was pushing to Okta.
const pendingKey = "_pending"

// settlePending folds a write-ahead into the snapshot: a pending value that Okta now
// holds was this worker's own write and becomes the base; one Okta does not hold was
// never applied and is dropped.
func settlePending(base, oktaV map[string]any) map[string]any {
	p, ok := base[pendingKey].(map[string]any)
	if !ok {
		return base
	}
	out := maps.Clone(base)
	delete(out, pendingKey)
	for k, v := range p {
		if !same(oktaV[k], v) {
			continue
		}
		if empty(v) {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}
