package appstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// BenchmarkAuthenticateWrongSecret compares a wrong secret under a prefix that exists
// with one under a prefix that does not: the two must cost the same, or a client can
// tell which prefixes exist (see BENCHMARKS.md).
func BenchmarkAuthenticateWrongSecret(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			s := be.Open(b)
			if _, err := s.UpdateTenant(ctx, appstore.DefaultTenant, func(t *appstore.Tenant) error { t.ProvisioningEnabled = true; return nil }); err != nil {
				b.Fatal(err)
			}
			c, _, err := s.CreateToken(ctx, appstore.DefaultTenant)
			if err != nil {
				b.Fatal(err)
			}
			for name, token := range map[string]string{
				"existing-prefix": c.Prefix + "_" + strings.Repeat("A", 43),
				"unknown-prefix":  "oks_0123456789_" + strings.Repeat("A", 43),
			} {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if _, _, err := s.AuthenticateToken(ctx, token); err == nil {
							b.Fatal("a wrong secret authenticated")
						}
					}
				})
			}
		})
	}
}
