// Command oktasync is the SCIM 2.0 endpoint Okta provisions into, the worker that pushes
// the app's users back into Okta, and the tools to run both.
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/errkind"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// env is what a command runs with; tests substitute their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError marks a mistake in how the command was called (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server: SCIM at /scim/v2, health, admin API and the sync scheduler", runServe},
		{"migrate", "apply database migrations", runMigrate},
		{"tenant", "manage tenants: create, list, enable, disable, set, attributes, okta, mapping", runTenant},
		{"token", "manage SCIM credentials: create, list, activate, deactivate, renew, remove, basic", runToken},
		{"users", "manage the app's users: list, create, update, deactivate, reactivate", runUsers},
		{"groups", "show the groups Okta provisioned: list, show", runGroups},
		{"audit", "show the audit trail: list", runAudit},
		{"scim-log", "show the SCIM request log: what identity providers sent and got", runSCIMLog},
		{"apikey", "manage keys of the vendor API (/api/v1): create, list, remove", runAPIKey},
		{"sync", "run a sync with Okta now, or show its history", runSync},
		{"events", "read the change feed: tail [--follow]", runEvents},
		{"webhook", "manage webhook endpoints: add, list, remove, test, deliveries", runWebhook},
		{"version", "print the version", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: oktasync <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'oktasync <command> -h' for a command's flags. Settings come from flags or OKTASYNC_* variables.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(e.stdout)
		return 0
	case "--version", "-version":
		args[0] = "version"
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(e, c.run(ctx, e, args[1:]))
		}
	}
	fmt.Fprintf(e.stderr, "oktasync: unknown command %q (run 'oktasync help' for the list)\n", args[0])
	return 2
}

func exitCode(e *env, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	var ue *usageError
	var ce *config.Error
	switch {
	case errors.As(err, &ue), errors.As(err, &ce):
		fmt.Fprintf(e.stderr, "oktasync: %v\n", err)
		return 2
	}
	if errkind.Of(err) == errkind.Invalid {
		if flag, ok := flagOf(errkind.FieldOf(err)); ok {
			fmt.Fprintf(e.stderr, "oktasync: %s%s\n", flag, errkind.Message(err))
			return 2
		}
	}
	msg := errkind.Message(err)
	if msg == "" || errkind.Of(err) == errkind.Other || errkind.Of(err) == errkind.Transient {
		msg = err.Error()
	}
	fmt.Fprintf(e.stderr, "oktasync: %s\n", msg)
	return 1
}

// fieldFlags maps the input fields the management layer names in its errors to the
// flags (or arguments) they come from on the command line, so that such an error is a
// usage error (exit 2) naming the flag.
var fieldFlags = map[string]string{
	"id": "", "filter": "--filter", "attributes": "--attr", "type": "--type",
	"schedule": "--schedule", "fullSchedule": "--full-schedule", "conflict": "--conflict", "unmatched": "--unmatched",
	"deactivate": "--deactivate", "orgUrl": "--org-url", "appId": "--app-id", "allowedEmailDomains": "--allowed-email-domains",
	"after": "--after", "since": "--since", "until": "--until", "ttl": "--ttl",
	"types": "--types", "tenants": "--tenant", "url": "", "limit": "--limit",
}

// flagOf returns the flag prefix ("--filter: ") of an error about field, if the command
// line has one.
func flagOf(field string) (string, bool) {
	head, _, _ := strings.Cut(field, ".")
	head, _, _ = strings.Cut(head, "[")
	flag, ok := fieldFlags[head]
	if !ok || field == "" {
		return "", false
	}
	if flag == "" {
		return "", true
	}
	return flag + ": ", true
}
