package oktaclient

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oktasync/oktasync/errkind"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultCallTimeout    = 3 * time.Minute
	DefaultMaxRetries     = 6
	DefaultMaxBackoff     = 15 * time.Second
	DefaultMaxConcurrency = 16
	DefaultReserve        = 0.02
	DefaultResetPad       = time.Second
)

// Config is how to reach one tenant's Okta org and app. It holds a secret: its String,
// GoString and LogValue methods redact the API token so a logged Config cannot leak it.
type Config struct {
	// OrgURL is the org's base URL, e.g. https://example.okta.com. A trailing slash is
	// ignored. Plain http is accepted only for loopback hosts (emulators in tests).
	OrgURL string
	// APIToken is an SSWS API token. Required: nothing is read from OKTA_CLIENT_TOKEN or
	// ~/.okta/okta.yaml, so an empty token is an error rather than someone else's token.
	APIToken string
	// AppID is the id of the Okta app whose users are synchronised.
	AppID string

	// RequestTimeout bounds one HTTP attempt, body included. Default 30s.
	RequestTimeout time.Duration
	// CallTimeout bounds one Client call, pacing waits and retries included. It must
	// exceed Okta's one-minute rate-limit window for a 429 to be waited out. Default 3m.
	CallTimeout time.Duration
	// MaxRetries is how many times one request is retried after a 429, a 503, or (reads
	// only) another 5xx or connection failure. 0 means the default (6); negative means none.
	MaxRetries int
	// MaxBackoff caps the exponential backoff between retries of transient failures.
	// Waits for a rate-limit window to reset are not capped by it. Default 15s.
	MaxBackoff time.Duration
	// MaxConcurrency bounds requests in flight, well under Okta's ~75 per org. Default 16.
	MaxConcurrency int
	// Reserve is the fraction of each rate-limit window the pacer never spends, left for
	// other clients of the same org. Default 0.02; at least one request is always kept.
	Reserve float64
	// ResetPad is waited past a window's reset before spending the next window, covering
	// clock skew and the one-second resolution of the reset header. Default 1s.
	ResetPad time.Duration
	// ProxyURL, when set, is the HTTP proxy to use. Proxy environment variables
	// (HTTPS_PROXY, OKTA_CLIENT_PROXY_*) are deliberately ignored.
	ProxyURL string

	// Observe, when set, is called after every HTTP attempt (retries included) with
	// what it met; metrics are fed from it.
	Observe func(Attempt)

	// Transport, when set, replaces the underlying HTTP transport (tests, custom TLS).
	Transport http.RoundTripper
	// Clock, when set, replaces the wall clock for pacing and backoff (tests).
	Clock Clock
}

// String describes the Config with the token redacted.
func (c Config) String() string {
	return fmt.Sprintf("oktaclient.Config{OrgURL: %q, AppID: %q, APIToken: %s}", c.OrgURL, c.AppID, redact(c.APIToken))
}

// GoString keeps %#v from printing the token.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("org_url", c.OrgURL),
		slog.String("app_id", c.AppID),
		slog.String("api_token", redact(c.APIToken)),
	)
}

func redact(s string) string {
	if s == "" {
		return "[empty]"
	}
	return "[redacted]"
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	c.OrgURL = strings.TrimRight(strings.TrimSpace(c.OrgURL), "/")
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxConcurrency <= 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.Reserve <= 0 {
		c.Reserve = DefaultReserve
	}
	if c.ResetPad <= 0 {
		c.ResetPad = DefaultResetPad
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	return c
}

// validate checks a Config after withDefaults. It reports whether the org URL is a
// loopback http URL, for which the SDK's https check must be switched off.
func (c Config) validate() (loopbackHTTP bool, err error) {
	const op = "oktaclient.New"
	if c.OrgURL == "" {
		return false, errkind.E(op, errkind.Invalid, "org URL is required", nil)
	}
	if c.APIToken == "" {
		return false, errkind.E(op, errkind.Invalid, "API token is required", nil)
	}
	if c.AppID == "" {
		return false, errkind.E(op, errkind.Invalid, "app id is required", nil)
	}
	if c.Reserve >= 1 {
		return false, errkind.E(op, errkind.Invalid, "reserve must be below 1", nil)
	}
	u, err := url.Parse(c.OrgURL)
	if err != nil || u.Host == "" {
		return false, errkind.E(op, errkind.Invalid, "org URL is not an absolute URL", err)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return false, errkind.E(op, errkind.Invalid, "org URL must be scheme and host only, e.g. https://example.okta.com", nil)
	}
	switch u.Scheme {
	case "https":
		// ok
	case "http":
		if !isLoopback(u.Hostname()) {
			return false, errkind.E(op, errkind.Invalid, "org URL must use https (http is allowed only for 127.0.0.1 or localhost)", nil)
		}
		loopbackHTTP = true
	default:
		return false, errkind.E(op, errkind.Invalid, "org URL must use https", nil)
	}
	if c.ProxyURL != "" {
		if p, err := url.Parse(c.ProxyURL); err != nil || p.Host == "" {
			return false, errkind.E(op, errkind.Invalid, "proxy URL is not an absolute URL", err)
		}
	}
	return loopbackHTTP, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
