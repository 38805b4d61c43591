package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

// scimLogTests are the conformance tests of the SCIM request log's store methods.
var scimLogTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"SCIMLogRoundTrip", testSCIMLogRoundTrip},
	{"SCIMLogFiltersAndPages", testSCIMLogFilters},
	{"SCIMLogPrune", testSCIMLogPrune},
}

func testSCIMLogRoundTrip(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	in := appstore.SCIMRequest{Time: at, TenantID: "default", CredentialID: "cred-1", Method: "POST", Path: "/scim/v2/Users?x=1",
		Status: 409, Duration: 1500 * time.Microsecond, UserAgent: "Okta SCIM Client 1.0.0", RequestID: "req-1",
		ScimType: "uniqueness", Detail: "userName taken", RequestBody: `{"userName":"a@example.com"}`, RequestTruncated: true,
		ResponseBody: `{"status":"409"}`}
	// Bytes PostgreSQL cannot store as text do not fail the batch.
	bad := appstore.SCIMRequest{Method: "POST", Path: "/scim/v2/Users", Status: 400, RequestBody: "a\x00b\xffc"}
	if err := s.AppendSCIMRequests(ctx, []appstore.SCIMRequest{in, bad}); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListSCIMRequests(ctx, appstore.SCIMRequestQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Next != 0 {
		t.Fatalf("got %d entries, next %d; want 2 and no next page", len(page.Items), page.Next)
	}
	got := page.Items[1]
	if got.ID == 0 || page.Items[0].ID <= got.ID {
		t.Fatalf("ids %d, %d: want newest first", page.Items[0].ID, got.ID)
	}
	in.ID = got.ID
	if got != in {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
	}
	if b := page.Items[0].RequestBody; b != "a\uFFFDb\uFFFDc" {
		t.Fatalf("body with NUL and invalid UTF-8 stored as %q", b)
	}
	if page.Items[0].Time.IsZero() {
		t.Fatal("an entry without a time was not given one")
	}
}

func testSCIMLogFilters(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var batch []appstore.SCIMRequest
	for i := range 30 {
		tenant := []string{"default", "acme", ""}[i%3]
		status := []int{200, 201, 404, 401, 500}[i%5]
		batch = append(batch, appstore.SCIMRequest{Time: base.Add(time.Duration(i) * time.Minute), TenantID: tenant,
			Method: "GET", Path: fmt.Sprintf("/scim/v2/Users/%d", i), Status: status})
	}
	if err := s.AppendSCIMRequests(ctx, batch); err != nil {
		t.Fatal(err)
	}
	paths := func(q appstore.SCIMRequestQuery) []string {
		t.Helper()
		var out []string
		for pages := 0; ; pages++ {
			page, err := s.ListSCIMRequests(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if q.Limit > 0 && len(page.Items) > q.Limit {
				t.Fatalf("page of %d entries, limit %d", len(page.Items), q.Limit)
			}
			for _, r := range page.Items {
				out = append(out, strings.TrimPrefix(r.Path, "/scim/v2/Users/"))
			}
			if page.Next == 0 {
				return out
			}
			if pages > 100 {
				t.Fatal("pagination does not end")
			}
			q.After = page.Next
		}
	}
	cases := []struct {
		name string
		q    appstore.SCIMRequestQuery
		want string
	}{
		{"tenant acme, pages of 4", appstore.SCIMRequestQuery{TenantID: "acme", Limit: 4}, "28 25 22 19 16 13 10 7 4 1"},
		{"no tenant", appstore.SCIMRequestQuery{NoTenant: true}, "29 26 23 20 17 14 11 8 5 2"},
		{"4xx of every tenant", appstore.SCIMRequestQuery{StatusClass: 4, Limit: 5}, "28 27 23 22 18 17 13 12 8 7 3 2"},
		{"5xx of default", appstore.SCIMRequestQuery{TenantID: "default", StatusClass: 5}, "24 9"},
		{"time range", appstore.SCIMRequestQuery{Since: base.Add(10 * time.Minute), Until: base.Add(14 * time.Minute)}, "13 12 11 10"},
		{"page exactly full", appstore.SCIMRequestQuery{TenantID: "default", StatusClass: 2, Limit: 2}, "21 15 6 0"},
	}
	for _, tc := range cases {
		if got := strings.Join(paths(tc.q), " "); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	_, err := s.ListSCIMRequests(ctx, appstore.SCIMRequestQuery{StatusClass: 7})
	mustKind(t, err, errkind.Invalid)
}

func testSCIMLogPrune(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	now := time.Now()
	var batch []appstore.SCIMRequest
	for i := range 25 {
		age := 10 * 24 * time.Hour // older than a week
		if i%5 == 0 {
			age = time.Hour
		}
		batch = append(batch, appstore.SCIMRequest{Time: now.Add(-age), Method: "GET", Path: fmt.Sprint(i), Status: 200})
	}
	if err := s.AppendSCIMRequests(ctx, batch); err != nil {
		t.Fatal(err)
	}
	cutoff := now.Add(-7 * 24 * time.Hour)
	total := 0
	for {
		n, err := s.PruneSCIMRequests(ctx, cutoff, 7)
		if err != nil {
			t.Fatal(err)
		}
		if n > 7 {
			t.Fatalf("pruned %d in one call, limit 7", n)
		}
		total += n
		if n < 7 {
			break
		}
	}
	if total != 20 {
		t.Fatalf("pruned %d entries, want the 20 older than the cutoff", total)
	}
	page, err := s.ListSCIMRequests(ctx, appstore.SCIMRequestQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, r := range page.Items {
		kept = append(kept, r.Path)
	}
	if strings.Join(kept, " ") != "20 15 10 5 0" {
		t.Fatalf("kept %v, want the five recent entries", kept)
	}
}
