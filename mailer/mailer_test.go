package mailer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// received is one message the test SMTP server accepted.
type received struct {
	from, to string
	data     string
	tls      bool
	authUser string
}

// smtpServer is a small in-test SMTP server (github.com/emersion/go-smtp). failRcpt
// returns the error to answer RCPT TO with, per attempt (nil accepts).
type smtpServer struct {
	mu       sync.Mutex
	msgs     []received
	rcpts    int
	failRcpt func(n int) error
	user     string
	pass     string
}

func (s *smtpServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{srv: s, msg: received{tls: isTLS}, conn: c}, nil
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	msg  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.msg.authUser = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && s.msg.authUser == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	s.msg.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	s.srv.rcpts++
	n := s.srv.rcpts
	s.srv.mu.Unlock()
	if s.srv.failRcpt != nil {
		if err := s.srv.failRcpt(n); err != nil {
			return err
		}
	}
	s.msg.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = string(b)
	if _, isTLS := s.conn.TLSConnectionState(); isTLS {
		s.msg.tls = true
	}
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.msg)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// serve starts srv on a loopback port. mode is "plain", "starttls" (TLS offered through
// STARTTLS) or "tls" (implicit TLS); it returns the address.
func serve(t *testing.T, be *smtpServer, mode string, cert tls.Certificate) string {
	t.Helper()
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	switch mode {
	case "plain":
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case "starttls":
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case "tls":
		l, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// fakeClock is a settable clock. It runs a day behind the wall clock, which the store
// uses to decide what is due, so that retries scheduled minutes ahead on the fake clock
// are already due for the store: the test needs no sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Add(-24 * time.Hour).Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func openStore(t *testing.T) appstore.Store {
	return storetest.SQLite.Open(t)
}

func enqueue(t *testing.T, st appstore.Store, to, subject string) {
	t.Helper()
	if err := st.EnqueueMail(context.Background(), appstore.Mail{TenantID: appstore.DefaultTenant, To: to, Subject: subject, Body: "Hello,\nwelcome.\n"}); err != nil {
		t.Fatal(err)
	}
}

func due(t *testing.T, st appstore.Store) []appstore.Mail {
	t.Helper()
	m, err := st.DueMail(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDeliver sends queued mail over plain SMTP with AUTH, STARTTLS and implicit TLS.
func TestDeliver(t *testing.T) {
	cert, pool := selfSigned(t)
	tests := []struct {
		mode, url string // url has ADDR replaced by the server's address
		wantTLS   bool
	}{
		{"plain", "smtp://app:pw@ADDR", false},
		{"starttls", "smtp://app:pw@ADDR?starttls=require", true},
		{"starttls", "smtp://app:pw@ADDR", true}, // opportunistic STARTTLS when offered
		{"tls", "smtps://app:pw@ADDR", true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			st := openStore(t)
			be := &smtpServer{user: "app", pass: "pw"}
			addr := serve(t, be, tt.mode, cert)
			m := New(st, Options{
				SMTPURL:   strings.Replace(tt.url, "ADDR", addr, 1),
				From:      "Oktasync <noreply@example.com>",
				Clock:     newFakeClock(),
				TLSConfig: &tls.Config{RootCAs: pool},
			})
			enqueue(t, st, "jane@example.com", "Welcome to Acme ✓")
			sent, err := m.DeliverDue(context.Background())
			if err != nil || sent != 1 {
				t.Fatalf("DeliverDue = %d, %v; queue %+v", sent, err, due(t, st))
			}
			msgs := be.messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages", len(msgs))
			}
			got := msgs[0]
			if got.from != "noreply@example.com" || got.to != "jane@example.com" || got.authUser != "app" || got.tls != tt.wantTLS {
				t.Fatalf("envelope %+v", got)
			}
			for _, want := range []string{"To: <jane@example.com>\r\n", "Subject: =?utf-8?q?Welcome_to_Acme_=E2=9C=93?=\r\n", "Content-Type: text/plain; charset=utf-8\r\n", "\r\n\r\nHello,\r\nwelcome.\r\n"} {
				if !strings.Contains(got.data, want) {
					t.Errorf("message lacks %q:\n%s", want, got.data)
				}
			}
			if n := len(due(t, st)); n != 0 {
				t.Fatalf("%d mails still due after delivery", n)
			}
		})
	}
}

// TestRetryWithBackoff checks that temporary failures are retried with a doubling wait,
// that a permanent failure gives up at once, and that MaxAttempts gives up too.
func TestRetryWithBackoff(t *testing.T) {
	st := openStore(t)
	be := &smtpServer{failRcpt: func(n int) error {
		if n <= 2 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	}}
	addr := serve(t, be, "plain", tls.Certificate{})
	clock := newFakeClock()
	var outcomes []string // what OnAttempt saw, in order
	onAttempt := func(err error, gaveUp bool) {
		outcomes = append(outcomes, fmt.Sprintf("failed=%v gaveUp=%v", err != nil, gaveUp))
	}
	m := New(st, Options{SMTPURL: "smtp://" + addr, From: "noreply@example.com", Clock: clock, BaseBackoff: time.Minute, MaxBackoff: time.Hour, OnAttempt: onAttempt})
	enqueue(t, st, "a@example.com", "s")
	ctx := context.Background()

	for attempt, wantWait := range []time.Duration{time.Minute, 2 * time.Minute} {
		now := clock.Now()
		if sent, err := m.DeliverDue(ctx); err != nil || sent != 0 {
			t.Fatalf("attempt %d: sent %d, err %v", attempt+1, sent, err)
		}
		d := due(t, st)
		if len(d) != 1 {
			t.Fatalf("attempt %d: %d due", attempt+1, len(d))
		}
		if d[0].Attempts != attempt+1 || !strings.Contains(d[0].LastError, "451") || !d[0].NextAttempt.Equal(now.Add(wantWait)) {
			t.Fatalf("attempt %d: %+v, want next attempt %s", attempt+1, d[0], now.Add(wantWait))
		}
		clock.Sleep(ctx, wantWait)
	}
	if sent, err := m.DeliverDue(ctx); err != nil || sent != 1 {
		t.Fatalf("third attempt: sent %d, err %v", sent, err)
	}
	if len(be.messages()) != 1 || len(due(t, st)) != 0 {
		t.Fatalf("after success: %d messages, %d due", len(be.messages()), len(due(t, st)))
	}

	// A 5xx is permanent: no retry.
	be.failRcpt = func(int) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	enqueue(t, st, "gone@example.com", "s")
	if sent, err := m.DeliverDue(ctx); err != nil || sent != 0 {
		t.Fatalf("permanent failure: sent %d, err %v", sent, err)
	}
	if n := len(due(t, st)); n != 0 {
		t.Fatalf("permanently failed mail is still due (%d)", n)
	}
	want := []string{"failed=true gaveUp=false", "failed=true gaveUp=false", "failed=false gaveUp=false", "failed=true gaveUp=true"}
	if fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Fatalf("OnAttempt saw %q, want %q", outcomes, want)
	}

	// MaxAttempts temporary failures give up too.
	be.failRcpt = func(int) error {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 0, 0}, Message: "busy"}
	}
	m = New(st, Options{SMTPURL: "smtp://" + addr, From: "noreply@example.com", Clock: clock, MaxAttempts: 2})
	enqueue(t, st, "busy@example.com", "s")
	for range 2 {
		if _, err := m.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Sleep(ctx, time.Hour)
	}
	if n := len(due(t, st)); n != 0 {
		t.Fatalf("mail still due after MaxAttempts (%d)", n)
	}
}

// TestConnectionFailures checks failures before any SMTP reply: nothing listening, and
// STARTTLS required of a server that does not offer it. Both are retried.
func TestConnectionFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	plain := serve(t, &smtpServer{}, "plain", tls.Certificate{})
	for _, url := range []string{"smtp://" + closed, "smtp://" + plain + "?starttls=require"} {
		t.Run(url, func(t *testing.T) {
			st := openStore(t)
			m := New(st, Options{SMTPURL: url, From: "noreply@example.com", Clock: newFakeClock(), Timeout: 5 * time.Second})
			enqueue(t, st, "a@example.com", "s")
			if sent, err := m.DeliverDue(context.Background()); err != nil || sent != 0 {
				t.Fatalf("sent %d, err %v", sent, err)
			}
			d := due(t, st)
			if len(d) != 1 || d[0].Attempts != 1 || d[0].LastError == "" {
				t.Fatalf("due after failure: %+v", d)
			}
		})
	}
}

func TestInvalidRecipientGivesUp(t *testing.T) {
	st := openStore(t)
	be := &smtpServer{}
	m := New(st, Options{SMTPURL: "smtp://" + serve(t, be, "plain", tls.Certificate{}), From: "noreply@example.com", Clock: newFakeClock()})
	enqueue(t, st, "not an address\r\nBcc: x@evil.example", "s")
	if _, err := m.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(be.messages()) != 0 || len(due(t, st)) != 0 {
		t.Fatalf("invalid recipient: %d sent, %d due", len(be.messages()), len(due(t, st)))
	}
}

func TestRun(t *testing.T) {
	st := openStore(t)
	be := &smtpServer{}
	addr := serve(t, be, "plain", tls.Certificate{})
	ctx, cancel := context.WithCancel(context.Background())
	clock := &cancelClock{fakeClock: newFakeClock(), cancel: cancel}
	enqueue(t, st, "a@example.com", "s")
	if err := New(st, Options{SMTPURL: "smtp://" + addr, From: "noreply@example.com", Clock: clock}).Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(be.messages()) != 1 {
		t.Fatalf("Run delivered %d messages", len(be.messages()))
	}
	for _, o := range []Options{
		{SMTPURL: "http://example.com", From: "a@example.com"},
		{SMTPURL: "smtp://", From: "a@example.com"},
		{SMTPURL: "smtp://host?starttls=maybe", From: "a@example.com"},
		{SMTPURL: "smtp://host"},
	} {
		if err := New(st, o).Run(context.Background()); err == nil {
			t.Errorf("Run with %+v: no error", o)
		}
	}
}

// cancelClock cancels the run at its first sleep.
type cancelClock struct {
	*fakeClock
	cancel context.CancelFunc
}

func (c *cancelClock) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	return c.fakeClock.Sleep(ctx, d)
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		url  string
		want smtpConfig
	}{
		{"smtp://mail.example.com", smtpConfig{host: "mail.example.com", port: "587"}},
		{"smtp://u:p%40ss@mail.example.com:25?starttls=require", smtpConfig{host: "mail.example.com", port: "25", user: "u", pass: "p@ss", requireSTARTTLS: true}},
		{"smtps://u@mail.example.com", smtpConfig{host: "mail.example.com", port: "465", user: "u", implicitTLS: true}},
	}
	for _, tt := range tests {
		got, err := parseSMTPURL(tt.url)
		if err != nil || got != tt.want {
			t.Errorf("parseSMTPURL(%q) = %+v, %v; want %+v", tt.url, got, err, tt.want)
		}
	}
	_, err := parseSMTPURL("smtp://user:hunter2@[::1")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URL error %v must exist and not echo the password", err)
	}
}

func TestBackoff(t *testing.T) {
	m := New(nil, Options{SMTPURL: "smtp://h", From: "a@b.c", BaseBackoff: time.Minute, MaxBackoff: 10 * time.Minute})
	for attempts, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 40: 10 * time.Minute} {
		if got := m.backoff(attempts); got != want {
			t.Errorf("backoff(%d) = %s, want %s", attempts, got, want)
		}
	}
	if !permanent(&smtpErr550) || permanent(errors.New("timeout")) {
		t.Error("permanent misclassifies")
	}
}

var smtpErr550 = textprotoError(550)
