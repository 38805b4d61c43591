package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/oktaclient"
)

// Run modes and triggers.
const (
	ModeIncremental = "incremental"
	ModeFull        = "full"

	TriggerSchedule = "schedule"
	TriggerCLI      = "cli"
	TriggerAPI      = "api"
)

// RunPartial is the status of a run that finished but failed for some users.
const RunPartial = "partial"

// MaxPlanItems caps the actions a Report keeps; the counts cover them all.
const MaxPlanItems = 10000

// Syncer reconciles tenants' app users with their Okta apps.
type Syncer struct {
	// Store is the app's database.
	Store appstore.Store
	// Key opens stored Okta API tokens (see Seal).
	Key []byte
	// NewClient builds the Okta client of a tenant; nil means oktaclient.New.
	NewClient func(cfg oktaclient.Config) (oktaclient.Client, error)
	// Clock is the time source of retry waits; nil means the wall clock.
	Clock Clock
	// Workers bounds the users synchronised at once; 0 means 4.
	Workers int
	// Log receives run summaries and failures; nil discards them.
	Log *slog.Logger
	// OnOktaAttempt, when set, sees every HTTP attempt of the tenants' Okta clients.
	OnOktaAttempt func(oktaclient.Attempt)
	// OnRunFinished, when set, is called with the final record of every executed run.
	OnRunFinished func(appstore.SyncRun)
}

// RunOptions chooses what a run does.
type RunOptions struct {
	// Full lists every AppUser (the drift check) after the incremental pass.
	Full bool
	// DryRun computes and returns the plan without writing to Okta or to the app's
	// users; only the run record itself is stored.
	DryRun bool
	// Trigger says who started the run (TriggerSchedule, TriggerCLI, TriggerAPI).
	Trigger string
	// Progress, when set, is called with the run record as it advances.
	Progress func(appstore.SyncRun)
}

// PlanItem is one action a run took or, in a dry run, would take.
type PlanItem struct {
	Action     string         `json:"action"`
	UserID     string         `json:"userId,omitempty"`
	UserName   string         `json:"userName,omitempty"`
	OktaUserID string         `json:"oktaUserId,omitempty"`
	Values     map[string]any `json:"values,omitempty"`
	Conflicts  []Conflict     `json:"conflicts,omitempty"`
	Detail     string         `json:"detail,omitempty"`
}

// Actions, as counted in SyncRun.Counts and listed in plans.
const (
	ActOktaCreate     = "okta.create-user"     // create the Okta user (STAGED, no email)
	ActOktaAssign     = "okta.assign"          // assign the Okta user to the app and link it
	ActOktaUpdate     = "okta.update"          // update the AppUser profile or user name
	ActOktaUnassign   = "okta.unassign"        // remove the assignment (app deactivation)
	ActOktaDeactivate = "okta.deactivate-user" // deactivate the Okta user (app deactivation)
	ActOktaReactivate = "okta.reactivate"      // activate if needed and assign again
	ActAppCreate      = "app.create"           // create an app user for an AppUser
	ActAppLink        = "app.link"             // link an app user to its Okta user
	ActAppUpdate      = "app.update"           // write Okta's values in the app
	ActAppDeactivate  = "app.deactivate"       // the AppUser is gone: deactivate the app user
	ActAppReactivate  = "app.reactivate"       // reassigned in Okta: reactivate the app user
	ActConflict       = "conflict"             // a value changed on both sides (settled by policy)
	ActUnmatched      = "unmatched"            // no Okta user matches and the policy says report
	ActError          = "error"                // the user could not be synchronised
)

// Report is the outcome of a run.
type Report struct {
	Run appstore.SyncRun `json:"run"`
	// Plan lists the actions taken (or planned, in a dry run), up to MaxPlanItems.
	Plan []PlanItem `json:"plan"`
	// Errors lists failed users (up to 100).
	Errors []appstore.SyncRunError `json:"errors,omitempty"`
}

// Run is a started run that holds its tenant's sync lock until Execute returns.
type Run struct {
	s       *Syncer
	tenant  appstore.Tenant
	policy  Policy
	mapping Mapping
	okta    oktaclient.Client
	opts    RunOptions
	unlock  func()

	mu      sync.Mutex
	rec     appstore.SyncRun
	plan    []PlanItem
	errs    []appstore.SyncRunError
	lastPut time.Time
	counted bool       // an action was counted since the record was last stored
	putMu   sync.Mutex // orders the record's writes, so that counts never go back
	// planned holds, in a dry run, the users the incremental pass planned for.
	planned map[string]bool
}

// ErrNoConnection reports a tenant without an Okta connection.
var ErrNoConnection = errors.New("no Okta connection")

// Begin checks the tenant's connection and policy, takes the tenant's sync lock and
// records the run. The lock is held until Execute returns; call Execute or Abandon.
func (s *Syncer) Begin(ctx context.Context, tenantID string, opts RunOptions) (*Run, error) {
	const op = "syncer.Begin"
	t, err := s.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	okta, err := s.Client(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	policy, err := PolicyOf(t)
	if err != nil {
		return nil, errkind.E(op, errkind.Invalid, fmt.Sprintf("tenant %q has an invalid sync policy: %v", tenantID, err), err)
	}
	attrs, err := s.Store.ListAttributes(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	unlock, err := s.Store.LockTenantSync(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	mode := ModeIncremental
	if opts.Full {
		mode = ModeFull
	}
	if opts.Trigger == "" {
		opts.Trigger = TriggerCLI
	}
	rec, err := s.Store.CreateSyncRun(ctx, appstore.SyncRun{TenantID: tenantID, Trigger: opts.Trigger, Mode: mode, DryRun: opts.DryRun})
	if err != nil {
		unlock()
		return nil, err
	}
	// Holding the lock, any other "running" record belongs to a process that died.
	if _, err := s.Store.InterruptSyncRuns(ctx, tenantID, rec.ID); err != nil {
		unlock()
		return nil, err
	}
	return &Run{s: s, tenant: t, policy: policy, mapping: DefaultMapping(attrs), okta: okta, opts: opts, unlock: unlock, rec: rec}, nil
}

// Client builds the Okta client of a tenant from its stored connection.
func (s *Syncer) Client(ctx context.Context, tenantID string) (oktaclient.Client, error) {
	const op = "syncer.Client"
	conn, err := s.Store.GetOktaConnection(ctx, tenantID)
	if errors.Is(err, errkind.NotFound) {
		return nil, errkind.E(op, errkind.Invalid, fmt.Sprintf("tenant %q has no Okta connection (set one with: oktasync tenant okta set --tenant %s)", tenantID, tenantID), ErrNoConnection)
	}
	if err != nil {
		return nil, err
	}
	token, err := Open(s.Key, tenantID, conn.EncryptedToken)
	if err != nil {
		return nil, errkind.E(op, errkind.Invalid, "cannot read the stored Okta API token: "+err.Error(), err)
	}
	cfg := oktaclient.Config{OrgURL: conn.OrgURL, APIToken: token, AppID: conn.AppID, Observe: s.OnOktaAttempt}
	if s.NewClient != nil {
		return s.NewClient(cfg)
	}
	return oktaclient.New(cfg)
}

// Run runs one sync of a tenant and waits for it.
func (s *Syncer) Run(ctx context.Context, tenantID string, opts RunOptions) (Report, error) {
	r, err := s.Begin(ctx, tenantID, opts)
	if err != nil {
		return Report{}, err
	}
	return r.Execute(ctx)
}

// ID returns the run's id.
func (r *Run) ID() int64 { return r.rec.ID }

// Record returns a copy of the run record as it stands.
func (r *Run) Record() appstore.SyncRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshotLocked()
}

func (r *Run) snapshotLocked() appstore.SyncRun {
	c := r.rec
	c.Counts = make(map[string]int64, len(r.rec.Counts))
	for k, v := range r.rec.Counts {
		c.Counts[k] = v
	}
	return c
}

// Execute performs the run and releases the tenant's lock.
func (r *Run) Execute(ctx context.Context) (Report, error) {
	defer r.unlock()
	start := r.s.now()
	err := r.execute(ctx)
	// The record is finished with a context of its own: a cancelled run still says so.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	r.mu.Lock()
	switch {
	case err != nil && ctx.Err() != nil:
		r.rec.Status, r.rec.Error = appstore.RunInterrupted, "stopped: "+ctx.Err().Error()
	case err != nil:
		r.rec.Status, r.rec.Error = appstore.RunFailed, err.Error()
	case r.rec.Counts[ActError] > 0:
		r.rec.Status = RunPartial
		r.rec.Error = fmt.Sprintf("%d users failed", r.rec.Counts[ActError])
	default:
		r.rec.Status = appstore.RunSucceeded
	}
	r.rec.Finished = r.s.now()
	rec := r.snapshotLocked()
	rep := Report{Run: rec, Plan: r.plan, Errors: r.errs}
	r.mu.Unlock()
	// Observers hear of the run before its record says finished, so whoever sees
	// the finished record (a poller of the run's status) also sees it counted.
	if r.s.OnRunFinished != nil {
		r.s.OnRunFinished(rec)
	}
	if uerr := r.s.Store.UpdateSyncRun(fctx, rec); uerr != nil && err == nil {
		err = uerr
	}
	rep.Run = rec
	if r.opts.Progress != nil {
		r.opts.Progress(rec)
	}
	r.s.log().Info("sync run finished", "tenant", r.tenant.ID, "run", rec.ID, "mode", rec.Mode, "dry_run", rec.DryRun,
		"status", rec.Status, "counts", rec.Counts, "duration", r.s.now().Sub(start).String())
	return rep, err
}

// Abandon releases a run that will not be executed, recording it as failed.
func (r *Run) Abandon(ctx context.Context, why string) {
	defer r.unlock()
	r.mu.Lock()
	r.rec.Status, r.rec.Error, r.rec.Finished = appstore.RunFailed, why, r.s.now()
	rec := r.snapshotLocked()
	r.mu.Unlock()
	_ = r.s.Store.UpdateSyncRun(ctx, rec)
}

func (r *Run) execute(ctx context.Context) error {
	// Total is an estimate for the progress display: the users with app changes, plus
	// for a drift check the linked users (about the number of AppUsers to list).
	total, err := r.s.Store.CountSyncUsers(ctx, r.tenant.ID, appstore.ScanQuery{Dirty: true})
	if err != nil {
		return err
	}
	if r.opts.Full {
		linked, err := r.s.Store.CountSyncUsers(ctx, r.tenant.ID, appstore.ScanQuery{Linked: true})
		if err != nil {
			return err
		}
		total += linked
	}
	r.mu.Lock()
	r.rec.Total = total
	r.mu.Unlock()
	if err := r.incremental(ctx); err != nil {
		return err
	}
	if r.opts.Full {
		return r.full(ctx)
	}
	return nil
}

func (s *Syncer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Syncer) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

func (s *Syncer) workers() int {
	if s.Workers <= 0 {
		return 4
	}
	return s.Workers
}

// record notes an action: counted always, kept in the plan up to MaxPlanItems.
func (r *Run) record(it PlanItem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Counts[it.Action]++
	r.counted = true
	if len(r.plan) < MaxPlanItems {
		r.plan = append(r.plan, it)
	}
}

// progress counts a processed user and stores the record now and then.
func (r *Run) progress(ctx context.Context, n int) {
	r.putMu.Lock()
	r.mu.Lock()
	r.rec.Processed += int64(n)
	now := r.s.now()
	due := now.Sub(r.lastPut) >= time.Second
	if due {
		r.lastPut, r.counted = now, false
	}
	rec := r.snapshotLocked()
	r.mu.Unlock()
	if due {
		_ = r.s.Store.UpdateSyncRun(ctx, rec)
	}
	r.putMu.Unlock()
	if r.opts.Progress != nil {
		r.opts.Progress(rec)
	}
}

// flushAfter wraps a per-user step so that the run's counts are stored after it.
func flushAfter[T any](ctx context.Context, r *Run, fn func(T)) func(T) {
	return func(v T) {
		fn(v)
		r.flushCounts(ctx)
	}
}

// flushCounts stores the run record right after a user whose commit added to the
// counts, so that a run killed at any point shows in its history what it did. A dry run
// commits nothing and is stored with its progress only.
func (r *Run) flushCounts(ctx context.Context) {
	if r.opts.DryRun {
		return
	}
	r.putMu.Lock()
	defer r.putMu.Unlock()
	r.mu.Lock()
	if !r.counted {
		r.mu.Unlock()
		return
	}
	r.counted, r.lastPut = false, r.s.now()
	rec := r.snapshotLocked()
	r.mu.Unlock()
	_ = r.s.Store.UpdateSyncRun(ctx, rec)
}

// fail records one user's failure and keeps going: a user that fails is retried by the
// next run, since its changes stay marked as not synchronised.
func (r *Run) fail(ctx context.Context, u *appstore.User, action string, err error) {
	e := appstore.SyncRunError{RunID: r.rec.ID, Action: action, Message: err.Error(), Time: r.s.now()}
	if u != nil {
		e.UserID, e.UserName = u.ID, u.UserName
	}
	r.record(PlanItem{Action: ActError, UserID: e.UserID, UserName: e.UserName, Detail: action + ": " + e.Message})
	r.mu.Lock()
	if len(r.errs) < 100 {
		r.errs = append(r.errs, e)
	}
	r.mu.Unlock()
	r.s.log().Warn("sync: user failed", "tenant", r.tenant.ID, "run", r.rec.ID, "user", e.UserID, "action", action, "err", err)
	if ctx.Err() != nil {
		return
	}
	_ = r.s.Store.AddSyncRunError(ctx, e)
}

// actorCtx attributes store writes to the worker, which is what keeps them from being
// counted as app changes (and so from echoing back to Okta).
func (r *Run) actorCtx(ctx context.Context) context.Context {
	return appstore.WithActor(ctx, appstore.Actor{Kind: "syncer", ID: fmt.Sprintf("run-%d", r.rec.ID)})
}

// each runs fn for every item with up to Workers at once and waits for all.
func each[T any](ctx context.Context, workers int, items []T, fn func(T)) {
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(it)
		}()
	}
	wg.Wait()
}
