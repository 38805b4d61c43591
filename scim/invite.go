package scim

import (
	"context"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/invitation"
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
	subject, body := invitation.Compose(r.tenant, u)
	m := appstore.Mail{TenantID: r.tenant.ID, To: to, Subject: subject, Body: body}
	if err := s.store.EnqueueMail(detached(ctx), m); err != nil {
		s.log.WarnContext(ctx, "scim: queueing the welcome email failed", "tenant", r.tenant.ID, "user", u.ID, "err", err)
	}
}
