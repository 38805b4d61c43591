package scim

import (
	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/invitation"
)

// welcome is the write option that queues the welcome email when a SCIM write creates
// an active user, or reactivates one, in a tenant that invites users. The mail is queued
// in the write's own transaction: a user never exists without the invitation it was
// due, and a refused write queues none.
func (s *server) welcome(r *request) appstore.WriteOption {
	t := r.tenant
	return appstore.WithMail(func(old *appstore.User, u appstore.User) (appstore.Mail, bool) {
		if !t.Settings.InviteUsers || !u.Active || (old != nil && old.Active) {
			return appstore.Mail{}, false
		}
		to := u.PrimaryEmail()
		if to == "" {
			return appstore.Mail{}, false
		}
		subject, body := invitation.Compose(t, u)
		return appstore.Mail{TenantID: t.ID, To: to, Subject: subject, Body: body}, true
	})
}
