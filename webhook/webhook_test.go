package webhook_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/oktasync/oktasync/webhook"
)

// The specification's published test vector.
func TestSignSpecVector(t *testing.T) {
	got, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil || got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("Sign = %q, %v", got, err)
	}
}

// What we sign, the Standard Webhooks library verifies, and the other way round.
func TestAgainstStandardWebhooksLibrary(t *testing.T) {
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	old, _ := webhook.NewSecret()
	body := []byte(`{"id":"evt_1","type":"user.created"}`)
	now := time.Now()

	h := http.Header{}
	if err := webhook.SetHeaders(h, "evt_1", now, body, secret, old); err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get(webhook.HeaderSignature))); n != 2 {
		t.Fatalf("two secrets gave %d signatures", n)
	}
	for _, s := range []string{secret, old} {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Fatalf("library refuses our delivery: %v", err)
		}
		if err := webhook.Verify(s, h, body); err != nil {
			t.Fatalf("our Verify refuses our delivery: %v", err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	sig, err := wh.Sign("evt_2", now, body)
	if err != nil {
		t.Fatal(err)
	}
	lh := http.Header{}
	lh.Set(webhook.HeaderID, "evt_2")
	lh.Set(webhook.HeaderTimestamp, h.Get(webhook.HeaderTimestamp))
	lh.Set(webhook.HeaderSignature, sig)
	if err := webhook.Verify(secret, lh, body); err != nil {
		t.Fatalf("our Verify refuses the library's signature: %v", err)
	}
	third, _ := webhook.NewSecret()
	if err := webhook.Verify(third, h, body); !errors.Is(err, webhook.ErrNoMatch) {
		t.Fatalf("another secret: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	secret, _ := webhook.NewSecret()
	body := []byte(`{"a":1}`)
	now := time.Unix(1_700_000_000, 0)
	signed := func(at time.Time) http.Header {
		h := http.Header{}
		webhook.SetHeaders(h, "evt_x", at, body, secret)
		return h
	}
	cases := []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"good", signed(now), body, nil},
		{"altered body", signed(now), []byte(`{"a":2}`), webhook.ErrNoMatch},
		{"six minutes old", signed(now.Add(-6 * time.Minute)), body, webhook.ErrTooOld},
		{"six minutes ahead", signed(now.Add(6 * time.Minute)), body, webhook.ErrTooNew},
		{"no headers", http.Header{}, body, webhook.ErrMissingHeaders},
		{"changed id", func() http.Header { h := signed(now); h.Set(webhook.HeaderID, "evt_y"); return h }(), body, webhook.ErrNoMatch},
		{"unknown version only", func() http.Header {
			h := signed(now)
			h.Set(webhook.HeaderSignature, strings.Replace(h.Get(webhook.HeaderSignature), "v1,", "v2,", 1))
			return h
		}(), body, webhook.ErrNoMatch},
		{"timestamp not a number", func() http.Header { h := signed(now); h.Set(webhook.HeaderTimestamp, "soon"); return h }(), body, webhook.ErrBadTimestamp},
	}
	for _, c := range cases {
		if err := webhook.VerifyAt(secret, c.h, c.body, now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := webhook.VerifyAt("whsec_%%%", signed(now), body, now); !errors.Is(err, webhook.ErrBadSecret) {
		t.Errorf("bad secret: %v", err)
	}
}
