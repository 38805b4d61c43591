package event

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	cases := []struct {
		name     string
		old, cur string
		want     string
	}{
		{"nothing changed", `{"a":1,"version":1}`, `{"a":1,"version":2}`, `{}`},
		{"a value changed", `{"a":1,"b":"x"}`, `{"a":2,"b":"x"}`, `{"a":1}`},
		{"a field appeared", `{"a":1}`, `{"a":1,"b":true}`, `{"b":null}`},
		{"a field went", `{"a":1,"b":true}`, `{"a":1}`, `{"b":true}`},
		{"nested: only the changed entries", `{"attributes":{"title":"A","locale":"en"}}`, `{"attributes":{"title":"B","locale":"en"}}`, `{"attributes":{"title":"A"}}`},
		{"nested: an entry appeared", `{"attributes":{}}`, `{"attributes":{"title":"B"}}`, `{"attributes":{"title":null}}`},
		{"object from null", `{"conn":null}`, `{"conn":{"orgUrl":"u"}}`, `{"conn":null}`},
		{"arrays are whole values", `{"list":[1,2]}`, `{"list":[1]}`, `{"list":[1,2]}`},
		{"bookkeeping ignored", `{"updated":"t1","lastUsed":"t1"}`, `{"updated":"t2","lastUsed":"t2"}`, `{}`},
	}
	for _, c := range cases {
		got, err := Diff(json.RawMessage(c.old), json.RawMessage(c.cur))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := json.Marshal(got)
		if string(b) != c.want {
			t.Errorf("%s: Diff = %s, want %s", c.name, b, c.want)
		}
	}
}

func TestSourceOf(t *testing.T) {
	cases := map[Actor]string{
		{Kind: "scim", ID: "cred"}: SourceSCIM, {Kind: "syncer", ID: "run-1"}: SourceSync, {Kind: "api", ID: "key"}: SourceAPI,
		{Kind: "cli"}: SourceCLI, {Kind: "app", ID: "cli"}: SourceCLI, {Kind: "app"}: SourceApp, {Kind: "system"}: SourceApp,
	}
	for a, want := range cases {
		if got := SourceOf(a); got != want {
			t.Errorf("SourceOf(%+v) = %q, want %q", a, got, want)
		}
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || !strings.HasPrefix(a, "evt_") || len(a) != 30 {
		t.Fatalf("ids %q %q", a, b)
	}
}
