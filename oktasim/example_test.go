package oktasim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/oktasync/oktasync/oktasim"
)

// Acting as an Okta admin from Go, with pushes going to a SCIM server.
func Example() {
	// A stand-in SCIM server that finds nobody and creates everyone.
	scim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":"scim-1","userName":"ann@example.com"}`)
			return
		}
		fmt.Fprint(w, `{"totalResults":0,"Resources":[]}`)
	}))
	defer scim.Close()

	srv := oktasim.NewServer(oktasim.WithAPIToken("secret"))
	defer srv.Close()
	srv.Sim.SetSCIMConnection(oktasim.SCIMConnection{BaseURL: scim.URL, Token: "t", CreateUsers: true})

	u, _ := srv.Sim.CreateUser(map[string]any{"login": "ann@example.com", "email": "ann@example.com",
		"firstName": "Ann", "lastName": "Lee"}, true)
	_, _ = srv.Sim.AssignUser(srv.AppID, u.ID, "", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Sim.WaitIdle(ctx)
	for _, p := range srv.Sim.Pushes() {
		fmt.Println(p.Method, p.Path, p.Status)
	}
	au, _ := srv.Sim.AppUser(srv.AppID, u.ID)
	fmt.Println(au.ExternalID, au.SyncState)
	// Output:
	// GET /Users?filter=userName%20eq%20%22ann%40example.com%22&startIndex=1&count=100 200
	// POST /Users 201
	// scim-1 SYNCHRONIZED
}
