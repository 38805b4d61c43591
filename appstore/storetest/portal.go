package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

var portalTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"SetupLinks", testSetupLinks},
	{"Sessions", testSessions},
}

func testSetupLinks(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	exp := time.Now().Add(24 * time.Hour)
	l, secret, err := s.CreateSetupLink(ctx, appstore.SetupLink{TenantID: "default", Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) < 40 || l.ID == "" || l.CreatedBy != "test:conformance" || l.Expires.Sub(exp).Abs() > time.Millisecond {
		t.Fatalf("link %+v secret %q", l, secret)
	}
	_, _, err = s.CreateSetupLink(ctx, appstore.SetupLink{TenantID: "nope", Expires: exp})
	mustKind(t, err, errkind.NotFound)
	_, _, err = s.CreateSetupLink(ctx, appstore.SetupLink{TenantID: "default", Expires: time.Now().Add(-time.Second)})
	mustKind(t, err, errkind.Invalid)

	got, err := s.RedeemSetupLink(ctx, secret)
	if err != nil || got.ID != l.ID || got.TenantID != "default" || got.Used.IsZero() {
		t.Fatalf("redeem: %+v %v", got, err)
	}
	if _, err := s.RedeemSetupLink(ctx, secret); err != nil {
		t.Fatalf("a reusable link refused on its second use: %v", err)
	}
	for _, bad := range []string{"", "osl_made-up", secret + "x", strings.ToUpper(secret)} {
		_, err := s.RedeemSetupLink(ctx, bad)
		mustKind(t, err, errkind.NotFound)
		if errors.Is(err, appstore.ErrLinkGone) {
			t.Errorf("made-up link %q reported as expired rather than unknown", bad)
		}
	}

	// One-time links (the console's) work once.
	once, onceSecret, err := s.CreateSetupLink(ctx, appstore.SetupLink{OneTime: true, Expires: exp})
	if err != nil || once.TenantID != "" {
		t.Fatalf("console link: %+v %v", once, err)
	}
	if _, err := s.RedeemSetupLink(ctx, onceSecret); err != nil {
		t.Fatal(err)
	}
	_, err = s.RedeemSetupLink(ctx, onceSecret)
	if !errors.Is(err, appstore.ErrLinkGone) {
		t.Fatalf("second use of a one-time link: %v, want ErrLinkGone", err)
	}

	list, err := s.ListSetupLinks(ctx, "default")
	if err != nil || len(list) != 1 || list[0].ID != l.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.RevokeSetupLink(ctx, "other", l.ID); !errors.Is(err, errkind.NotFound) {
		t.Fatalf("revoke through another tenant: %v, want NotFound", err)
	}
	_, sessSecret, err := s.CreateSession(ctx, appstore.Session{TenantID: "default", Actor: appstore.SetupLinkActor(l.ID)}, time.Hour, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSetupLink(ctx, "default", l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TouchSession(ctx, sessSecret, time.Hour); !errors.Is(err, errkind.Unauthorized) {
		t.Fatalf("a session of a revoked link still works: %v", err)
	}
	mustKind(t, s.RevokeSetupLink(ctx, "default", l.ID), errkind.NotFound)
	if _, err := s.RedeemSetupLink(ctx, secret); !errors.Is(err, appstore.ErrLinkGone) {
		t.Fatalf("revoked link: %v, want ErrLinkGone", err)
	}

	// Expiry.
	_, shortSecret, err := s.CreateSetupLink(ctx, appstore.SetupLink{TenantID: "default", Expires: time.Now().Add(300 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemSetupLink(ctx, shortSecret); err != nil {
		t.Fatalf("link refused before it expired: %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := s.RedeemSetupLink(ctx, shortSecret); !errors.Is(err, appstore.ErrLinkGone) {
		t.Fatalf("expired link: %v, want ErrLinkGone", err)
	}
	if list, _ := s.ListSetupLinks(ctx, "default"); len(list) != 0 {
		t.Fatalf("expired and revoked links still listed: %+v", list)
	}
	events, _ := s.ListAudit(ctx, appstore.AuditQuery{TenantID: "default"})
	ops := map[string]int{}
	for _, e := range events {
		ops[e.Operation]++
		for _, ch := range e.Changes {
			if strings.Contains(strings.Join([]string{toString(ch.Old), toString(ch.New)}, " "), secret[4:]) {
				t.Errorf("audit event %s leaks the link's secret", e.Operation)
			}
		}
	}
	if ops["setuplink.create"] != 2 || ops["setuplink.revoke"] != 1 {
		t.Errorf("audit operations %v, want 2 setuplink.create and 1 setuplink.revoke", ops)
	}
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}

func testSessions(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	sess, secret, err := s.CreateSession(ctx, appstore.Session{TenantID: "default", Actor: "setup-link:1"}, time.Hour, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := sess.Expires.Sub(sess.Created); d != 12*time.Hour {
		t.Errorf("absolute lifetime %v, want 12h", d)
	}
	if d := sess.IdleUntil.Sub(sess.Created); d != time.Hour {
		t.Errorf("idle lifetime %v, want 1h", d)
	}
	got, err := s.TouchSession(ctx, secret, time.Hour)
	if err != nil || got.ID != sess.ID || got.TenantID != "default" || got.Actor != "setup-link:1" {
		t.Fatalf("touch: %+v %v", got, err)
	}
	console, csecret, err := s.CreateSession(ctx, appstore.Session{Actor: "admin-token"}, time.Hour, 12*time.Hour)
	if err != nil || console.TenantID != "" {
		t.Fatalf("console session: %+v %v", console, err)
	}
	_, err = s.TouchSession(ctx, "made-up", time.Hour)
	mustKind(t, err, errkind.Unauthorized)

	// Unused for longer than idle: ended.
	_, idleSecret, err := s.CreateSession(ctx, appstore.Session{TenantID: "default", Actor: "x"}, 300*time.Millisecond, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	_, err = s.TouchSession(ctx, idleSecret, 300*time.Millisecond)
	mustKind(t, err, errkind.Unauthorized)

	// Used, so never idle, but past the absolute end: ended.
	_, absSecret, err := s.CreateSession(ctx, appstore.Session{TenantID: "default", Actor: "x"}, time.Hour, 400*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		_, err = s.TouchSession(ctx, absSecret, time.Hour)
	}
	mustKind(t, err, errkind.Unauthorized)

	// Use moves the idle end forward: touched every 200ms, a 500ms-idle session lives on.
	_, s3, err := s.CreateSession(ctx, appstore.Session{TenantID: "default", Actor: "x"}, 500*time.Millisecond, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		time.Sleep(200 * time.Millisecond)
		if _, err := s.TouchSession(ctx, s3, 500*time.Millisecond); err != nil {
			t.Fatalf("a session in use ended: %v", err)
		}
	}
	if _, err := s.TouchSession(ctx, csecret, time.Hour); err != nil {
		t.Fatalf("console session: %v", err)
	}
	if err := s.DeleteSession(ctx, s3); err != nil {
		t.Fatal(err)
	}
	_, err = s.TouchSession(ctx, s3, time.Hour)
	mustKind(t, err, errkind.Unauthorized)
	if err := s.DeleteSession(ctx, s3); err != nil {
		t.Fatalf("signing out twice: %v", err)
	}
}
