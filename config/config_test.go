package config

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse: %v", err)
	}
	return l.Load()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "sqlite:oktasync.db" || c.Listen != "127.0.0.1:8080" || c.LogLevel != "info" || c.LogFormat != "text" {
		t.Fatalf("defaults = %+v", c)
	}
	if c.SCIMURL() != "http://127.0.0.1:8080/scim/v2" {
		t.Fatalf("SCIMURL = %q", c.SCIMURL())
	}
}

func TestFlagsWinOverEnv(t *testing.T) {
	c, err := load(t, map[string]string{"OKTASYNC_DB": "sqlite:env.db", "OKTASYNC_LISTEN": ":9000"}, "--db", "sqlite:flag.db")
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "sqlite:flag.db" || c.Listen != ":9000" {
		t.Fatalf("got %+v", c)
	}
	if c.SCIMURL() != "http://127.0.0.1:9000/scim/v2" {
		t.Fatalf("SCIMURL for :9000 = %q", c.SCIMURL())
	}
	c, _ = load(t, map[string]string{"OKTASYNC_PUBLIC_URL": "https://sync.example.com/"})
	if c.SCIMURL() != "https://sync.example.com/scim/v2" {
		t.Fatalf("SCIMURL with public URL = %q", c.SCIMURL())
	}
	c, _ = load(t, map[string]string{"OKTASYNC_PUBLIC_URL": "https://sync.example.com/base/scim/v2/"})
	if c.SCIMURL() != "https://sync.example.com/base/scim/v2" {
		t.Fatalf("SCIMURL when the public URL is the SCIM URL = %q", c.SCIMURL())
	}
}

func TestInvalidValuesNameTheCulprit(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"OKTASYNC_DB": "mysql://x"}, nil, "OKTASYNC_DB: unsupported database URL"},
		{nil, []string{"--db", "oktasync.db"}, "--db: unsupported database URL"},
		{map[string]string{"OKTASYNC_DB": "sqlite:"}, nil, "OKTASYNC_DB: sqlite URL has no file path"},
		{map[string]string{"OKTASYNC_DB": "postgres://:secret@/x"}, nil, "OKTASYNC_DB: PostgreSQL URL has no host"},
		{map[string]string{"OKTASYNC_LISTEN": "8080"}, nil, "OKTASYNC_LISTEN: \"8080\" is not host:port"},
		{nil, []string{"--listen", "localhost:http-alt-nope"}, "--listen: bad port"},
		{map[string]string{"OKTASYNC_PUBLIC_URL": "example.com"}, nil, "OKTASYNC_PUBLIC_URL: \"example.com\" is not an absolute"},
		{map[string]string{"OKTASYNC_LOG_LEVEL": "loud"}, nil, "OKTASYNC_LOG_LEVEL: \"loud\" is not one of"},
		{nil, []string{"--log-format", "xml"}, "--log-format: \"xml\" is not text or json"},
		{map[string]string{"OKTASYNC_SMTP_URL": "http://mail"}, nil, "OKTASYNC_SMTP_URL: not an smtp://"},
		{map[string]string{"OKTASYNC_SECRET_KEY": "c2hvcnQ="}, nil, "OKTASYNC_SECRET_KEY: decodes to 5 bytes"},
		{map[string]string{"OKTASYNC_SECRET_KEY": "!!!"}, nil, "OKTASYNC_SECRET_KEY: is not base64"},
		{map[string]string{"OKTASYNC_SCIM_LOG_RETENTION": "a week"}, nil, "OKTASYNC_SCIM_LOG_RETENTION: \"a week\" is not a duration"},
		{nil, []string{"--scim-log-retention", "-3h"}, "--scim-log-retention: \"-3h\" is negative"},
		{nil, []string{"--scim-log-retention", "xd"}, "--scim-log-retention: \"xd\" is not a number of days"},
		{map[string]string{"OKTASYNC_METRICS_LISTEN": "9090"}, nil, "OKTASYNC_METRICS_LISTEN: \"9090\" is not host:port"},
		{nil, []string{"--metrics-listen", "localhost:nope"}, "--metrics-listen: bad port"},
		{map[string]string{"OKTASYNC_METRICS_PER_TENANT": "yes please"}, nil, "OKTASYNC_METRICS_PER_TENANT: \"yes please\" is not true or false"},
		{map[string]string{"OKTASYNC_CONSOLE_LINK": "yes"}, nil, "OKTASYNC_CONSOLE_LINK: \"yes\" is not true or false"},
	}
	for _, tc := range cases {
		_, err := load(t, tc.env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v args %v: got %v, want %q", tc.env, tc.args, err, tc.want)
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("error %v is not a *config.Error", err)
		}
	}
}

func TestPasswordNotEchoed(t *testing.T) {
	_, err := load(t, map[string]string{"OKTASYNC_DB": "mysql://u:hunter2@db/x"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestSecretKey(t *testing.T) {
	c, err := load(t, map[string]string{"OKTASYNC_SECRET_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.Key()
	if err != nil || len(k) != 32 || k[31] != 31 {
		t.Fatalf("key = %v, %v", k, err)
	}
	var empty Config
	if _, err := empty.Key(); err == nil || !strings.Contains(err.Error(), "OKTASYNC_SECRET_KEY") {
		t.Fatalf("missing key error does not name the variable: %v", err)
	}
}

func TestSCIMLogRetention(t *testing.T) {
	cases := []struct {
		env  string
		want time.Duration
	}{
		{"", 7 * 24 * time.Hour}, // the default
		{"30d", 30 * 24 * time.Hour},
		{"36h", 36 * time.Hour},
		{"90m", 90 * time.Minute},
		{"0", 0}, // the log is off
	}
	for _, tc := range cases {
		c, err := load(t, map[string]string{"OKTASYNC_SCIM_LOG_RETENTION": tc.env})
		if err != nil {
			t.Fatalf("OKTASYNC_SCIM_LOG_RETENTION=%q: %v", tc.env, err)
		}
		if got := c.SCIMLogRetentionDuration(); got != tc.want {
			t.Errorf("OKTASYNC_SCIM_LOG_RETENTION=%q: retention %v, want %v", tc.env, got, tc.want)
		}
	}
}
