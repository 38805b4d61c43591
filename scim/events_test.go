package scim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/event"
)

// TestWritesEmitEvents checks, request by request, that each SCIM write emits exactly
// its events with the right previous values, and that refused writes (409, 412, 400,
// 404) emit none.
func TestWritesEmitEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		feed := &storetest.Feed{S: e.store}
		feed.Next(t)
		const patch = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
		uid := e.createUser("ev@example.com")
		evs := feed.Next(t)
		storetest.ExpectEvents(t, "POST /Users", evs, storetest.Want{Type: event.UserCreated, Previous: `{}`})
		if evs[0].Source != event.SourceSCIM || evs[0].Actor.Kind != "scim" || evs[0].Actor.ID == "" {
			t.Fatalf("source %q actor %+v, want scim and the credential", evs[0].Source, evs[0].Actor)
		}
		other := e.createUser("other@example.com")
		gid := e.createGroup("Eng", uid)
		storetest.ExpectEvents(t, "setup", feed.Next(t)[1:],
			storetest.Want{Type: event.GroupCreated, Previous: `{}`}, storetest.Want{Type: event.GroupMemberAdded, Previous: `{}`})

		steps := []struct {
			name         string
			method, path string
			body         string
			headers      []hdr
			status       int
			want         []storetest.Want
		}{
			{"duplicate create", "POST", "/Users", oktaUserJSON("EV@example.com", "A", "B"), nil, http.StatusConflict, nil},
			{"PUT with a title", "PUT", "/Users/" + uid, putUser("ev@example.com", "Engineer", true), nil, http.StatusOK,
				[]storetest.Want{{Type: event.UserUpdated, Previous: `{"attributes":{"title":null}}`}}},
			{"PUT with a stale ETag", "PUT", "/Users/" + uid, putUser("ev@example.com", "CTO", true), []hdr{{"If-Match", `W/"1"`}}, http.StatusPreconditionFailed, nil},
			{"PUT taking another's userName", "PUT", "/Users/" + other, putUser("ev@example.com", "", true), nil, http.StatusConflict, nil},
			{"PATCH deactivate and retitle", "PATCH", "/Users/" + uid,
				patch + `{"op":"replace","value":{"active":false}},{"op":"replace","path":"title","value":"Former"}]}`, nil, http.StatusOK,
				[]storetest.Want{{Type: event.UserDeactivated, Previous: `{"active":true}`}, {Type: event.UserUpdated, Previous: `{"attributes":{"title":"Engineer"}}`}}},
			{"PATCH with a bad path", "PATCH", "/Users/" + uid, patch + `{"op":"replace","path":"emails[type eq","value":"x"}]}`, nil, http.StatusBadRequest, nil},
			{"PATCH half bad", "PATCH", "/Users/" + uid,
				patch + `{"op":"replace","path":"title","value":"X"},{"op":"replace","path":"active","value":"maybe"}]}`, nil, http.StatusBadRequest, nil},
			{"PATCH reactivate", "PATCH", "/Users/" + uid, patch + `{"op":"replace","value":{"active":true}}]}`, nil, http.StatusOK,
				[]storetest.Want{{Type: event.UserReactivated, Previous: `{"active":false}`}}},
			{"PATCH the same again", "PATCH", "/Users/" + uid, patch + `{"op":"replace","value":{"active":true}}]}`, nil, http.StatusOK, nil},
			{"group: add a member", "PATCH", "/Groups/" + gid, patch + `{"op":"add","path":"members","value":[{"value":"` + other + `"}]}]}`, nil, http.StatusOK,
				[]storetest.Want{{Type: event.GroupMemberAdded, Previous: `{}`}}},
			{"group: add an unknown member", "PATCH", "/Groups/" + gid, patch + `{"op":"add","path":"members","value":[{"value":"nope"}]}]}`, nil, http.StatusBadRequest, nil},
			{"group: remove a member", "PATCH", "/Groups/" + gid, patch + `{"op":"remove","path":"members[value eq \"` + uid + `\"]"}]}`, nil, http.StatusOK,
				[]storetest.Want{{Type: event.GroupMemberRemoved, Previous: `{}`}}},
			{"group: rename", "PATCH", "/Groups/" + gid, patch + `{"op":"replace","value":{"id":"` + gid + `","displayName":"Engineering"}}]}`, nil, http.StatusOK,
				[]storetest.Want{{Type: event.GroupUpdated, Previous: `{"displayName":"Eng"}`}}},
			{"group: PUT swaps the members", "PUT", "/Groups/" + gid,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering","members":[{"value":"` + uid + `"}]}`, nil, http.StatusOK,
				[]storetest.Want{{Type: event.GroupMemberRemoved, Previous: `{}`}, {Type: event.GroupMemberAdded, Previous: `{}`}}},
			{"group: duplicate name", "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"engineering"}`, nil, http.StatusConflict, nil},
			{"group: delete", "DELETE", "/Groups/" + gid, "", nil, http.StatusNoContent,
				[]storetest.Want{{Type: event.GroupDeleted, Previous: `{}`}}},
			{"group: delete again", "DELETE", "/Groups/" + gid, "", nil, http.StatusNotFound, nil},
			{"user: delete", "DELETE", "/Users/" + uid, "", nil, http.StatusNoContent,
				[]storetest.Want{{Type: event.UserDeleted, Previous: `{}`}}},
			{"user: delete again", "DELETE", "/Users/" + uid, "", nil, http.StatusNotFound, nil},
		}
		for _, st := range steps {
			r := e.do(st.method, st.path, st.body, st.headers...)
			if r.status != st.status {
				t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.body)
			}
			storetest.ExpectEvents(t, st.name, feed.Next(t), st.want...)
		}
	})
}

func putUser(userName, title string, active bool) string {
	b := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `",` +
		`"name":{"givenName":"Given","familyName":"Family"},"emails":[{"primary":true,"value":"` + userName + `","type":"work"}],` +
		`"displayName":"Given Family","locale":"en-US","externalId":"00u` + strings.ReplaceAll(userName, "@", "_") + `"`
	if title != "" {
		b += `,"title":"` + title + `"`
	}
	if active {
		return b + `,"active":true}`
	}
	return b + `,"active":false}`
}
