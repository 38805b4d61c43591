package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

func openOutage(t *testing.T) (*storetest.PostgresOutage, *testEnv) {
	t.Helper()
	o := storetest.NewPostgresOutage(t)
	st, err := appstore.Open(context.Background(), o.URL)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return o, newEnvOn(t, st)
}

// While PostgreSQL is unreachable every request, authentication included, is a 503 with
// Retry-After (Okta retries those, never a 500); once it is back the same requests work.
func TestDatabaseOutageIs503(t *testing.T) {
	o, e := openOutage(t)
	uid := e.createUser("before@example.com")
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	requests := []struct{ method, path, body string }{
		{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "before@example.com"`), ""},
		{"GET", "/Users/" + uid, ""},
		{"POST", "/Users", oktaUserJSON("during@example.com", "D", "U")},
		{"PATCH", "/Users/" + uid, patch},
		{"POST", "/Groups", `{"displayName":"During"}`},
		{"GET", "/ServiceProviderConfig", ""},
	}
	o.Begin(t)
	for _, r := range requests {
		resp := e.do(r.method, r.path, r.body)
		if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
			t.Errorf("%s %s during the outage: %d (Retry-After %q), want 503 with Retry-After; body %s",
				r.method, r.path, resp.status, resp.header.Get("Retry-After"), resp.body)
			continue
		}
		checkError(t, resp, http.StatusServiceUnavailable, "")
	}
	o.End(t)
	e.must(http.StatusOK, "GET", "/Users/"+uid, "")
	e.must(http.StatusCreated, "POST", "/Users", oktaUserJSON("after@example.com", "A", "F"))
	e.must(http.StatusOK, "PATCH", "/Users/"+uid, patch)
}

// Sessions killed again and again under load, as in a failover: no request answers 500,
// and every create that answered 201 is there afterwards.
func TestBackendsTerminatedUnderLoad(t *testing.T) {
	o, e := openOutage(t)
	gid := e.createGroup("Load")
	var (
		wg                 sync.WaitGroup
		stop               atomic.Bool
		mu                 sync.Mutex
		created            []string
		ok, unavailable, n atomic.Int64
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				name := fmt.Sprintf("load%d-%d@example.com", w, i)
				for _, r := range []struct{ method, path, body string }{
					{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "`+name+`"`) + "&startIndex=1&count=100", ""},
					{"POST", "/Users", oktaUserJSON(name, "L", "D")},
					{"GET", "/Groups/" + gid, ""},
				} {
					resp := e.do(r.method, r.path, r.body)
					n.Add(1)
					switch {
					case resp.status == http.StatusServiceUnavailable && resp.header.Get("Retry-After") != "":
						unavailable.Add(1)
					case resp.status < 300:
						ok.Add(1)
						if r.method == "POST" {
							mu.Lock()
							created = append(created, str(resp.obj(t), "id"))
							mu.Unlock()
						}
					default:
						t.Errorf("%s %s: %d; body %s", r.method, r.path, resp.status, resp.body)
					}
				}
			}
		}()
	}
	killed := 0
	for range 30 {
		time.Sleep(40 * time.Millisecond)
		killed += o.Terminate(t)
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d requests: %d succeeded, %d answered 503; %d sessions terminated", n.Load(), ok.Load(), unavailable.Load(), killed)
	if killed == 0 {
		t.Fatal("no session was terminated: the test did not test anything")
	}
	for _, id := range created {
		e.must(http.StatusOK, "GET", "/Users/"+id, "")
	}
}
