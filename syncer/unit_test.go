package syncer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/scimschema"
)

func TestThreeWay(t *testing.T) {
	keys := []string{"a"}
	for _, tc := range []struct {
		name            string
		app, okta, base any
		hasBase         bool
		policy          ConflictPolicy
		appNewer        bool
		noBase          Side
		toApp, toOkta   any // "-" for none
		conflict        bool
	}{
		{"agreed", "x", "x", "x", true, OktaWins, false, SideOkta, "-", "-", false},
		{"both changed to the same", "y", "y", "x", true, OktaWins, false, SideOkta, "-", "-", false},
		{"app changed", "y", "x", "x", true, OktaWins, false, SideOkta, "-", "y", false},
		{"okta changed", "x", "y", "x", true, AppWins, false, SideOkta, "y", "-", false},
		{"app cleared", nil, "x", "x", true, OktaWins, false, SideOkta, "-", nil, false},
		{"okta cleared", "x", "", "x", true, AppWins, false, SideOkta, "", "-", false},
		{"app set, absent in base", "y", nil, nil, true, OktaWins, false, SideOkta, "-", "y", false},
		{"conflict okta-wins", "a", "o", "b", true, OktaWins, false, SideOkta, "o", "-", true},
		{"conflict app-wins", "a", "o", "b", true, AppWins, false, SideOkta, "-", "a", true},
		{"conflict newest app", "a", "o", "b", true, NewestWins, true, SideOkta, "-", "a", true},
		{"conflict newest okta", "a", "o", "b", true, NewestWins, false, SideOkta, "o", "-", true},
		{"no base, okta owns", "a", "o", nil, false, AppWins, false, SideOkta, "o", "-", false},
		{"no base, app owns", "a", "o", nil, false, OktaWins, false, SideApp, "-", "a", false},
		{"no base fills app gap", nil, "o", nil, false, OktaWins, false, SideApp, "o", "-", false},
		{"no base fills okta gap", "a", nil, nil, false, OktaWins, false, SideOkta, "-", "a", false},
		{"numbers compare by value", 1, float64(1), 1, true, OktaWins, false, SideOkta, "-", "-", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := MergeInput{Keys: keys, App: map[string]any{}, Okta: map[string]any{}, Base: map[string]any{}, HasBase: tc.hasBase,
				Policy: tc.policy, AppNewer: tc.appNewer, NoBaseWinner: tc.noBase}
			if tc.app != nil {
				in.App["a"] = tc.app
			}
			if tc.okta != nil {
				in.Okta["a"] = tc.okta
			}
			if tc.base != nil {
				in.Base["a"] = tc.base
			}
			m := ThreeWay(in)
			check := func(side string, got map[string]any, want any) {
				v, ok := got["a"]
				if want == "-" {
					if ok {
						t.Errorf("%s = %v, want nothing", side, v)
					}
					return
				}
				if !ok || !same(v, want) {
					t.Errorf("%s = %v (%v), want %v", side, v, ok, want)
				}
			}
			check("toApp", m.ToApp, tc.toApp)
			check("toOkta", m.ToOkta, tc.toOkta)
			if got := len(m.Conflicts) > 0; got != tc.conflict {
				t.Errorf("conflict %v, want %v", got, tc.conflict)
			}
			// The new base is what both sides hold after the writes.
			final := tc.app
			if _, ok := m.ToApp["a"]; ok {
				final = m.ToApp["a"]
			}
			if !same(m.Base["a"], final) {
				t.Errorf("base %v, want %v", m.Base["a"], final)
			}
		})
	}
}

func TestMappingRoundTrip(t *testing.T) {
	m := DefaultMapping([]scimschema.CustomAttr{{Name: "badge", Type: scimschema.String}, {Name: "title", Type: scimschema.String}})
	u := &appstore.User{UserName: "a@b.c", Active: true, Attrs: map[string]any{
		"name":                   map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"emails":                 []any{map[string]any{"value": "home@b.c", "type": "home"}, map[string]any{"value": "a@b.c", "type": "work", "primary": true}},
		"phoneNumbers":           []any{map[string]any{"value": "+1 555", "type": "mobile"}},
		"addresses":              []any{map[string]any{"type": "work", "locality": "Paris", "country": "FR"}},
		"title":                  "Eng",
		scimschema.EnterpriseURN: map[string]any{"department": "R&D", "employeeNumber": "42"},
		scimschema.CustomURN:     map[string]any{"badge": "B-7"},
	}}
	v := m.AppValues(u)
	want := map[string]any{KeyUserName: "a@b.c", KeyActive: true, "givenName": "Ann", "familyName": "Lee", "email": "a@b.c",
		"mobilePhone": "+1 555", "locality": "Paris", "countryCode": "FR", "title": "Eng", "department": "R&D", "employeeNumber": "42", "badge": "B-7"}
	if !sameMap(v, want) {
		t.Errorf("AppValues = %v\nwant %v", v, want)
	}
	// A custom attribute named like a standard one does not shadow it.
	n := 0
	for _, f := range m.Fields {
		if strings.EqualFold(f.Okta, "title") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d fields named title", n)
	}
	// Apply Okta's values onto an empty user and read them back.
	au := &oktaclient.AppUser{UserName: "x@y.z", Profile: map[string]any{"givenName": "X", "email": "x@y.z", "primaryPhone": "+33",
		"streetAddress": "1 rue", "department": "Ops", "badge": "C", "unmapped": "ignored"}}
	ov := m.OktaValues(au)
	nu := &appstore.User{}
	m.Apply(nu, ov)
	if back := m.AppValues(nu); !sameMap(back, ov) {
		t.Errorf("round trip: %v\nwant %v", back, ov)
	}
	if _, ok := ov["unmapped"]; ok {
		t.Error("unmapped profile attribute merged")
	}
	// Clearing removes values and the containers they leave empty.
	m.Apply(nu, map[string]any{"givenName": nil, "email": nil, "primaryPhone": nil, "streetAddress": nil, "department": nil, "badge": nil})
	for _, k := range []string{"name", "emails", "phoneNumbers", "addresses", scimschema.EnterpriseURN, scimschema.CustomURN} {
		if _, ok := nu.Attrs[k]; ok {
			t.Errorf("%s left behind: %v", k, nu.Attrs[k])
		}
	}
	// Setting the email of a user with emails changes the primary one only.
	m.Apply(u, map[string]any{"email": "new@b.c"})
	if u.PrimaryEmail() != "new@b.c" || len(u.Attrs["emails"].([]any)) != 2 {
		t.Errorf("emails %v", u.Attrs["emails"])
	}
}

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sealed, err := Seal(key, "acme", "00abcTOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("TOKEN")) {
		t.Error("token visible in the sealed bytes")
	}
	if got, err := Open(key, "acme", sealed); err != nil || got != "00abcTOKEN" {
		t.Errorf("open: %q %v", got, err)
	}
	if _, err := Open(key, "other", sealed); err == nil {
		t.Error("opened under another tenant")
	}
	if _, err := Open(bytes.Repeat([]byte{8}, 32), "acme", sealed); err == nil {
		t.Error("opened with another key")
	}
	if _, err := Seal(nil, "acme", "x"); err != ErrNoKey {
		t.Errorf("no key: %v", err)
	}
	if _, err := Seal(key[:16], "acme", "x"); err == nil {
		t.Error("short key accepted")
	}
	again, _ := Seal(key, "acme", "00abcTOKEN")
	if bytes.Equal(again, sealed) {
		t.Error("same nonce twice")
	}
}

func TestPolicyOf(t *testing.T) {
	p, err := PolicyOf(appstore.Tenant{})
	if err != nil || p.Conflict != OktaWins || p.Unmatched != CreateUnmatched || p.Deactivate != Unassign ||
		p.Schedule != DefaultSchedule || p.FullSchedule != DefaultFullSchedule {
		t.Errorf("defaults %+v %v", p, err)
	}
	for _, bad := range []map[string]string{
		{SettingConflict: "coin-flip"}, {SettingUnmatched: "maybe"}, {SettingDeactivate: "delete"},
		{SettingSchedule: "every day"}, {SettingFullSchedule: "61 * * * *"},
	} {
		if _, err := PolicyOf(appstore.Tenant{Settings: appstore.TenantSettings{Extra: bad}}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	p, err = PolicyOf(appstore.Tenant{Settings: appstore.TenantSettings{Extra: map[string]string{SettingSchedule: "off", SettingConflict: "newest-wins"}}})
	if err != nil || p.Schedule != "off" || p.Conflict != NewestWins {
		t.Errorf("%+v %v", p, err)
	}
}
