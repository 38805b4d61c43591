package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/web/browsertest"
)

// TestMain lets the test binary run as oktasync itself, so that tests can start real
// `oktasync serve` processes next to each other; it stops the browser tests' Chromium
// at the end.
func TestMain(m *testing.M) {
	if os.Getenv("OKTASYNC_TEST_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(browsertest.Run(m))
}

// startServeProcess runs `oktasync serve` as a separate process and waits until it
// answers /healthz; its standard output is returned once it is up.
func startServeProcess(t *testing.T, dbURL string) (addr, stdout string) {
	t.Helper()
	addr = freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "OKTASYNC_TEST_RUN_MAIN=1", "OKTASYNC_DB="+dbURL, "OKTASYNC_LISTEN="+addr, "OKTASYNC_LOG_LEVEL=warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	})
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var b strings.Builder
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve process did not start: %v", err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	// The first-start banner is printed before the listener serves.
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return addr, b.String()
			}
			b.WriteString(l + "\n")
			continue
		case <-time.After(100 * time.Millisecond):
		}
		return addr, b.String()
	}
}

// TestCredentialCacheAcrossProcesses runs two serve processes on one database, warms
// both credential caches, changes credentials and the tenant from a third process (the
// CLI), and checks that the very next request on each server sees the change.
func TestCredentialCacheAcrossProcesses(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dbURL := b.URL(t)
			addrA, out := startServeProcess(t, dbURL)
			_, token := bootToken(t, out)
			addrB, _ := startServeProcess(t, dbURL)
			c := newCLI(t, dbURL)
			prefix := token[:len("oks_")+10]

			c.ok("users", "create", "ann@example.com", "--given-name", "Ann", "--family-name", "Lee", "--email", "ann@example.com")
			status := func(addr, tok, path string) int {
				t.Helper()
				req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+addr+"/scim/v2"+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			both := func(step, tok string, want int) {
				t.Helper()
				// Twice on each server: the second answer comes from a warm cache. The
				// existence checks (found and not found) confirm a cached credential in
				// the look-up's own query; the plain list reads the epoch first.
				for _, path := range []string{
					`/Users?filter=userName%20eq%20%22ann%40example.com%22`,
					`/Users?filter=userName%20eq%20%22nobody%40example.com%22`,
					`/Users?count=1`,
				} {
					for _, addr := range []string{addrA, addrB, addrA, addrB} {
						if got := status(addr, tok, path); got != want {
							t.Fatalf("%s: server %s answered %s with %d, want %d", step, addr, path, got, want)
						}
					}
				}
			}
			both("before any change", token, 200)

			c.ok("token", "deactivate", prefix)
			both("after token deactivate", token, 401)
			c.ok("token", "activate", prefix)
			both("after token activate", token, 200)

			c.ok("tenant", "disable", "default")
			both("after tenant disable", token, 401)
			c.ok("tenant", "enable", "default")
			both("after tenant enable", token, 200)

			renewed := lastLine(c.ok("token", "renew", prefix))
			both("old secret after renew", token, 401)
			both("new secret after renew", renewed, 200)

			c.ok("token", "remove", renewed[:len("oks_")+10])
			both("after token remove", renewed, 401)
		})
	}
}
