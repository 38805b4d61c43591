// Package browsertest drives a real headless Chromium (Debian's chromium package) for
// the pages' tests, with github.com/chromedp/chromedp. Tests skip, saying why, when
// Chromium is not installed.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"sort"
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

// Run runs a package's tests, then stops the shared Chromium, and returns m.Run's code:
// call os.Exit(browsertest.Run(m)) from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	return code
}

// startBrowser starts one headless Chromium for the whole package: each test then opens
// its own browser context (its own cookies), which costs milliseconds instead of a
// second per launch.
func startBrowser(t testing.TB) context.Context {
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

// Tab is one browser context (its own cookie jar) with one page, recording the page's
// JavaScript errors, console errors and warnings, and CSP violations.
type Tab struct {
	t   testing.TB
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

// NewTab opens a tab in a browser context of its own; the test fails, when it ends, on
// any error the page wrote to its console.
func NewTab(t testing.TB) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(startBrowser(t), chromedp.WithNewBrowserContext())
	tb := &Tab{t: t, ctx: ctx}
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

// Do runs actions, failing the test with what was being done.
func (tb *Tab) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// Open navigates and returns the HTTP status of the page.
func (tb *Tab) Open(url string) int64 {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(url))
	if err != nil {
		tb.t.Fatalf("open %s: %v", url, err)
	}
	return resp.Status
}

// Text returns the visible text of the first element matching sel: an XPath when it
// starts with /, else a CSS selector.
func (tb *Tab) Text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	var read chromedp.Action[string]
	if strings.HasPrefix(sel, "/") {
		read = chromedp.Text(chromedp.Search(sel), chromedp.NodeVisible)
	} else {
		read = chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)
	}
	s, err := chromedp.Run(ctx, read)
	if err != nil {
		tb.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](tb *Tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// Location is the page's URL.
func (tb *Tab) Location() string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return s
}

// Button is an XPath for the button or link whose text is label.
func Button(label string) string {
	return fmt.Sprintf(`//*[self::button or self::a][normalize-space(.)=%q]`, label)
}

// Click clicks the element matching the XPath or CSS selector (a Search) and waits for
// the page it loads; it returns that page's HTTP status.
func (tb *Tab) Click(sel string, before ...chromedp.Action[chromedp.Void]) int64 {
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

// ScreenshotsEnv names the variable that makes Screenshot write its files; without it
// Screenshot does nothing, so that test runs leave the committed pictures alone.
const ScreenshotsEnv = "OKTASYNC_SCREENSHOTS"

// Screenshot saves the visible part of the page as a PNG at path, when
// $OKTASYNC_SCREENSHOTS is 1. The picture is re-encoded at the best compression and
// reduced to the page's 256 most used colours, which keeps a page of text small and
// its colours true.
func (tb *Tab) Screenshot(path string) {
	tb.t.Helper()
	if os.Getenv(ScreenshotsEnv) != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", path, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", path, err)
	}
	pal := image.NewPaletted(img.Bounds(), commonColors(img, 256))
	draw.Draw(pal, img.Bounds(), img, image.Point{}, draw.Src)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, pal); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// Viewport sets the page's size, to look at it as a phone (390 px) or a laptop would.
func (tb *Tab) Viewport(width, height int64) {
	tb.t.Helper()
	tb.Do("set the viewport", chromedp.EmulateViewport(width, height))
}

// commonColors returns the n colours img uses most.
func commonColors(img image.Image, n int) color.Palette {
	count := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			count[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	cs := make([]color.RGBA, 0, len(count))
	for c := range count {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return count[cs[i]] > count[cs[j]] })
	if len(cs) > n {
		cs = cs[:n]
	}
	out := make(color.Palette, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}
