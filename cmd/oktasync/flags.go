package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/manage"
)

// errHelp reports that -h was asked for and the usage shown.
var errHelp = errors.New("help shown")

// cmdFlags is a subcommand's flag set with the settings it needs.
type cmdFlags struct {
	*flag.FlagSet
	e      *env
	loader *config.Loader
	json   *bool
	tenant *string
}

func newFlags(e *env, name, argsUsage string, settings ...string) *cmdFlags {
	fs := flag.NewFlagSet("oktasync "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &cmdFlags{FlagSet: fs, e: e}
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: oktasync %s %s\n\nflags:\n", name, argsUsage)
		fs.PrintDefaults()
	}
	if len(settings) > 0 {
		f.loader = config.Register(fs, e.getenv, settings...)
	}
	return f
}

func (f *cmdFlags) withJSON() *cmdFlags {
	f.json = f.Bool("json", false, "print JSON instead of a table")
	return f
}

func (f *cmdFlags) withTenant() *cmdFlags {
	f.tenant = f.String("tenant", appstore.DefaultTenant, "tenant id")
	return f
}

// parse parses flags wherever they stand among the positional arguments, so that both
// "token remove ID --tenant acme" and "token remove --tenant acme ID" work.
func (f *cmdFlags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &usageError{msg: err.Error()}
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// config loads and validates the settings registered on f.
func (f *cmdFlags) config() (config.Config, error) {
	return f.loader.Load()
}

// openStore opens (and migrates) the database the settings name.
func (f *cmdFlags) openStore(ctx context.Context) (appstore.Store, config.Config, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, cfg, err
	}
	s, err := appstore.Open(ctx, cfg.DB)
	return s, cfg, err
}

// openManager opens the database and the management layer over it; closing the
// Manager closes the database.
func (f *cmdFlags) openManager(ctx context.Context) (*manage.Manager, error) {
	s, cfg, err := f.openStore(ctx)
	if err != nil {
		return nil, err
	}
	key, keyErr := cfg.Key()
	if keyErr != nil {
		key = nil
	}
	return manage.New(s, manage.Options{SCIMURL: cfg.SCIMURL(), PublicURL: cfg.BaseURL(), Key: key, KeyErr: keyErr, AdminToken: cfg.AdminToken, WebhookAllowPrivate: cfg.AllowPrivateWebhooks()}), nil
}

// start parses args, requires exactly n positional arguments (what names them in the
// error) and opens the management layer: the opening of most commands.
func (f *cmdFlags) start(ctx context.Context, args []string, n int, what string) ([]string, *manage.Manager, error) {
	pos, err := f.parse(args)
	if err != nil {
		return nil, nil, err
	}
	if err := wantArgs(pos, n, what); err != nil {
		return nil, nil, err
	}
	m, err := f.openManager(ctx)
	if err != nil {
		return nil, nil, err
	}
	return pos, m, nil
}

// startTenant parses args, takes the tenant from the one positional argument or
// --tenant, and opens the management layer.
func (f *cmdFlags) startTenant(ctx context.Context, args []string) (string, *manage.Manager, error) {
	pos, err := f.parse(args)
	if err != nil {
		return "", nil, err
	}
	id, err := tenantArg(f, pos)
	if err != nil {
		return "", nil, err
	}
	m, err := f.openManager(ctx)
	if err != nil {
		return "", nil, err
	}
	return id, m, nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under a header, aligned.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func wantArgs(pos []string, n int, what string) error {
	if len(pos) < n {
		return usagef("missing %s", what)
	}
	if len(pos) > n {
		return usagef("unexpected argument %q", pos[n])
	}
	return nil
}
