// Command scimload measures a SCIM 2.0 endpoint under Okta's provisioning load: it seeds
// users through POST /Users, drives a weighted mix of existence checks, creates and
// deactivations from concurrent clients for a fixed time, and prints per-operation
// req/s, p50, p99 and failures, then a total: line.
//
//	OKTASYNC_SCIM_TOKEN=oks_… scimload --url http://127.0.0.1:8080/scim/v2 --users 20000 --clients 16 --duration 15s
//	scimload --serve-memory 127.0.0.1:9090   # the in-memory comparison peer (a map)
//	scimload --serve-elimity 127.0.0.1:9091  # the in-memory peer on github.com/elimity-com/scim
//
// Exit codes: 0 success, 1 the run failed or had failures, 2 usage error.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oktasync/oktasync/scimload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg     scimload.Config
		mix     string
		memAddr string
		eliAddr string
	)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080/scim/v2", "SCIM base URL")
	fs.IntVar(&cfg.Users, "users", 20000, "users to seed through POST /Users before the timed run")
	fs.IntVar(&cfg.SeedClients, "seed-clients", 0, "concurrent clients while seeding (default: --clients)")
	fs.IntVar(&cfg.Clients, "clients", 16, "concurrent clients of the timed run")
	fs.DurationVar(&cfg.Duration, "duration", 15*time.Second, "length of the timed run")
	fs.StringVar(&mix, "mix", scimload.DefaultMix, "weights of the operations lookup, create and deactivate")
	fs.StringVar(&cfg.Prefix, "prefix", "", "start of every userName created (default: made from the clock)")
	fs.StringVar(&memAddr, "serve-memory", "", "instead of a run, serve the in-memory SCIM peer (a map) at this address (/scim/v2)")
	fs.StringVar(&eliAddr, "serve-elimity", "", "instead of a run, serve the in-memory SCIM peer built on github.com/elimity-com/scim at this address (/scim/v2)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scimload [flags]   (the bearer token comes from OKTASYNC_SCIM_TOKEN)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scimload: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch {
	case memAddr != "" && eliAddr != "":
		fmt.Fprintln(stderr, "scimload: --serve-memory and --serve-elimity exclude each other")
		return 2
	case memAddr != "":
		return servePeer(ctx, "--serve-memory", memAddr, "mem_", func(token string) (http.Handler, error) {
			return scimload.MemoryHandler(token), nil
		}, stdout, stderr)
	case eliAddr != "":
		return servePeer(ctx, "--serve-elimity", eliAddr, "eli_", scimload.ElimityHandler, stdout, stderr)
	}
	var err error
	if cfg.Mix, err = scimload.ParseMix(mix); err != nil {
		fmt.Fprintf(stderr, "scimload: --mix: %v\n", err)
		return 2
	}
	cfg.Token = getenv("OKTASYNC_SCIM_TOKEN")
	switch {
	case cfg.Token == "":
		fmt.Fprintln(stderr, "scimload: OKTASYNC_SCIM_TOKEN is not set: give the bearer token of the tenant to load")
		return 2
	case cfg.Users < 0:
		fmt.Fprintln(stderr, "scimload: --users must not be negative")
		return 2
	case cfg.Clients < 1:
		fmt.Fprintln(stderr, "scimload: --clients must be at least 1")
		return 2
	case cfg.Duration <= 0:
		fmt.Fprintln(stderr, "scimload: --duration must be positive")
		return 2
	}
	cfg.Progress = stderr
	fmt.Fprintf(stdout, "target %s: %d users, %d clients, %s, mix %s\n", cfg.URL, cfg.Users, cfg.Clients, cfg.Duration, mix)
	rep, err := scimload.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "scimload: %v\n", err)
		return 1
	}
	rep.Print(stdout)
	if rep.Total.Failures > 0 {
		return 1
	}
	return 0
}

// servePeer serves a comparison peer (made by newHandler with a fresh token) until
// interrupted, printing its URL and token the way `oktasync serve` prints its own.
func servePeer(ctx context.Context, flagName, addr, tokenPrefix string, newHandler func(token string) (http.Handler, error), stdout, stderr io.Writer) int {
	b := make([]byte, 16)
	rand.Read(b)
	token := tokenPrefix + hex.EncodeToString(b)
	h, err := newHandler(token)
	if err != nil {
		fmt.Fprintf(stderr, "scimload: %s: %v\n", flagName, err)
		return 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "scimload: %s: %v\n", flagName, err)
		return 2
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", h))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "  SCIM connector base URL:  http://%s/scim/v2\n  API token:                %s\n", ln.Addr(), token)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "scimload: %v\n", err)
		return 1
	}
	return 0
}
