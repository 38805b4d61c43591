// Package config reads oktasync's settings from OKTASYNC_* environment variables and
// command-line flags (flags win) and validates them before anything starts, so that a
// bad value stops the program with a message naming the variable or flag at fault.
package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting. The zero value is not valid; use Load.
type Config struct {
	DB         string // database URL: sqlite:PATH or postgres://...
	Listen     string // address the HTTP server listens on
	PublicURL  string // base URL Okta reaches the server at, used for the Target SCIM URL
	LogLevel   string // debug, info, warn or error
	LogFormat  string // text or json
	SMTPURL    string // smtp://user:pass@host:port or smtps://...; empty disables mail
	SMTPFrom   string // From address of invitation mail
	AdminToken string // bearer token for the /admin/v1 API; empty disables it
	SecretKey  string // base64 of 32 bytes: encrypts stored Okta API tokens
	// SCIMLogRetention is how long the SCIM request log keeps a request: a duration
	// such as 7d, 36h or 90m; 0 turns the log off.
	SCIMLogRetention string
	// EventRetention is how long the change feed keeps an event (720h); 0 keeps them all.
	EventRetention string
	// WebhookAllowPrivate ("true" or "false") lets webhook URLs reach loopback,
	// link-local and private addresses.
	WebhookAllowPrivate string
	// WebhookRetryFor is how long a failing webhook delivery is retried (72h).
	WebhookRetryFor string
	// MetricsListen is the address /metrics is served on; empty means the main listener.
	MetricsListen string
	// MetricsPerTenant ("true" or "false") adds a per-tenant SCIM request counter.
	MetricsPerTenant string
	// RequestTimeout bounds each SCIM request, its database queries included: a Go
	// duration such as 30s.
	RequestTimeout string
	// ConsoleLink ("true" or "false") makes serve print a one-time sign-in link to the
	// vendor's console when it starts; `make run` sets it.
	ConsoleLink string
}

// setting describes one option: its flag, its environment variable and its default.
type setting struct {
	flag, env, def, usage string
	field                 func(c *Config) *string
	secret                bool
}

var settings = []setting{
	{"db", "OKTASYNC_DB", "sqlite:oktasync.db", "database URL: sqlite:PATH or postgres://user:pass@host/db", func(c *Config) *string { return &c.DB }, false},
	{"listen", "OKTASYNC_LISTEN", "127.0.0.1:8080", "HTTP listen address (host:port)", func(c *Config) *string { return &c.Listen }, false},
	{"public-url", "OKTASYNC_PUBLIC_URL", "", "public base URL of this server, as Okta reaches it (default http://LISTEN)", func(c *Config) *string { return &c.PublicURL }, false},
	{"log-level", "OKTASYNC_LOG_LEVEL", "info", "log level: debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }, false},
	{"log-format", "OKTASYNC_LOG_FORMAT", "text", "log format: text or json", func(c *Config) *string { return &c.LogFormat }, false},
	{"smtp-url", "OKTASYNC_SMTP_URL", "", "SMTP server for invitations: smtp://user:pass@host:587 or smtps://...", func(c *Config) *string { return &c.SMTPURL }, true},
	{"smtp-from", "OKTASYNC_SMTP_FROM", "oktasync@localhost", "From address of invitation mail", func(c *Config) *string { return &c.SMTPFrom }, false},
	{"admin-token", "OKTASYNC_ADMIN_TOKEN", "", "bearer token protecting the /admin/v1 API (empty disables it)", func(c *Config) *string { return &c.AdminToken }, true},
	{"secret-key", "OKTASYNC_SECRET_KEY", "", "base64 of 32 random bytes; encrypts stored Okta API tokens and webhook secrets", func(c *Config) *string { return &c.SecretKey }, true},
	{"event-retention", "OKTASYNC_EVENT_RETENTION", "720h", "how long the change feed keeps events (e.g. 720h, 30d; 0 keeps them all)", func(c *Config) *string { return &c.EventRetention }, false},
	{"webhook-allow-private", "OKTASYNC_WEBHOOK_ALLOW_PRIVATE", "false", "allow webhook URLs on loopback, link-local and private addresses (true or false)", func(c *Config) *string { return &c.WebhookAllowPrivate }, false},
	{"webhook-retry-for", "OKTASYNC_WEBHOOK_RETRY_FOR", "72h", "how long a failing webhook delivery is retried before it is marked failed", func(c *Config) *string { return &c.WebhookRetryFor }, false},
	{"metrics-listen", "OKTASYNC_METRICS_LISTEN", "", "address to serve /metrics on (host:port; default: the main listener)", func(c *Config) *string { return &c.MetricsListen }, false},
	{"metrics-per-tenant", "OKTASYNC_METRICS_PER_TENANT", "false", "true adds a per-tenant SCIM request counter to /metrics", func(c *Config) *string { return &c.MetricsPerTenant }, false},
	{"scim-log-retention", "OKTASYNC_SCIM_LOG_RETENTION", "7d", "how long the SCIM request log keeps requests (e.g. 7d, 36h; 0 turns the log off)", func(c *Config) *string { return &c.SCIMLogRetention }, false},
	{"request-timeout", "OKTASYNC_REQUEST_TIMEOUT", "30s", "how long one SCIM request may take, its database queries included, before it is cut off with 503", func(c *Config) *string { return &c.RequestTimeout }, false},
	{"console-link", "OKTASYNC_CONSOLE_LINK", "false", "print a one-time sign-in link to the console on start: true or false", func(c *Config) *string { return &c.ConsoleLink }, false},
}

// Error is a configuration error naming the flag or environment variable at fault.
type Error struct {
	Name string // "--db" or "OKTASYNC_DB"
	Msg  string
}

func (e *Error) Error() string { return e.Name + ": " + e.Msg }

// Loader binds settings to a flag set. Create it with Register before parsing the flags,
// then call Load after.
type Loader struct {
	fs     *flag.FlagSet
	getenv func(string) string
	vals   map[string]*string
}

// Register adds the settings' flags to fs. Flags that the command does not need can be
// left out by naming only the wanted ones (all when none are named). Secrets are best
// given through the environment: flags show up in process listings.
func Register(fs *flag.FlagSet, getenv func(string) string, only ...string) *Loader {
	l := &Loader{fs: fs, getenv: getenv, vals: map[string]*string{}}
	for _, s := range settings {
		if len(only) > 0 && !contains(only, s.flag) {
			continue
		}
		l.vals[s.flag] = fs.String(s.flag, "", fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env, s.def))
	}
	return l
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Load resolves every setting (flag, else environment, else default) and validates it.
func (l *Loader) Load() (Config, error) {
	var c Config
	set := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	source := map[string]string{}
	for _, s := range settings {
		v, name := s.def, s.env
		if e := l.getenv(s.env); e != "" {
			v = e
		}
		if p, ok := l.vals[s.flag]; ok && set[s.flag] {
			v, name = *p, "--"+s.flag
		}
		*s.field(&c) = v
		source[s.flag] = name
	}
	return c, c.validate(source)
}

func (c *Config) validate(source map[string]string) error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, &Error{Name: source[flag], Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case strings.HasPrefix(c.DB, "sqlite:"):
		if strings.TrimPrefix(c.DB, "sqlite:") == "" {
			bad("db", "sqlite URL has no file path; want sqlite:PATH, e.g. sqlite:oktasync.db")
		}
	case strings.HasPrefix(c.DB, "postgres://"), strings.HasPrefix(c.DB, "postgresql://"):
		if u, err := url.Parse(c.DB); err != nil || u.Host == "" {
			bad("db", "PostgreSQL URL has no host; want postgres://user:pass@host:5432/dbname")
		}
	default:
		bad("db", "unsupported database URL %q; want sqlite:PATH or postgres://user:pass@host/db", redact(c.DB))
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		bad("listen", "%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", c.Listen)
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		bad("listen", "bad port %q", port)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public-url", "%q is not an absolute http(s) URL", c.PublicURL)
		}
		// Accept the Target SCIM URL itself, as an admin may paste it from Okta.
		c.PublicURL = strings.TrimSuffix(strings.TrimSuffix(c.PublicURL, "/"), "/scim/v2")
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		bad("log-level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "%q is not text or json", c.LogFormat)
	}
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			bad("smtp-url", "not an smtp:// or smtps:// URL with a host")
		}
	}
	if c.SecretKey != "" {
		if _, err := c.Key(); err != nil {
			bad("secret-key", "%v", err)
		}
	}
	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil || port == "" {
			bad("metrics-listen", "%q is not host:port (e.g. 127.0.0.1:9090 or :9090)", c.MetricsListen)
		} else if _, err := net.LookupPort("tcp", port); err != nil {
			bad("metrics-listen", "bad port %q", port)
		}
	}
	if _, err := strconv.ParseBool(c.MetricsPerTenant); err != nil {
		bad("metrics-per-tenant", "%q is not true or false", c.MetricsPerTenant)
	}
	if _, err := strconv.ParseBool(c.ConsoleLink); err != nil {
		bad("console-link", "%q is not true or false", c.ConsoleLink)
	}
	if _, err := ParseRetention(c.SCIMLogRetention); err != nil {
		bad("scim-log-retention", "%v", err)
	}
	if _, err := ParseRetention(c.EventRetention); err != nil {
		bad("event-retention", "%v", err)
	}
	if _, err := strconv.ParseBool(c.WebhookAllowPrivate); err != nil {
		bad("webhook-allow-private", "%q is not true or false", c.WebhookAllowPrivate)
	}
	if d, err := ParseRetention(c.WebhookRetryFor); err != nil || d == 0 {
		bad("webhook-retry-for", "%q is not a positive duration (e.g. 72h, 3d)", c.WebhookRetryFor)
	}
	if d, err := time.ParseDuration(c.RequestTimeout); err != nil || d <= 0 {
		bad("request-timeout", "%q is not a positive duration such as 30s", c.RequestTimeout)
	}
	return errors.Join(errs...)
}

// ConsoleLinkOn is ConsoleLink parsed.
func (c *Config) ConsoleLinkOn() bool {
	on, _ := strconv.ParseBool(c.ConsoleLink)
	return on
}

// MetricsPerTenantOn is MetricsPerTenant parsed.
func (c *Config) MetricsPerTenantOn() bool {
	on, _ := strconv.ParseBool(c.MetricsPerTenant)
	return on
}

// RequestTimeoutDuration is RequestTimeout parsed.
func (c *Config) RequestTimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(c.RequestTimeout)
	return d
}

// SCIMLogRetentionDuration is SCIMLogRetention parsed; 0 means the log is off.
func (c *Config) SCIMLogRetentionDuration() time.Duration {
	d, _ := ParseRetention(c.SCIMLogRetention)
	return d
}

// EventRetentionDuration is EventRetention parsed; 0 means events are kept forever.
func (c *Config) EventRetentionDuration() time.Duration {
	d, _ := ParseRetention(c.EventRetention)
	return d
}

// AllowPrivateWebhooks is WebhookAllowPrivate parsed.
func (c *Config) AllowPrivateWebhooks() bool {
	b, _ := strconv.ParseBool(c.WebhookAllowPrivate)
	return b
}

// WebhookRetryDuration is WebhookRetryFor parsed.
func (c *Config) WebhookRetryDuration() time.Duration {
	d, _ := ParseRetention(c.WebhookRetryFor)
	return d
}

// ParseRetention parses a retention period: a whole number of days ("7d") or a Go
// duration ("36h", "90m"); "0" means none. Negative periods are refused.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days (e.g. 7d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: use days (7d) or hours and minutes (36h, 90m); 0 turns the log off", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// Key decodes SecretKey: 32 bytes, base64 (standard or URL alphabet, padded or not).
func (c *Config) Key() ([]byte, error) {
	if c.SecretKey == "" {
		return nil, errors.New("no secret key is set (OKTASYNC_SECRET_KEY: base64 of 32 random bytes, e.g. from `openssl rand -base64 32`)")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(c.SecretKey); err == nil {
			if len(k) != 32 {
				return nil, fmt.Errorf("decodes to %d bytes; want 32 (e.g. `openssl rand -base64 32`)", len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("is not base64; want base64 of 32 random bytes (e.g. `openssl rand -base64 32`)")
}

// ParseLevel maps a level name to a slog.Level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// BaseURL is the public base URL of the server: PublicURL, else http:// plus the listen
// address (with 127.0.0.1 for an unspecified host).
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "http://" + c.Listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// SCIMURL is the Target SCIM URL to paste into Okta's provisioning settings.
func (c *Config) SCIMURL() string { return c.BaseURL() + "/scim/v2" }

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Logger builds the slog.Logger the settings describe, writing to w.
func (c *Config) Logger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	level, _ := ParseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Names lists the settings as (flag, environment variable, default, usage), for docs.
func Names() [][4]string {
	out := make([][4]string, len(settings))
	for i, s := range settings {
		out[i] = [4]string{"--" + s.flag, s.env, s.def, s.usage}
	}
	return out
}
