package scim

import (
	"net/http"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
)

func TestSmoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		id := e.createUser("Bob@example.com")
		r := e.must(http.StatusOK, "GET", "/Users/"+id, "")
		t.Logf("%s", r.body)
		r = e.must(http.StatusOK, "GET", `/Users?filter=userName+eq+"bob@example.com"&startIndex=1&count=100`, "")
		t.Logf("%s", r.body)
	})
}
