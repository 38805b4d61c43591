package syncer

import (
	"context"
	"errors"
	"hash/maphash"
	"slices"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/oktaclient"
)

// full is the drift check: every AppUser is listed, page by page, and compared with its
// app user; AppUsers with no app user (a SCIM push that never arrived) get one; app
// users linked to an AppUser that is gone are deactivated (never deleted).
//
// Memory stays bounded whatever the number of users: one page of AppUsers and its app
// users are held at a time, and the Okta ids seen are kept as 8-byte hashes in a sorted
// slice (8 MB per million), which the final sweep over the linked app users (read in
// keyset-paged batches) consults. A hash collision could only hide a missing AppUser
// from one run's sweep, and every candidate is confirmed with a read before anything
// is deactivated.
func (r *Run) full(ctx context.Context) error {
	seed := maphash.MakeSeed()
	var seen []uint64
	err := r.okta.ListAppUsers(ctx, oktaclient.ListOptions{Limit: oktaclient.MaxPageSize}, func(page []oktaclient.AppUser, _ string) error {
		for _, au := range page {
			seen = append(seen, maphash.String(seed, au.ID))
		}
		if err := r.reconcilePage(ctx, page); err != nil {
			return err
		}
		r.progress(ctx, len(page))
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	slices.Sort(seen)
	return r.sweep(ctx, func(oktaID string) bool {
		_, ok := slices.BinarySearch(seen, maphash.String(seed, oktaID))
		return ok
	})
}

// reconcilePage matches one page of AppUsers to app users and reconciles each.
func (r *Run) reconcilePage(ctx context.Context, page []oktaclient.AppUser) error {
	st := r.s.Store
	ids := make([]string, 0, len(page))
	for _, au := range page {
		ids = append(ids, au.ID)
	}
	byOkta, err := st.FindSyncUsers(ctx, r.tenant.ID, appstore.ByOktaUserID, ids)
	if err != nil {
		return err
	}
	// AppUsers not linked yet: the app user Okta's push created (externalId is its SCIM
	// id), one carrying the Okta id as externalId, or one with the same userName.
	var scimIDs, extIDs []string
	for _, au := range page {
		if _, ok := byOkta[au.ID]; !ok {
			if au.ExternalID != "" {
				scimIDs = append(scimIDs, au.ExternalID)
			}
			extIDs = append(extIDs, au.ID)
		}
	}
	var byID, byExt map[string]appstore.SyncUser
	if len(extIDs) > 0 {
		if byID, err = st.FindSyncUsers(ctx, r.tenant.ID, appstore.ByID, scimIDs); err != nil {
			return err
		}
		if byExt, err = st.FindSyncUsers(ctx, r.tenant.ID, appstore.ByExternalID, extIDs); err != nil {
			return err
		}
	}
	userIDs := make([]string, 0, len(page))
	for _, u := range byOkta {
		userIDs = append(userIDs, u.ID)
	}
	states, err := st.SyncStates(ctx, r.tenant.ID, userIDs)
	if err != nil {
		return err
	}
	each(ctx, r.s.workers(), page, flushAfter(ctx, r, func(au oktaclient.AppUser) {
		if u, ok := byOkta[au.ID]; ok {
			if r.wasPlanned(u.ID) {
				return
			}
			s, has := states[u.ID]
			if err := r.reconcile(ctx, u, s, has, &au); err != nil {
				r.failUser(ctx, u, s, has, err)
			}
			return
		}
		u, ok := byID[au.ExternalID]
		if ok && u.OktaUserID != "" {
			ok = false // that app user belongs to another Okta user
		}
		if !ok {
			u, ok = byExt[au.ID]
			ok = ok && u.OktaUserID == ""
		}
		if !ok {
			found, err := r.byUserName(ctx, au.UserName)
			if err != nil {
				r.fail(ctx, nil, ActAppLink, err)
				return
			}
			u, ok = found, found.ID != ""
		}
		if ok && r.wasPlanned(u.ID) {
			return
		}
		if ok && u.OktaUserID != "" && u.OktaUserID != au.ID {
			r.fail(ctx, &u.User, ActAppLink, errkind.Errorf("syncer.full", errkind.Conflict,
				"AppUser %s (%s) has the userName of app user %s, which is linked to Okta user %s", au.ID, au.UserName, u.ID, u.OktaUserID))
			return
		}
		if !ok {
			if err := r.createFromOkta(ctx, &au); err != nil {
				r.fail(ctx, nil, ActAppCreate, err)
			}
			return
		}
		linked, err := r.link(ctx, u, au.ID)
		if err == nil {
			err = r.reconcile(ctx, linked, appstore.SyncState{}, false, &au)
		}
		if err != nil {
			r.failUser(ctx, u, appstore.SyncState{}, false, err)
		}
	}))
	return ctx.Err()
}

func (r *Run) byUserName(ctx context.Context, userName string) (appstore.SyncUser, error) {
	if userName == "" {
		return appstore.SyncUser{}, nil
	}
	u, err := r.s.Store.GetUserByUserName(ctx, r.tenant.ID, userName)
	if errors.Is(err, errkind.NotFound) {
		return appstore.SyncUser{}, nil
	}
	if err != nil {
		return appstore.SyncUser{}, err
	}
	m, err := r.s.Store.FindSyncUsers(ctx, r.tenant.ID, appstore.ByID, []string{u.ID})
	if err != nil {
		return appstore.SyncUser{}, err
	}
	return m[u.ID], nil
}

// createFromOkta creates the app user of an AppUser whose SCIM push never arrived,
// linked from the start, with Okta's values as the snapshot.
func (r *Run) createFromOkta(ctx context.Context, au *oktaclient.AppUser) error {
	u := appstore.User{TenantID: r.tenant.ID, UserName: au.UserName, ExternalID: au.ID, Active: true,
		Source: appstore.SourceOkta, OktaUserID: au.ID, Attrs: map[string]any{}}
	vals := r.mapping.OktaValues(au)
	r.mapping.Apply(&u, vals)
	r.record(PlanItem{Action: ActAppCreate, UserName: au.UserName, OktaUserID: au.ID, Values: vals})
	if r.opts.DryRun {
		return nil
	}
	created, err := r.s.Store.CreateUser(r.actorCtx(ctx), u)
	if err != nil {
		return err
	}
	return r.s.Store.SaveSyncState(ctx, appstore.SyncState{TenantID: r.tenant.ID, UserID: created.ID, OktaUserID: au.ID,
		Snapshot: r.mapping.AppValues(&created), OktaStatus: au.Status}, 0)
}

// sweep deactivates active app users linked to an Okta user whose AppUser was not
// listed, once a read confirms the assignment is gone.
func (r *Run) sweep(ctx context.Context, seen func(oktaID string) bool) error {
	after := ""
	for {
		batch, err := r.s.Store.ScanSyncUsers(ctx, r.tenant.ID, appstore.ScanQuery{AfterID: after, Limit: 1000, Linked: true})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		after = batch[len(batch)-1].ID
		var gone []appstore.SyncUser
		for _, u := range batch {
			if u.Active && !seen(u.OktaUserID) && !r.wasPlanned(u.ID) {
				gone = append(gone, u)
			}
		}
		if len(gone) == 0 {
			continue
		}
		ids := make([]string, len(gone))
		for i, u := range gone {
			ids[i] = u.ID
		}
		states, err := r.s.Store.SyncStates(ctx, r.tenant.ID, ids)
		if err != nil {
			return err
		}
		each(ctx, r.s.workers(), gone, flushAfter(ctx, r, func(u appstore.SyncUser) {
			s, has := states[u.ID]
			au, found, err := r.getAppUser(ctx, u.OktaUserID)
			if err == nil {
				if !found {
					au = nil
				}
				err = r.reconcile(ctx, u, s, has, au)
			}
			if err != nil {
				r.failUser(ctx, u, s, has, err)
			}
		}))
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// markPlanned remembers, in a dry run, the users the incremental pass already planned
// for, so the drift check does not plan them twice (a real run has synchronised them).
func (r *Run) markPlanned(ids []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.planned == nil {
		r.planned = map[string]bool{}
	}
	for _, id := range ids {
		r.planned[id] = true
	}
}

func (r *Run) wasPlanned(id string) bool {
	if !r.opts.DryRun {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.planned[id]
}
