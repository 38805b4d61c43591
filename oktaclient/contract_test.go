package oktaclient_test

import (
	"os"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/oktaclient/oktaclienttest"
	"github.com/oktasync/oktasync/oktasim"
)

func TestContractOktasim(t *testing.T) {
	// Ten times Okta's limits: the suite is paced, and need not take minutes.
	srv := oktasim.NewServer(oktasim.WithRateLimitMultiplier(10))
	t.Cleanup(srv.Close)
	newClient := func(t *testing.T, token string) oktaclient.Client {
		c, err := oktaclient.New(oktaclient.Config{OrgURL: srv.URL, APIToken: token, AppID: srv.AppID})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	oktaclienttest.RunContract(t, oktaclienttest.Harness{
		New:          func(t *testing.T) oktaclient.Client { return newClient(t, srv.Token) },
		NewWithToken: newClient,
	})
}

// TestContractOkta runs the contract against a real org when OKTA_ORG_URL,
// OKTA_API_TOKEN and OKTA_APP_ID are set. It creates users named
// oktasync-ct-*@example.com, assigns them to the app and deletes them afterwards.
// OKTA_APP_PROFILE_ATTR names the app user attribute it writes if "email" is mapped
// from the Okta user in that app.
func TestContractOkta(t *testing.T) {
	var missing []string
	env := map[string]string{}
	for _, k := range []string{"OKTA_ORG_URL", "OKTA_API_TOKEN", "OKTA_APP_ID"} {
		env[k] = os.Getenv(k)
		if env[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Skipf("set %s to run the contract against a real Okta org", strings.Join(missing, ", "))
	}
	newClient := func(t *testing.T, token string) *oktaclient.SDKClient {
		c, err := oktaclient.New(oktaclient.Config{OrgURL: env["OKTA_ORG_URL"], APIToken: token, AppID: env["OKTA_APP_ID"]})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	admin := newClient(t, env["OKTA_API_TOKEN"])
	oktaclienttest.RunContract(t, oktaclienttest.Harness{
		New:              func(t *testing.T) oktaclient.Client { return admin },
		NewWithToken:     func(t *testing.T, token string) oktaclient.Client { return newClient(t, token) },
		DeleteUser:       admin.DeleteUser,
		Timeout:          3 * oktaclient.DefaultCallTimeout,
		ProfileAttribute: os.Getenv("OKTA_APP_PROFILE_ATTR"),
	})
}

func TestNewSimClient(t *testing.T) {
	c, srv := oktaclienttest.NewSimClient(t, oktaclient.Config{MaxRetries: -1}, oktasim.WithAppLabel("demo"))
	r, err := c.Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if r.AppID != srv.AppID || r.AppLabel != "demo" || c.Config().MaxRetries != 0 {
		t.Errorf("Check = %+v, config %+v", r, c.Config())
	}
}
