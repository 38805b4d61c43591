// Package mailer delivers the emails the app queues in the store (welcome emails for
// users provisioned through SCIM) over SMTP, retrying failed deliveries with exponential
// backoff.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"net/url"
	"time"

	"github.com/oktasync/oktasync/appstore"
)

// Clock is the mailer's time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// Sleep blocks for d or until ctx is done, returning ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

// Defaults for zero Options fields.
const (
	DefaultPollInterval = 10 * time.Second
	DefaultBatchSize    = 50
	DefaultMaxAttempts  = 8
	DefaultBaseBackoff  = time.Minute
	DefaultMaxBackoff   = 6 * time.Hour
	DefaultTimeout      = 30 * time.Second
)

// Options configures a Mailer. Zero values take the documented defaults.
type Options struct {
	// SMTPURL is smtp://[user:pass@]host[:port] (port 587 by default; STARTTLS is used
	// when the server offers it, and required with ?starttls=require) or
	// smtps://[user:pass@]host[:port] (implicit TLS, port 465 by default).
	SMTPURL string
	// From is the sender address.
	From string
	// Logger receives delivery outcomes; nil discards them. Credentials are never logged.
	Logger *slog.Logger
	// Clock defaults to the wall clock.
	Clock Clock
	// PollInterval is how often the queue is checked; default DefaultPollInterval.
	PollInterval time.Duration
	// BatchSize is how many due mails one poll takes; default DefaultBatchSize.
	BatchSize int
	// MaxAttempts is how many deliveries are tried before a mail is given up; default
	// DefaultMaxAttempts. A permanent SMTP failure (5xx) gives up at once.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the wait before a retry, which doubles with each
	// failed attempt; defaults DefaultBaseBackoff and DefaultMaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// Timeout bounds one delivery; default DefaultTimeout.
	Timeout time.Duration
	// TLSConfig is used for smtps and STARTTLS; nil verifies the server against the
	// system roots.
	TLSConfig *tls.Config
	// OnAttempt, when set, is called after every delivery attempt with its error (nil
	// when the mail was sent) and whether the mail was given up.
	OnAttempt func(err error, gaveUp bool)
}

// Mailer delivers queued mail.
type Mailer struct {
	store appstore.Store
	opts  Options
	log   *slog.Logger
	clock Clock
	cfg   smtpConfig
	err   error // a bad SMTPURL, reported by Run
}

// New returns a Mailer for the store's mail queue. A malformed SMTPURL is reported by Run.
func New(store appstore.Store, opts Options) *Mailer {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = DefaultBaseBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	m := &Mailer{store: store, opts: opts, log: opts.Logger, clock: opts.Clock}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = wallClock{}
	}
	m.cfg, m.err = parseSMTPURL(opts.SMTPURL)
	if m.err == nil && opts.From == "" {
		m.err = errors.New("mailer: From is required")
	}
	return m
}

// Run delivers due mail every PollInterval until ctx is done, then returns nil. It
// returns an error only for a configuration it cannot work with.
func (m *Mailer) Run(ctx context.Context) error {
	if m.err != nil {
		return m.err
	}
	m.log.Info("mailer: started", "server", m.cfg.redacted())
	for {
		if _, err := m.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("mailer: reading the mail queue failed", "err", err)
		}
		if err := m.clock.Sleep(ctx, m.opts.PollInterval); err != nil {
			return nil
		}
	}
}

// DeliverDue tries every mail that is due once and records each outcome. It returns how
// many were sent.
func (m *Mailer) DeliverDue(ctx context.Context) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	due, err := m.store.DueMail(ctx, m.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("mailer: listing due mail: %w", err)
	}
	sent := 0
	for _, mail := range due {
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
		err := m.deliver(ctx, mail)
		mail.Attempts++
		now := m.clock.Now()
		if err == nil {
			mail.Sent, mail.LastError, mail.NextAttempt = now, "", now
			sent++
			m.log.Info("mailer: sent", "mail", mail.ID, "tenant", mail.TenantID)
		} else {
			mail.LastError = err.Error()
			if permanent(err) || mail.Attempts >= m.opts.MaxAttempts {
				mail.GaveUp = now // kept with its last error for inspection, never due again
				m.log.Error("mailer: giving up", "mail", mail.ID, "tenant", mail.TenantID, "attempts", mail.Attempts, "err", err)
			} else {
				mail.NextAttempt = now.Add(m.backoff(mail.Attempts))
				m.log.Warn("mailer: delivery failed; will retry", "mail", mail.ID, "tenant", mail.TenantID, "attempts", mail.Attempts, "next", mail.NextAttempt, "err", err)
			}
		}
		if m.opts.OnAttempt != nil {
			m.opts.OnAttempt(err, !mail.GaveUp.IsZero())
		}
		if err := m.store.MarkMail(ctx, mail); err != nil {
			return sent, fmt.Errorf("mailer: recording delivery of mail %d: %w", mail.ID, err)
		}
	}
	return sent, nil
}

// backoff is the wait after the given number of failed attempts: BaseBackoff doubled
// per earlier failure, capped at MaxBackoff.
func (m *Mailer) backoff(attempts int) time.Duration {
	d := m.opts.BaseBackoff
	for i := 1; i < attempts; i++ {
		d *= 2
		if d >= m.opts.MaxBackoff {
			return m.opts.MaxBackoff
		}
	}
	return min(d, m.opts.MaxBackoff)
}

// permanent reports whether retrying cannot help: the server refused with a 5xx reply
// (unknown mailbox, relaying denied, bad credentials) or the message itself is invalid.
func permanent(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500
	}
	return errors.Is(err, errInvalidMessage)
}

// smtpConfig is a parsed SMTPURL.
type smtpConfig struct {
	implicitTLS     bool
	requireSTARTTLS bool
	host, port      string
	user, pass      string
}

func (c smtpConfig) addr() string { return c.host + ":" + c.port }

// redacted names the server without credentials, for logs.
func (c smtpConfig) redacted() string {
	scheme := "smtp"
	if c.implicitTLS {
		scheme = "smtps"
	}
	return scheme + "://" + c.addr()
}

func parseSMTPURL(s string) (smtpConfig, error) {
	var c smtpConfig
	u, err := url.Parse(s)
	if err != nil {
		return c, errors.New("mailer: SMTP URL does not parse") // the URL may hold a password: not echoed
	}
	switch u.Scheme {
	case "smtp":
		c.port = "587"
	case "smtps":
		c.implicitTLS, c.port = true, "465"
	default:
		return c, fmt.Errorf("mailer: SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	c.host = u.Hostname()
	if c.host == "" {
		return c, errors.New("mailer: SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		c.port = p
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
	}
	switch v := u.Query().Get("starttls"); v {
	case "", "auto":
	case "require":
		c.requireSTARTTLS = true
	default:
		return c, fmt.Errorf("mailer: SMTP URL starttls=%q: want auto or require", v)
	}
	return c, nil
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
