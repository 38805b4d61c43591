package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
)

// BenchmarkServeOktaCreateLoad drives a running `oktasync serve` the way Okta's
// provisioning engine does when many users are assigned at once: concurrent clients
// each send the existence check (GET /Users?filter=userName eq "…") and then the create
// (POST /Users). It reports requests per second and client-side p50/p99 latency per
// request, on every backend storetest offers. b.N is the number of users created.
func BenchmarkServeOktaCreateLoad(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			createLoad(b, map[string]string{"OKTASYNC_DB": be.URL(b)})
		})
	}
}

// createLoad drives a serve started with vars as BenchmarkServeOktaCreateLoad says.
func createLoad(b *testing.B, vars map[string]string) {
	const clients = 50
	s := startServe(b, vars)
	scimURL, token := bootToken(b, s.stdout.String())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var next, failures atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, 2*b.N)
	do := func(req *http.Request, want int) {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
		start := time.Now()
		resp, err := client.Do(req)
		d := time.Since(start)
		if err != nil || resp.StatusCode != want {
			failures.Add(1)
		}
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	}
	b.ResetTimer()
	began := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				name := fmt.Sprintf("load%d.%d@example.com", began.UnixNano()%100000, i)
				req, _ := http.NewRequest("GET", scimURL+"/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`)+"&startIndex=1&count=100", nil)
				do(req, http.StatusOK)
				body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `","name":{"givenName":"Load","familyName":"Test"},` +
					`"emails":[{"primary":true,"value":"` + name + `","type":"work"}],"active":true,"groups":[],"password":"x"}`
				req, _ = http.NewRequest("POST", scimURL+"/Users", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
				do(req, http.StatusCreated)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
