package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package (`apt-get install chromium`; .ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel func()
	browserErr    error
)

// TestMain stops the shared Chromium after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

// startBrowser starts one headless Chromium for the whole package: each test then opens
// its own browser context (its own cookies), which costs milliseconds instead of a
// second per launch.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("OKTASYNC_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Skipf("browser tests need Chromium at %s (apt-get install -y chromium): %v", path, err)
	}
	browserOnce.Do(func() {
		dir, err := os.MkdirTemp("", "oktasync-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.UserDataDir(dir),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.WindowSize(1280, 900),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil {
			browserErr = fmt.Errorf("starting Chromium: %w", err)
		}
		browserCtx = bctx
		browserCancel = func() { bcancel(); acancel(); os.RemoveAll(dir) }
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// tab is one browser context (its own cookie jar) with one page, recording the page's
// JavaScript errors, console errors and warnings, and CSP violations.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

func newTab(t *testing.T) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(startBrowser(t), chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("opening a tab: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			switch {
			// The 4xx pages the tests open on purpose are logged as failed loads.
			case m.Source == "network":
			case m.Type == chromedp.ConsoleError, m.Type == chromedp.ConsoleWarning, m.IsException():
				tb.mu.Lock()
				tb.errors = append(tb.errors, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errors {
			t.Errorf("browser console: %s", e)
		}
	})
	return tb
}

// do runs actions, failing the test with what was being done.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates and returns the HTTP status of the page.
func (tb *tab) open(url string) int64 {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(url))
	if err != nil {
		tb.t.Fatalf("open %s: %v", url, err)
	}
	return resp.Status
}

// text returns the visible text of the first element matching the CSS selector.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		tb.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

func (tb *tab) location() string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return s
}

// button is an XPath for the button or link whose text is label.
func button(label string) string {
	return fmt.Sprintf(`//*[self::button or self::a][normalize-space(.)=%q]`, label)
}

// click clicks the element matching the XPath or CSS selector (a Search) and waits for
// the page it loads; it returns that page's HTTP status.
func (tb *tab) click(sel string, before ...chromedp.Action[chromedp.Void]) int64 {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if len(before) > 0 {
		if err := chromedp.Do(ctx, before...); err != nil {
			tb.t.Fatalf("before clicking %s: %v", sel, err)
		}
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel, chromedp.NodeVisible))
	if err != nil {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
	return resp.Status
}
