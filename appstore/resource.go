package appstore

import (
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/scimschema"
)

// TenantResource is t as the API and events show it.
func TenantResource(t Tenant) resource.Tenant {
	return resource.Tenant{
		ID: t.ID, Name: t.Name, ProvisioningEnabled: t.ProvisioningEnabled,
		InviteUsers: t.Settings.InviteUsers, AllowedEmailDomains: nonNil(t.Settings.AllowedEmailDomains),
		InviteSubject: t.Settings.InviteSubject, InviteText: t.Settings.InviteText,
		Created: t.Created, Updated: t.Updated,
	}
}

// UserResource is u as the API and events show it (without groups, which the caller
// adds where it read them).
func UserResource(u User) resource.User {
	r := resource.User{
		ID: u.ID, Tenant: u.TenantID, UserName: u.UserName, ExternalID: u.ExternalID, Active: u.Active,
		DisplayName: u.DisplayName(), Email: u.PrimaryEmail(), Source: u.Source, SourceClient: u.SourceClient,
		SourceCredential: u.SourceCredential, OktaUserID: u.OktaUserID, Attributes: u.Attrs,
		Version: u.Version, Created: u.Created, Updated: u.Updated,
	}
	if n, ok := u.Attrs["name"].(map[string]any); ok {
		var rn resource.Name
		rn.GivenName, _ = n["givenName"].(string)
		rn.FamilyName, _ = n["familyName"].(string)
		rn.Formatted, _ = n["formatted"].(string)
		if rn != (resource.Name{}) {
			r.Name = &rn
		}
	}
	return r
}

// GroupResource is g as the API and events show it; memberCount is len(g.Members) when
// the members were read, else the count the caller passes.
func GroupResource(g Group, memberCount int) resource.Group {
	if g.Members != nil {
		memberCount = len(g.Members)
	}
	return resource.Group{
		ID: g.ID, Tenant: g.TenantID, DisplayName: g.DisplayName, ExternalID: g.ExternalID,
		MemberCount: memberCount, Source: g.Source, Version: g.Version, Created: g.Created, Updated: g.Updated,
	}
}

// MemberResource is m as the API and events show it.
func MemberResource(m Member) resource.Member {
	return resource.Member{ID: m.Value, Type: m.Type, Display: m.Display}
}

// CredentialResource is c as the API and events show it, without any secret.
func CredentialResource(c Credential) resource.Credential {
	r := resource.Credential{ID: c.ID, Tenant: c.TenantID, Kind: c.Kind, Prefix: c.Prefix, Username: c.Username,
		Status: c.Status, Created: c.Created}
	if !c.LastUsed.IsZero() {
		lu := c.LastUsed
		r.LastUsed = &lu
	}
	return r
}

// AttributeResource is a as the API and events show it.
func AttributeResource(a scimschema.CustomAttr) resource.Attribute {
	return resource.Attribute{Name: a.Name, Type: a.Type, MultiValued: a.MultiValued, Description: a.Description}
}

// AuditResource is e as the API shows it.
func AuditResource(e AuditEvent) resource.AuditEvent {
	r := resource.AuditEvent{ID: e.ID, Time: e.Time, Tenant: e.TenantID, Actor: e.Actor, Operation: e.Operation,
		ResourceType: e.ResourceType, ResourceID: e.ResourceID, Changes: make(map[string]resource.AuditChange, len(e.Changes))}
	for k, c := range e.Changes {
		r.Changes[k] = resource.AuditChange{Old: c.Old, New: c.New}
	}
	return r
}

// APIKeyResource is k as the API shows it, without any secret.
func APIKeyResource(k APIKey) resource.APIKey {
	r := resource.APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Created: k.Created}
	if !k.LastUsed.IsZero() {
		lu := k.LastUsed
		r.LastUsed = &lu
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
