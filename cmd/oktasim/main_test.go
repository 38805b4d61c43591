package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		flag string // the flag the message must name
	}{
		{"no listen", []string{"--api-token", "t"}, "--listen"},
		{"no token", []string{"--listen", "127.0.0.1:0"}, "--api-token"},
		{"scim url without token", []string{"--listen", ":0", "--api-token", "t", "--scim-url", "http://x"}, "--scim-token"},
		{"scim token without url", []string{"--listen", ":0", "--api-token", "t", "--scim-token", "x"}, "--scim-url"},
		{"bad scim url", []string{"--listen", ":0", "--api-token", "t", "--scim-url", "ftp://x", "--scim-token", "x"}, "--scim-url"},
		{"error rate", []string{"--listen", ":0", "--api-token", "t", "--error-rate", "2"}, "--error-rate"},
		{"rate limit family", []string{"--listen", ":0", "--api-token", "t", "--rate-limit", "bogus=3"}, "rate-limit"},
		{"bad duration", []string{"--listen", ":0", "--api-token", "t", "--latency", "soon"}, "latency"},
		{"unknown flag", []string{"--listen", ":0", "--api-token", "t", "--nope"}, "nope"},
		{"stray argument", []string{"--listen", ":0", "--api-token", "t", "extra"}, "extra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errb); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errb.String(), tc.flag) {
				t.Errorf("stderr %q does not name %s", errb.String(), tc.flag)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeAndShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--api-token", "tok", "--app-id", "0oaCLITEST0000000001",
			"--scim-url", "http://127.0.0.1:1/scim/v2", "--scim-token", "s", "--rate-limit", "apps=7"}, &out, &errb)
	}()
	re := regexp.MustCompile(`serving Okta org (http://\S+)`)
	var org string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			org = m[1]
			break
		}
	}
	if org == "" {
		t.Fatalf("no org URL printed; stdout %q stderr %q", out.String(), errb.String())
	}
	for _, want := range []string{"0oaCLITEST0000000001", "http://127.0.0.1:1/scim/v2", "/_sim/"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks %q: %s", want, out.String())
		}
	}
	req, _ := http.NewRequest("GET", org+"/api/v1/apps/0oaCLITEST0000000001", nil)
	req.Header.Set("Authorization", "SSWS tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Rate-Limit-Limit") != "7" || !strings.Contains(string(body), "PUSH_NEW_USERS") {
		t.Errorf("GET app: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr %q", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no shutdown after cancel")
	}
}
