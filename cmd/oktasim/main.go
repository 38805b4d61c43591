// Command oktasim serves an in-memory emulation of an Okta org's management
// API and of Okta's SCIM provisioning push engine, for tests, demos and CI.
//
// Usage:
//
//	oktasim --listen ADDR --api-token TOKEN [--app-id ID]
//	        [--scim-url URL --scim-token TOKEN] [flags]
//
// The management API is served at the root of ADDR (the org URL), the
// emulator's admin endpoints under /_sim/ (see package oktasim). SIGINT or
// SIGTERM shuts the server down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oktasync/oktasync/oktasim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a command-line mistake: reported with the flag's name and
// exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type options struct {
	listen, token, appID, appLabel string
	scimURL, scimToken             string
	create, update, deact, gpush   bool
	limits                         oktasim.RateLimits
	multiplier                     float64
	window                         time.Duration
	concurrency                    int
	faults                         oktasim.Faults
	seed                           uint64
	seeded                         bool
	appAttrs                       []string
}

// limitsFlag parses "family=N,family=N" and may be repeated.
type limitsFlag struct{ l oktasim.RateLimits }

func (f *limitsFlag) String() string {
	if f == nil || len(f.l) == 0 {
		return ""
	}
	var parts []string
	for k, v := range f.l {
		parts = append(parts, k+"="+strconv.Itoa(v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (f *limitsFlag) Set(v string) error {
	known := oktasim.DefaultRateLimits()
	for _, kv := range strings.Split(v, ",") {
		k, n, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return fmt.Errorf("want family=N, got %q", kv)
		}
		if _, ok := known[k]; !ok {
			names := make([]string, 0, len(known))
			for name := range known {
				names = append(names, name)
			}
			sort.Strings(names)
			return fmt.Errorf("unknown family %q (families: %s)", k, strings.Join(names, ", "))
		}
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 {
			return fmt.Errorf("limit for %s must be a whole number >= 0, got %q", k, n)
		}
		f.l[k] = i
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("oktasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "", "address to serve on, e.g. 127.0.0.1:8089 (required)")
	fs.StringVar(&o.token, "api-token", "", "SSWS API token clients must send (required)")
	fs.StringVar(&o.appID, "app-id", "", "id of the org's app (default: a generated 0oa... id)")
	fs.StringVar(&o.appLabel, "app-label", "oktasync", "label of the org's app")
	fs.StringVar(&o.scimURL, "scim-url", "", "SCIM base URL the app provisions to (provisioning off if empty)")
	fs.StringVar(&o.scimToken, "scim-token", "", "bearer token for --scim-url")
	fs.BoolVar(&o.create, "scim-create-users", true, "push new assignments (Create Users)")
	fs.BoolVar(&o.update, "scim-update-users", true, "push profile changes (Update User Attributes)")
	fs.BoolVar(&o.deact, "scim-deactivate-users", true, "push deactivation and reactivation (Deactivate Users)")
	fs.BoolVar(&o.gpush, "scim-group-push", true, "allow pushing groups (Push Groups)")
	lf := &limitsFlag{l: oktasim.RateLimits{}}
	fs.Var(lf, "rate-limit", "per-window limits as family=N[,family=N] (families: apps, users, user, groups, group, other)")
	fs.Float64Var(&o.multiplier, "rate-limit-multiplier", 1, "multiplier applied to every limit (e.g. 0.5 for an API token's default share)")
	fs.DurationVar(&o.window, "rate-limit-window", time.Minute, "length of a rate-limit window (shorter scales time)")
	fs.IntVar(&o.concurrency, "concurrency-limit", 75, "concurrent requests allowed before 429 (0 disables)")
	fs.DurationVar(&o.faults.Latency, "latency", 0, "latency added to every API request")
	fs.Float64Var(&o.faults.ErrorRate, "error-rate", 0, "share (0..1) of API requests answered with an injected error")
	statuses := fs.String("error-statuses", "500,503", "statuses used for --error-rate")
	fs.StringVar(&o.faults.PathPrefix, "fault-path-prefix", "", "limit injected latency and errors to paths with this prefix")
	appAttrs := fs.String("app-profile-attributes", "", "comma-separated app user schema; other attributes get 400 as in Okta (default: accept any)")
	seed := fs.String("seed", "", "seed for generated ids and injected errors (reproducible runs)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	switch {
	case o.listen == "":
		return o, usageError{"--listen is required"}
	case o.token == "":
		return o, usageError{"--api-token is required"}
	case o.scimURL != "" && o.scimToken == "":
		return o, usageError{"--scim-token is required with --scim-url"}
	case o.scimURL == "" && o.scimToken != "":
		return o, usageError{"--scim-url is required with --scim-token"}
	case o.faults.ErrorRate < 0 || o.faults.ErrorRate > 1:
		return o, usageError{"--error-rate must be between 0 and 1"}
	case o.multiplier <= 0:
		return o, usageError{"--rate-limit-multiplier must be above 0"}
	case o.window <= 0:
		return o, usageError{"--rate-limit-window must be above 0"}
	case o.faults.Latency < 0:
		return o, usageError{"--latency must not be negative"}
	}
	if o.scimURL != "" {
		if u, err := urlOK(o.scimURL); !u {
			return o, usageError{"--scim-url: " + err}
		}
	}
	for _, s := range strings.Split(*statuses, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 400 || n > 599 {
			return o, usageError{fmt.Sprintf("--error-statuses: %q is not an HTTP error status", s)}
		}
		o.faults.ErrorStatuses = append(o.faults.ErrorStatuses, n)
	}
	if *seed != "" {
		n, err := strconv.ParseUint(*seed, 10, 64)
		if err != nil {
			return o, usageError{"--seed must be a whole number"}
		}
		o.seed, o.seeded = n, true
	}
	for _, a := range strings.Split(*appAttrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.appAttrs = append(o.appAttrs, a)
		}
	}
	o.limits = lf.l
	return o, nil
}

func urlOK(s string) (bool, string) {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return false, "must start with http:// or https://"
	}
	return true, ""
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "oktasim:", err)
		fmt.Fprintln(stderr, "usage: oktasim --listen ADDR --api-token TOKEN [--app-id ID] [--scim-url URL --scim-token TOKEN] [flags]; -h for all flags")
		return 2
	}
	opts := []oktasim.Option{
		oktasim.WithAPIToken(o.token), oktasim.WithAppID(o.appID), oktasim.WithAppLabel(o.appLabel),
		oktasim.WithRateLimits(o.limits), oktasim.WithRateLimitMultiplier(o.multiplier),
		oktasim.WithRateLimitWindow(o.window), oktasim.WithConcurrencyLimit(o.concurrency),
		oktasim.WithFaults(o.faults),
	}
	if len(o.appAttrs) > 0 {
		opts = append(opts, oktasim.WithAppProfileAttributes(o.appAttrs...))
	}
	if o.seeded {
		opts = append(opts, oktasim.WithSeed(o.seed))
	}
	if o.scimURL != "" {
		opts = append(opts, oktasim.WithSCIMConnection(oktasim.SCIMConnection{BaseURL: o.scimURL, Token: o.scimToken,
			CreateUsers: o.create, UpdateUsers: o.update, DeactivateUsers: o.deact, GroupPush: o.gpush}))
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintf(stderr, "oktasim: --listen %s: %v\n", o.listen, err)
		return 1
	}
	sim := oktasim.New(opts...)
	defer sim.Close()
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}

	org := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "oktasim: serving Okta org %s (management API at %s/api/v1)\n", org, org)
	fmt.Fprintf(stdout, "oktasim: app %s (%q)\n", sim.AppID(), o.appLabel)
	if o.scimURL != "" {
		fmt.Fprintf(stdout, "oktasim: provisioning to SCIM %s (%s)\n", o.scimURL, features(o))
	} else {
		fmt.Fprintln(stdout, "oktasim: provisioning off (no --scim-url)")
	}
	fmt.Fprintf(stdout, "oktasim: admin endpoints at %s/_sim/\n", org)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "oktasim:", err)
		return 1
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "oktasim: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "oktasim: shutdown:", err)
		return 1
	}
	return 0
}

// displayAddr turns a listener address into one a client can use: an
// unspecified host (":8089", "0.0.0.0") becomes localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func features(o options) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{o.create, "create users"}, {o.update, "update users"}, {o.deact, "deactivate users"}, {o.gpush, "group push"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	if len(f) == 0 {
		return "all push features off"
	}
	return strings.Join(f, ", ")
}
