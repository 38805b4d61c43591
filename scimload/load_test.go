package scimload

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseMix(t *testing.T) {
	cases := []struct {
		in      string
		want    map[string]int
		wantErr string
	}{
		{DefaultMix, map[string]int{OpLookup: 80, OpCreate: 10, OpDeactivate: 10}, ""},
		{"lookup=1", map[string]int{OpLookup: 1}, ""},
		{" create = 3 , lookup=0", map[string]int{OpCreate: 3, OpLookup: 0}, ""},
		{"lookup=0", nil, "no positive weight"},
		{"delete=5", nil, `"delete=5"`},
		{"lookup", nil, "want NAME=WEIGHT"},
		{"lookup=-1", nil, "non-negative integer"},
		{"lookup=x", nil, "non-negative integer"},
	}
	for _, c := range cases {
		got, err := ParseMix(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseMix(%q) error = %v, want one containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", c.in, got, err, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("ParseMix(%q)[%s] = %d, want %d", c.in, k, got[k], v)
			}
		}
	}
}

// mount serves a peer's handler at /scim/v2 of a test server and returns that base URL.
func mount(t *testing.T, h http.Handler) string {
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/scim/v2"
}

func mountMemory(t *testing.T, token string) string { return mount(t, MemoryHandler(token)) }

func TestRunAgainstMemoryPeer(t *testing.T) {
	url := mountMemory(t, "secret")
	mix, _ := ParseMix(DefaultMix)
	rep, err := Run(context.Background(), Config{URL: url, Token: "secret", Users: 50, Clients: 4, Duration: 300 * time.Millisecond, Mix: mix})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seeded != 50 {
		t.Errorf("seeded %d users, want 50", rep.Seeded)
	}
	if len(rep.Ops) != 3 {
		t.Fatalf("report has %d operations, want 3: %+v", len(rep.Ops), rep.Ops)
	}
	sum := 0
	for _, s := range rep.Ops {
		if s.Requests == 0 || s.Failures != 0 || s.P99 < s.P50 || s.P50 <= 0 {
			t.Errorf("%s: %+v; want requests, no failures and p50 <= p99", s.Op, s)
		}
		sum += s.Requests
	}
	if rep.Total.Requests != sum || rep.Total.Failures != 0 {
		t.Errorf("total %+v does not add up to %d requests", rep.Total, sum)
	}
	// Lookups dominate the default mix.
	if rep.Ops[0].Op != OpLookup || rep.Ops[0].Requests < rep.Ops[1].Requests {
		t.Errorf("lookups %d not above creates %d", rep.Ops[0].Requests, rep.Ops[1].Requests)
	}
	var b strings.Builder
	rep.Print(&b)
	if !strings.Contains(b.String(), "\ntotal:") || !strings.Contains(b.String(), "seeded 50 users") {
		t.Errorf("printed report lacks the seed or total: line:\n%s", b.String())
	}
}

func TestRunCountsFailures(t *testing.T) {
	url := mountMemory(t, "secret")
	// Seeding with a wrong token fails at once and says why.
	_, err := Run(context.Background(), Config{URL: url, Token: "wrong", Users: 5, Clients: 2, Duration: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("Run with a wrong token: %v, want a 401 seeding error", err)
	}
	// Creates of names already taken fail (409) and are counted as failures.
	mix, _ := ParseMix("create=1")
	cfg := Config{URL: url, Token: "secret", Clients: 2, Duration: 100 * time.Millisecond, Mix: mix, Prefix: "same"}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.Failures == 0 || len(rep.FirstErrors) == 0 || !strings.Contains(rep.FirstErrors[0], "409") {
		t.Errorf("repeated creates: %+v, errors %v; want 409 failures", rep.Total, rep.FirstErrors)
	}
}

func TestRunOnExistingUsers(t *testing.T) {
	url := mountMemory(t, "secret")
	// Users created by other means (here: a first run's seeding) are looked up and
	// deactivated without seeding again.
	first, err := Run(context.Background(), Config{URL: url, Token: "secret", Users: 20, Clients: 2, Duration: 50 * time.Millisecond, Mix: map[string]int{OpCreate: 1}, Prefix: "bulk"})
	if err != nil || first.Seeded != 20 {
		t.Fatalf("first run: %+v, %v", first, err)
	}
	var existing []User
	for i := 1; i <= 20; i++ {
		existing = append(existing, User{UserName: "bulk.seed" + strconv.Itoa(i) + "@example.com"})
	}
	mix, _ := ParseMix("lookup=1")
	rep, err := Run(context.Background(), Config{URL: url, Token: "secret", Existing: existing, Clients: 2, Duration: 100 * time.Millisecond, Mix: mix})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seeded != 0 || rep.Total.Requests == 0 || rep.Total.Failures != 0 {
		t.Errorf("run on existing users: %+v %v", rep, rep.FirstErrors)
	}
}
