package scim

import (
	"context"

	"github.com/oktasync/oktasync/appstore"
)

// invite queues the welcome email for a user created or reactivated through SCIM when
// the tenant invites users. A failure is logged and never fails the SCIM request: the
// user exists either way, and the identity provider must not retry the write.
func (s *server) invite(ctx context.Context, r *request, u appstore.User) {
	if !r.tenant.Settings.InviteUsers {
		return
	}
	to := u.PrimaryEmail()
	if to == "" {
		return
	}
	name := u.DisplayName()
	if name == "" {
		name = u.UserName
	}
	tenantName := r.tenant.Name
	if tenantName == "" {
		tenantName = r.tenant.ID
	}
	m := appstore.Mail{
		TenantID: r.tenant.ID,
		To:       to,
		Subject:  "Welcome to " + tenantName,
		Body: "Hello " + name + ",\n\n" +
			"An account has been set up for you in " + tenantName + ".\n" +
			"Your username is " + u.UserName + ".\n",
	}
	if err := s.store.EnqueueMail(detached(ctx), m); err != nil {
		s.log.Warn("scim: queueing the welcome email failed", "tenant", r.tenant.ID, "user", u.ID, "err", err)
	}
}
