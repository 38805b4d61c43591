// Package syncer is oktasync's reconciliation worker: it keeps a tenant's app users and
// the AppUsers of the tenant's Okta app in agreement, through Okta's management API.
//
// # What a run does
//
// The incremental pass (every run) looks only at users with app writes not yet
// synchronised, found through the store's change counters (users.app_rev >
// users.synced_rev); a tenant with nothing changed costs no Okta request at all. For
// each such user:
//
//   - not linked and created in the app: "Import New Users" done with the management
//     API, which cannot start an import itself: the Okta user is found by login (the
//     userName), then by primary email, or created STAGED without an activation email
//     (policy sync.unmatched=create; "report" only reports it), then assigned to the
//     app with credentials.userName and the mapped profile, and linked;
//   - not linked and provisioned by Okta through SCIM: linked to the AppUser whose id
//     Okta put in externalId (one read);
//   - linked: merged three ways with its AppUser (see below) and the outcome written
//     to each side; deactivation and reactivation follow sync.deactivate.
//
// The full pass (the drift check, on its own schedule or with --full) then lists every
// AppUser, 500 a page: AppUsers without an app user (a SCIM push that never arrived)
// get one, linked; changed profiles are merged; finally the linked app users whose
// AppUser is gone (confirmed by a read) are deactivated, never deleted.
//
// # Three-way merge and echoes
//
// The last synchronised value of every mapped attribute is kept per user (the
// snapshot, table sync_state). A value changed on one side only since the snapshot
// flows to the other; changed on both sides to different values it is a conflict,
// settled by sync.conflict (okta-wins, app-wins, newest-wins) and recorded in the audit
// trail (operation sync.conflict) with both values.
//
// Changes that come from Okta through SCIM are written by the actor "scim" and do not
// move the change counter, so they are never pushed back; the store also records which
// attributes app writes changed (users.app_changed), and only those flow to Okta: values
// Okta's push filled in (a default locale, a display name) stay Okta's. When the worker
// assigns a user, Okta's push answers with an existence check by userName and links to
// the app user that already exists.
//
// # Failure
//
// Each step is idempotent and committed per user right after its Okta call (link,
// snapshot, change counter), so a run killed anywhere is finished by the next one
// without duplicates: the login look-up finds an Okta user a killed run created, and
// assigning an assigned user only updates it. A user whose change was read before an
// app edit stays marked as changed. Rate limits are paced by the client (oktaclient);
// the worker waits out further 429s until Okta's reset and retries transient failures,
// and a user that still fails is recorded in the run and retried by the next run.
//
// One run per tenant at a time: the store's tenant lock is a PostgreSQL session advisory
// lock (shared by every process on the database and released when a holder dies) or,
// on SQLite, a lock in the process.
package syncer
