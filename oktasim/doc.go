// Package oktasim emulates an Okta org in memory: a subset of the Okta
// management API (users, apps, app users, groups, group assignments) with
// Okta's JSON shapes, errors, cursor pagination and rate limits, and the
// SCIM provisioning push engine of Okta apps ("To App" provisioning and
// Push Groups, plus Test API Credentials and imports).
//
// # Use from Go tests
//
//	srv := oktasim.NewServer(oktasim.WithAPIToken("t"))
//	defer srv.Close()
//	// point the Okta SDK at srv.URL with srv.Token; the app is srv.AppID
//	u, _ := srv.Sim.CreateUser(map[string]any{"login": "a@b.c", "email": "a@b.c",
//		"firstName": "A", "lastName": "B"}, true)
//	srv.Sim.SetSCIMConnection(oktasim.SCIMConnection{BaseURL: scimURL, Token: "x",
//		CreateUsers: true, UpdateUsers: true, DeactivateUsers: true})
//	srv.Sim.AssignUser(srv.AppID, u.ID, "", nil)
//	srv.Sim.WaitIdle(ctx)
//	pushes := srv.Sim.Pushes()
//
// Or mount Sim.Handler on a server of your own.
//
// # Management API
//
// Served under /api/v1 with "Authorization: SSWS <token>":
//
//	GET    /api/v1/users                 filter, search, q, limit (200; 10 with q), after
//	POST   /api/v1/users?activate=       create (false: STAGED, else ACTIVE)
//	GET    /api/v1/users/{id|login}
//	POST   /api/v1/users/{id}            partial profile update
//	PUT    /api/v1/users/{id}            full profile update
//	DELETE /api/v1/users/{id}            deactivates; a second DELETE deletes
//	POST   /api/v1/users/{id}/lifecycle/{activate|deactivate|reactivate|suspend|unsuspend}
//	GET    /api/v1/users/{id}/groups
//	GET    /api/v1/apps                  q, limit (20, max 200)
//	GET    /api/v1/apps/{appId}
//	GET    /api/v1/apps/{appId}/users    q, expand=user, limit (50, max 500)
//	POST   /api/v1/apps/{appId}/users    assign {id, scope, credentials, profile}
//	GET    /api/v1/apps/{appId}/users/{userId}
//	POST   /api/v1/apps/{appId}/users/{userId}   profile merge, userName change
//	DELETE /api/v1/apps/{appId}/users/{userId}   unassign, 204
//	GET    /api/v1/apps/{appId}/groups
//	GET|PUT|DELETE /api/v1/apps/{appId}/groups/{groupId}
//	GET|POST /api/v1/groups              q, filter, search
//	GET|PUT|DELETE /api/v1/groups/{id}
//	GET    /api/v1/groups/{id}/users
//	PUT|DELETE /api/v1/groups/{id}/users/{userId}
//
// Every response carries Date, X-Rate-Limit-Limit, X-Rate-Limit-Remaining
// and X-Rate-Limit-Reset (unix seconds) for the request's endpoint family
// (see DefaultRateLimits); bodies are JSON; errors are Okta's error JSON.
// Lists send one Link header per rel (self, next); next carries an opaque
// after cursor. Items are listed in creation order and a cursor is the id
// of the last item, resolved to its creation sequence, so writes during a
// listing neither repeat nor skip items that existed when it started.
//
// # Admin endpoints
//
// Under /_sim/, with the same token as "SSWS <token>" or "Bearer <token>".
// appId (query) selects an app other than the org's first one.
//
//	GET    /_sim/info                 org URL, app id, SCIM target, counts
//	GET    /_sim/pushes?since=N       recorded SCIM exchanges (see Push) after Seq N
//	DELETE /_sim/pushes               forget them
//	GET    /_sim/scim                 the provisioning connection (token hidden)
//	POST   /_sim/scim                 set it: {"baseUrl","token","createUsers",
//	                                  "updateUsers","deactivateUsers","groupPush"}
//	POST   /_sim/faults               {"latency":"250ms","errorRate":0.1,
//	                                  "errorStatuses":[500,503],"pathPrefix":""}
//	POST   /_sim/faults/fail-next     {"count":3,"status":503}
//	POST   /_sim/faults/force-429     {"duration":"30s"}
//	POST   /_sim/ratelimits           {"limits":{"apps":100},"multiplier":0.5,
//	                                  "window":"10s","concurrency":75}
//	POST   /_sim/groups/{id}/push     start pushing a group
//	DELETE /_sim/groups/{id}/push     stop (?deleteInApp=true deletes it there)
//	POST   /_sim/force-sync           push every assignment again (Force Sync)
//	POST   /_sim/test-credentials     Okta's Test API Credentials → {"ok":...}
//	POST   /_sim/import               pull /Users and /Groups → {"users","groups"}
//	POST   /_sim/wait-idle?timeout=30s  wait for the push queue to drain
//
// # Push engine
//
// With a SCIMConnection set, changes are pushed asynchronously by one
// worker in the order they happened: assignment (direct or through an
// assigned group) looks the user up by userName and links to a match or
// creates it; profile changes GET then PUT the whole user; deactivation
// and unassignment PATCH active:false, re-assignment and reactivation
// active:true. Pushed groups are looked up or created, renamed, have
// members added and removed by PATCH, and are deleted. 429 answers are
// retried after Retry-After (doubling), giving up after 10 tries; 5xx a
// few times with backoff; waits go through the Sleeper.
//
// # Differences from Okta
//
// Only SSWS tokens are accepted (no OAuth 2.0). The user schema is Okta's
// default (login, email, firstName, lastName required; login must contain
// "@"); POST /api/v1/users?activate=true gives ACTIVE even without a
// password. search is as consistent as filter here. Apps are created with
// the Go API only. App user profiles accept any attribute unless
// WithAppProfileAttributes is given; the Okta-to-app mapping is one
// function (DefaultProfileMapping). Rate limits are fixed windows per
// endpoint family with no per-token buckets (scale with the multiplier).
// The push engine sends PUT for updates (never PATCH), pushes one change
// at a time, does not push existing assignments when provisioning is
// turned on (see Sim.ForceSync) and has no password sync.
package oktasim
