package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
)

// get answers status and body of a GET, with the token when one is given.
func getWith(t *testing.T, url, token string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func postUser(t *testing.T, scimURL, token, userName string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", scimURL+"/Users", strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+userName+`","active":true}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /Users: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// waitLog waits for the server's log to contain want.
func waitLog(t *testing.T, s *server, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.stderr.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", want, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A PostgreSQL database dropped and recreated empty under a running server: /readyz
// says the schema is missing, SCIM requests get 503 rather than 500, and an outage of the
// server itself is not ready either.
func TestReadinessChecksPostgresSchema(t *testing.T) {
	o := storetest.NewPostgresOutage(t)
	s := startServe(t, map[string]string{"OKTASYNC_DB": o.URL})
	scimURL, token := bootToken(t, s.stdout.String())
	if code, body, _ := getWith(t, "http://"+s.addr+"/readyz", ""); code != 200 {
		t.Fatalf("/readyz before: %d %s", code, body)
	}
	o.DropSchema(t)
	code, body, hdr := getWith(t, "http://"+s.addr+"/readyz", "")
	if code != 503 || !strings.Contains(body, "schema missing") || hdr.Get("Retry-After") == "" {
		t.Fatalf("/readyz after the schema was dropped: %d %q", code, body)
	}
	waitLog(t, s, "schema missing")
	if code, _, hdr := getWith(t, scimURL+"/Users?startIndex=1&count=2", token); code != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("SCIM request without a schema: %d, want 503 with Retry-After", code)
	}
	o.Begin(t)
	if code, body, _ := getWith(t, "http://"+s.addr+"/readyz", ""); code != 503 || !strings.Contains(body, "unreachable") {
		t.Fatalf("/readyz during an outage: %d %q", code, body)
	}
	o.End(t)
}

// The SQLite file deleted under a running server (with its -wal and -shm): /readyz fails,
// writes are refused with 503 instead of going into the unlinked file, and the log says
// why.
func TestReadinessNoticesDeletedSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "oktasync.db")
	s := startServe(t, map[string]string{"OKTASYNC_DB": "sqlite:" + path})
	scimURL, token := bootToken(t, s.stdout.String())
	if code, _ := postUser(t, scimURL, token, "before@example.com"); code != 201 {
		t.Fatalf("create before: %d", code)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	code, body, _ := getWith(t, "http://"+s.addr+"/readyz", "")
	if code != 503 || !strings.Contains(body, "was deleted") {
		t.Fatalf("/readyz after rm: %d %q", code, body)
	}
	if code, hdr := postUser(t, scimURL, token, "after@example.com"); code != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("create after rm: %d, want 503 with Retry-After", code)
	}
	waitLog(t, s, "oktasync.db was deleted while the server was running")
}

// Okta configured with a base URL ending in "/" sends /scim/v2//Users: it is served as
// /scim/v2/Users, and an unknown path under it is a SCIM 404, never a bare redirect.
func TestDoubleSlashServedAsSCIM(t *testing.T) {
	s := startServe(t, map[string]string{"OKTASYNC_DB": "sqlite:" + filepath.Join(t.TempDir(), "oktasync.db")})
	scimURL, token := bootToken(t, s.stdout.String())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, _ := postUser(t, scimURL+"/", token, "slash@example.com"); code != 201 {
		t.Fatalf("POST /scim/v2//Users: %d, want 201", code)
	}
	for path, want := range map[string]int{"//Users?startIndex=1&count=2": 200, "//Nope": 404} {
		req, _ := http.NewRequest("GET", scimURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("Content-Type") != "application/scim+json" || !strings.Contains(string(b), "schemas") {
			t.Errorf("GET /scim/v2%s: %d %q %s, want %d with a SCIM body", path, resp.StatusCode, resp.Header.Get("Content-Type"), b, want)
		}
	}
}
