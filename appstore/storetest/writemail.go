package storetest

import (
	"errors"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

var writeMailTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"MailWithUserWrites", testMailWithUserWrites},
}

// testMailWithUserWrites: WithMail queues its mail in the user write's transaction: a
// committed create or update has it, a refused one (a taken userName, an update whose
// fn fails, a mail that cannot be queued) leaves neither the write nor the mail.
func testMailWithUserWrites(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	welcome := appstore.WithMail(func(old *appstore.User, u appstore.User) (appstore.Mail, bool) {
		if !u.Active || (old != nil && old.Active) {
			return appstore.Mail{}, false
		}
		return appstore.Mail{TenantID: u.TenantID, To: u.UserName, Subject: "Welcome", Body: "Hi " + u.UserName}, true
	})
	due := func() []string {
		t.Helper()
		list, err := s.DueMail(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, m := range list {
			to = append(to, m.To)
		}
		return to
	}
	u, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "ann@example.com", Active: true}, welcome)
	if err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 1 || got[0] != "ann@example.com" {
		t.Fatalf("mail after create: %v, want [ann@example.com]", got)
	}
	_, err = s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "ANN@example.com", Active: true}, welcome)
	mustKind(t, err, errkind.Conflict)
	if got := due(); len(got) != 1 {
		t.Fatalf("a refused create queued mail: %v", got)
	}
	// Deactivating sends nothing; reactivating does; an update that fails sends nothing.
	if _, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { u.Active = false; return nil }, welcome); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	if _, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { u.Active = true; return refused }, welcome); !errors.Is(err, refused) {
		t.Fatalf("failing update: %v", err)
	}
	if got := due(); len(got) != 1 {
		t.Fatalf("deactivation or a failed update queued mail: %v", got)
	}
	if _, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { u.Active = true; return nil }, welcome); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 2 {
		t.Fatalf("mail after reactivation: %v, want two", got)
	}
	// A mail that cannot be queued (no recipient) takes its write with it.
	noRecipient := appstore.WithMail(func(*appstore.User, appstore.User) (appstore.Mail, bool) {
		return appstore.Mail{TenantID: "default"}, true
	})
	_, err = s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "bob@example.com", Active: true}, noRecipient)
	mustKind(t, err, errkind.Invalid)
	if _, err := s.GetUserByUserName(ctx, "default", "bob@example.com"); !errors.Is(err, errkind.NotFound) {
		t.Fatalf("the create whose mail failed was stored: %v", err)
	}
}
