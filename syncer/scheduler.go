package syncer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/oktasync/oktasync/errkind"
)

// Scheduler runs each connected tenant's syncs on the tenant's cron schedules: the
// incremental sync (sync.schedule, every 15 minutes by default) and the full drift
// check (sync.full-schedule, daily at 03:00 by default). Cron specs are parsed by
// robfig/cron; the waiting is the Scheduler's own, on its Clock, so that tests drive
// time by hand.
//
// A run that is due while the tenant's previous run is still going is skipped, not
// queued. When both are due at once only the full run starts, since it includes the
// incremental pass. With several processes on one PostgreSQL database every process
// schedules, and the tenant lock lets one of them run while the others skip.
type Scheduler struct {
	Syncer *Syncer
	// Clock is the time source; nil means the wall clock. Schedules are in its zone.
	Clock Clock
	// Reload is how often tenants, connections and schedules are re-read; 0 means one
	// minute.
	Reload time.Duration
	// RunFunc runs one sync; nil means Syncer.Run with TriggerSchedule. Tests replace it.
	RunFunc func(ctx context.Context, tenantID string, full bool) error
	// OnStart, when set, is called as each run is launched, with the time it fell due.
	OnStart func(tenantID string, full bool, at time.Time)
	// OnFinish, when set, is called once a run has ended and its tenant can run again.
	OnFinish func(tenantID string, full bool)
	Log      *slog.Logger

	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

type job struct {
	spec string
	sch  cron.Schedule
	next time.Time
}

type tenantJobs struct {
	inc, full job
}

// Run schedules until ctx is done, then waits for the runs it started.
func (s *Scheduler) Run(ctx context.Context) error {
	clock := s.Clock
	if clock == nil {
		clock = WallClock{}
	}
	reload := s.Reload
	if reload <= 0 {
		reload = time.Minute
	}
	s.mu.Lock()
	s.running = map[string]bool{}
	s.mu.Unlock()
	jobs := map[string]*tenantJobs{}
	var lastLoad time.Time
	for {
		now := clock.Now()
		if lastLoad.IsZero() || now.Sub(lastLoad) >= reload {
			s.load(ctx, now, jobs)
			lastLoad = now
		}
		wake := lastLoad.Add(reload)
		for tenant, tj := range jobs {
			full := due(&tj.full, now)
			inc := due(&tj.inc, now)
			if full || inc {
				s.start(ctx, tenant, full, now)
			}
			for _, j := range []*job{&tj.inc, &tj.full} {
				if j.sch != nil && j.next.Before(wake) {
					wake = j.next
				}
			}
		}
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return nil
		case <-clock.After(wake.Sub(now)):
		}
	}
}

// due reports whether j's time has come, moving it to its next time if so.
func due(j *job, now time.Time) bool {
	if j.sch == nil || now.Before(j.next) {
		return false
	}
	j.next = j.sch.Next(now)
	return true
}

// load reads the connected tenants' schedules; a changed spec restarts its job.
func (s *Scheduler) load(ctx context.Context, now time.Time, jobs map[string]*tenantJobs) {
	conns, err := s.Syncer.Store.ListOktaConnections(ctx)
	if err != nil {
		s.log().Error("sync scheduler: cannot list Okta connections", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, c := range conns {
		t, err := s.Syncer.Store.GetTenant(ctx, c.TenantID)
		if err != nil {
			continue
		}
		p, err := PolicyOf(t)
		if err != nil {
			s.log().Error("sync scheduler: tenant skipped", "tenant", t.ID, "err", err)
			continue
		}
		seen[t.ID] = true
		tj := jobs[t.ID]
		if tj == nil {
			tj = &tenantJobs{}
			jobs[t.ID] = tj
		}
		setJob(&tj.inc, p.Schedule, now)
		setJob(&tj.full, p.FullSchedule, now)
	}
	for id := range jobs {
		if !seen[id] {
			delete(jobs, id)
		}
	}
}

func setJob(j *job, spec string, now time.Time) {
	if j.spec == spec && (j.sch != nil || spec == "off") {
		return
	}
	sch, _ := ParseSchedule(spec) // validated by PolicyOf
	*j = job{spec: spec, sch: sch}
	if sch != nil {
		j.next = sch.Next(now)
	}
}

func (s *Scheduler) start(ctx context.Context, tenant string, full bool, at time.Time) {
	s.mu.Lock()
	if s.running[tenant] {
		s.mu.Unlock()
		s.log().Info("sync scheduler: previous run still going, skipped", "tenant", tenant, "full", full)
		return
	}
	s.running[tenant] = true
	s.mu.Unlock()
	if s.OnStart != nil {
		s.OnStart(tenant, full, at)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.running, tenant)
			s.mu.Unlock()
			if s.OnFinish != nil {
				s.OnFinish(tenant, full)
			}
		}()
		run := s.RunFunc
		if run == nil {
			run = func(ctx context.Context, tenant string, full bool) error {
				_, err := s.Syncer.Run(ctx, tenant, RunOptions{Full: full, Trigger: TriggerSchedule})
				return err
			}
		}
		if err := run(ctx, tenant, full); err != nil {
			if errors.Is(err, errkind.Conflict) {
				s.log().Info("sync scheduler: tenant busy elsewhere, skipped", "tenant", tenant, "full", full)
				return
			}
			s.log().Error("sync run failed", "tenant", tenant, "full", full, "err", err)
		}
	}()
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
