package manage

import (
	"context"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/invitation"
)

// InvitationVariables returns the ${names} a tenant's invitation may use: the standard
// ones, then its custom attributes.
func (m *Manager) InvitationVariables(ctx context.Context, tenant string) ([]string, error) {
	attrs, err := m.store.ListAttributes(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return invitation.Variables(attrs), nil
}

// checkInvitation refuses invitation templates that use a variable the tenant has not.
func (m *Manager) checkInvitation(ctx context.Context, tenant string, c TenantChanges) error {
	const op = "manage.UpdateTenant"
	if c.InviteSubject == nil && c.InviteText == nil {
		return nil
	}
	attrs, err := m.store.ListAttributes(ctx, tenant)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		field, what string
		text        *string
	}{{"inviteSubject", "invitation subject", c.InviteSubject}, {"inviteText", "invitation text", c.InviteText}} {
		if f.text == nil {
			continue
		}
		if err := invitation.Check(f.what, *f.text, attrs); err != nil {
			return errkind.InvalidField(op, f.field, "%s", errkind.Message(err))
		}
	}
	return nil
}
