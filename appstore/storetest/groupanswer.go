package storetest

import (
	"fmt"
	"testing"

	"github.com/oktasync/oktasync/appstore"
)

var groupAnswerTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"UpdateGroupAnswersAsRead", testUpdateGroupAnswersAsRead},
}

// testUpdateGroupAnswersAsRead: the group UpdateGroup answers with has the members, and
// their displays (sent, or derived from the member), that reading the group again
// gives, through sent displays kept, dropped and added, members added and removed, a
// member's type changed, and a write that leaves the members alone.
func testUpdateGroupAnswersAsRead(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	ann := mustUser(t, s, "default", "ann@example.com", map[string]any{"displayName": "Ann Lee"})
	bob := mustUser(t, s, "default", "bob@example.com", nil)
	cat := mustUser(t, s, "default", "cat@example.com", nil)
	sub, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Sub"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Team", Members: []appstore.Member{
		{Value: ann.ID, Display: "ann (sent)"}, {Value: bob.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	show := func(g appstore.Group) string {
		out := ""
		for _, m := range g.Members {
			out += fmt.Sprintf("%s/%s/%q/%v ", m.Value, m.Type, m.Display, m.DisplayDerived)
		}
		return out
	}
	for _, step := range []struct {
		name    string
		members []appstore.Member
		rename  string
	}{
		{"drop ann's sent display, send bob's, add cat", []appstore.Member{{Value: ann.ID}, {Value: bob.ID, Display: "bob (sent)"}, {Value: cat.ID}}, ""},
		{"remove bob, add a group", []appstore.Member{{Value: ann.ID}, {Value: cat.ID}, {Value: sub.ID, Type: "Group"}}, ""},
		{"rename only", nil, "Team 2"},
	} {
		answer, err := s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error {
			if step.members != nil {
				g.Members = step.members
			}
			if step.rename != "" {
				g.DisplayName = step.rename
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		read, err := s.GetGroup(ctx, "default", g.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if show(answer) != show(read) {
			t.Fatalf("%s: UpdateGroup answered\n  %s\nreading it again gives\n  %s", step.name, show(answer), show(read))
		}
	}
}
