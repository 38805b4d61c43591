package oktaclienttest

import (
	"testing"

	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/oktasim"
)

// NewSimClient starts an oktasim org on a loopback port and returns a Client for its
// app, built from cfg with the org URL, token and app id filled in. Both are closed when
// the test ends. Seed and inspect the org through srv.Sim.
func NewSimClient(t testing.TB, cfg oktaclient.Config, opts ...oktasim.Option) (*oktaclient.SDKClient, *oktasim.Server) {
	t.Helper()
	srv := oktasim.NewServer(opts...)
	t.Cleanup(srv.Close)
	cfg.OrgURL, cfg.APIToken, cfg.AppID = srv.URL, srv.Token, srv.AppID
	c, err := oktaclient.New(cfg)
	if err != nil {
		t.Fatalf("oktaclient.New: %v", err)
	}
	return c, srv
}
