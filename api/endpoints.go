package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

// TenantPath names a tenant.
type TenantPath struct {
	Tenant string `path:"tenant" doc:"tenant id"`
}

// TenantPatch is the body of PATCH /tenants/{tenant}: the settings to change.
type TenantPatch struct {
	Name                *string   `json:"name,omitempty"`
	ProvisioningEnabled *bool     `json:"provisioningEnabled,omitempty"`
	InviteUsers         *bool     `json:"inviteUsers,omitempty"`
	AllowedEmailDomains *[]string `json:"allowedEmailDomains,omitempty" doc:"userNames and emails must lie in these domains (subdomains only when listed); [] allows any"`
}

func tenantEndpoints(api huma.API, m *manage.Manager) {
	huma.Register(api, op("listTenants", http.MethodGet, "/tenants", "List tenants", "tenants"),
		func(ctx context.Context, in *struct{ Paging }) (*listOutput[resource.Tenant], error) {
			return pageOf(m.TenantPage(ctx, in.Limit, in.After))
		})
	huma.Register(api, created(op("createTenant", http.MethodPost, "/tenants", "Create a tenant", "tenants")),
		func(ctx context.Context, in *struct {
			Body struct {
				ID                  string `json:"id" doc:"lower-case letters, digits and dashes"`
				Name                string `json:"name,omitempty"`
				ProvisioningEnabled bool   `json:"provisioningEnabled,omitempty"`
			}
		}) (*bodyOutput[resource.Tenant], error) {
			return body(m.CreateTenant(ctx, manage.NewTenant{ID: in.Body.ID, Name: in.Body.Name, ProvisioningEnabled: in.Body.ProvisioningEnabled}))
		})
	huma.Register(api, op("getTenant", http.MethodGet, "/tenants/{tenant}", "Get a tenant, with its SCIM URL and counts", "tenants"),
		func(ctx context.Context, in *TenantPath) (*bodyOutput[resource.Tenant], error) {
			return body(m.GetTenant(ctx, in.Tenant))
		})
	huma.Register(api, op("updateTenant", http.MethodPatch, "/tenants/{tenant}", "Change a tenant's settings", "tenants"),
		func(ctx context.Context, in *struct {
			TenantPath
			Body TenantPatch
		}) (*bodyOutput[resource.Tenant], error) {
			b := in.Body
			return body(m.UpdateTenant(ctx, in.Tenant, manage.TenantChanges{Name: b.Name, ProvisioningEnabled: b.ProvisioningEnabled,
				InviteUsers: b.InviteUsers, AllowedEmailDomains: b.AllowedEmailDomains}))
		})
	huma.Register(api, op("deleteTenant", http.MethodDelete, "/tenants/{tenant}", "Delete a tenant and everything in it", "tenants"),
		func(ctx context.Context, in *TenantPath) (*struct{}, error) {
			return noContent(m.DeleteTenant(ctx, in.Tenant))
		})
}

// CredentialPath names a credential of a tenant.
type CredentialPath struct {
	TenantPath
	ID string `path:"id" doc:"credential id"`
}

// StatusBody activates or deactivates a credential.
type StatusBody struct {
	Body struct {
		Status string `json:"status" enum:"active,inactive"`
	}
}

// credentialEndpoints serve bearer tokens under …/tokens and Basic credentials under
// …/basic-credentials, each kind seeing only its own.
func credentialEndpoints(api huma.API, m *manage.Manager) {
	for _, k := range []struct{ kind, path, id, name string }{
		{manage.KindToken, "/tokens", "Token", "token"},
		{manage.KindBasic, "/basic-credentials", "BasicCredential", "Basic credential"},
	} {
		base := "/tenants/{tenant}" + k.path
		huma.Register(api, op("list"+k.id+"s", http.MethodGet, base, "List the tenant's "+k.name+"s", "credentials"),
			func(ctx context.Context, in *TenantPath) (*listOutput[resource.Credential], error) {
				list, err := m.ListCredentials(ctx, in.Tenant, k.kind)
				if err != nil {
					return nil, fail(err)
				}
				return listOf(list, ""), nil
			})
		huma.Register(api, op("update"+k.id, http.MethodPatch, base+"/{id}", "Activate or deactivate a "+k.name, "credentials"),
			func(ctx context.Context, in *struct {
				CredentialPath
				StatusBody
			}) (*bodyOutput[resource.Credential], error) {
				return body(m.SetCredentialStatus(ctx, in.Tenant, k.kind, in.ID, in.Body.Status))
			})
		huma.Register(api, op("delete"+k.id, http.MethodDelete, base+"/{id}", "Remove a "+k.name, "credentials"),
			func(ctx context.Context, in *CredentialPath) (*struct{}, error) {
				_, err := m.RemoveCredential(ctx, in.Tenant, k.kind, in.ID)
				return noContent(err)
			})
	}
	huma.Register(api, created(op("createToken", http.MethodPost, "/tenants/{tenant}/tokens", "Create a SCIM bearer token (its secret is shown only here)", "credentials")),
		func(ctx context.Context, in *TenantPath) (*bodyOutput[resource.Credential], error) {
			return body(m.CreateToken(ctx, in.Tenant))
		})
	huma.Register(api, op("renewToken", http.MethodPost, "/tenants/{tenant}/tokens/{id}/renew", "Give a token a new secret; the old one stops working at once", "credentials"),
		func(ctx context.Context, in *CredentialPath) (*bodyOutput[resource.Credential], error) {
			return body(m.RenewToken(ctx, in.Tenant, in.ID))
		})
	huma.Register(api, created(op("createBasicCredential", http.MethodPost, "/tenants/{tenant}/basic-credentials", "Create HTTP Basic credentials", "credentials")),
		func(ctx context.Context, in *struct {
			TenantPath
			Body struct {
				Username string `json:"username"`
				Password string `json:"password" doc:"at least 12 characters; stored hashed"`
			}
		}) (*bodyOutput[resource.Credential], error) {
			return body(m.CreateBasic(ctx, in.Tenant, in.Body.Username, in.Body.Password))
		})
}

func attributeEndpoints(api huma.API, m *manage.Manager) {
	huma.Register(api, op("listAttributes", http.MethodGet, "/tenants/{tenant}/attributes", "List the tenant's custom user attributes", "attributes"),
		func(ctx context.Context, in *TenantPath) (*listOutput[resource.Attribute], error) {
			list, err := m.ListAttributes(ctx, in.Tenant)
			if err != nil {
				return nil, fail(err)
			}
			return listOf(list, ""), nil
		})
	huma.Register(api, created(op("createAttribute", http.MethodPost, "/tenants/{tenant}/attributes", "Define a custom user attribute", "attributes")),
		func(ctx context.Context, in *struct {
			TenantPath
			Body struct {
				Name        string `json:"name"`
				Type        string `json:"type,omitempty" enum:"string,boolean,integer,decimal,dateTime" default:"string"`
				MultiValued bool   `json:"multiValued,omitempty"`
				Description string `json:"description,omitempty"`
			}
		}) (*bodyOutput[resource.Attribute], error) {
			b := in.Body
			return body(m.AddAttribute(ctx, in.Tenant, resource.Attribute{Name: b.Name, Type: b.Type, MultiValued: b.MultiValued, Description: b.Description}))
		})
	huma.Register(api, op("deleteAttribute", http.MethodDelete, "/tenants/{tenant}/attributes/{name}", "Remove a custom attribute", "attributes"),
		func(ctx context.Context, in *struct {
			TenantPath
			Name string `path:"name"`
		}) (*struct{}, error) {
			return noContent(m.RemoveAttribute(ctx, in.Tenant, in.Name))
		})
}

// UserProfile are the profile fields the app writes.
type UserProfile struct {
	GivenName   *string        `json:"givenName,omitempty"`
	FamilyName  *string        `json:"familyName,omitempty"`
	DisplayName *string        `json:"displayName,omitempty"`
	Email       *string        `json:"email,omitempty" doc:"primary work email"`
	Title       *string        `json:"title,omitempty"`
	Department  *string        `json:"department,omitempty"`
	Locale      *string        `json:"locale,omitempty"`
	Phone       *string        `json:"phone,omitempty" doc:"primary work phone number"`
	Active      *bool          `json:"active,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty" doc:"the tenant's custom attributes by name"`
}

func (p UserProfile) fields(userName *string) manage.UserFields {
	return manage.UserFields{UserName: userName, GivenName: p.GivenName, FamilyName: p.FamilyName, DisplayName: p.DisplayName,
		Email: p.Email, Title: p.Title, Department: p.Department, Locale: p.Locale, Phone: p.Phone, Active: p.Active, Attributes: p.Attributes}
}

// UserPath names a user of a tenant.
type UserPath struct {
	TenantPath
	ID string `path:"id" doc:"user id"`
}

func userEndpoints(api huma.API, m *manage.Manager) {
	huma.Register(api, op("listUsers", http.MethodGet, "/tenants/{tenant}/users", "List the tenant's users", "users"),
		func(ctx context.Context, in *struct {
			TenantPath
			Paging
			Filter       string    `query:"filter" doc:"SCIM filter, e.g. userName sw \"a\""`
			Source       string    `query:"source" enum:"scim,app,okta"`
			Active       string    `query:"active" enum:"true,false"`
			Group        string    `query:"group" doc:"only direct members of this group id"`
			UpdatedSince time.Time `query:"updatedSince" doc:"only users updated at or after this time"`
		}) (*listOutput[resource.User], error) {
			q := manage.UserQuery{Filter: in.Filter, Source: in.Source, Group: in.Group, UpdatedSince: in.UpdatedSince, Limit: in.Limit, After: in.After}
			if in.Active != "" {
				v := in.Active == "true"
				q.Active = &v
			}
			return pageOf(m.ListUsers(ctx, in.Tenant, q))
		})
	huma.Register(api, op("getUser", http.MethodGet, "/tenants/{tenant}/users/{id}", "Get a user, with its source, Okta link and groups", "users"),
		func(ctx context.Context, in *UserPath) (*bodyOutput[resource.User], error) {
			return body(m.GetUser(ctx, in.Tenant, in.ID))
		})
	huma.Register(api, created(op("createUser", http.MethodPost, "/tenants/{tenant}/users", "Create a user as the app (the sync pushes it to Okta)", "users")),
		func(ctx context.Context, in *struct {
			TenantPath
			Body struct {
				UserName string `json:"userName" doc:"unique in the tenant in any letter case"`
				UserProfile
			}
		}) (*bodyOutput[resource.User], error) {
			return body(m.CreateUser(ctx, in.Tenant, in.Body.fields(&in.Body.UserName)))
		})
	huma.Register(api, op("updateUser", http.MethodPatch, "/tenants/{tenant}/users/{id}", "Change a user's profile or active state as the app", "users"),
		func(ctx context.Context, in *struct {
			UserPath
			Body struct {
				UserName *string `json:"userName,omitempty"`
				UserProfile
			}
		}) (*bodyOutput[resource.User], error) {
			return body(m.UpdateUserByID(ctx, in.Tenant, in.ID, in.Body.fields(in.Body.UserName)))
		})
}

// GroupPath names a group of a tenant.
type GroupPath struct {
	TenantPath
	ID string `path:"id" doc:"group id"`
}

func groupEndpoints(api huma.API, m *manage.Manager) {
	huma.Register(api, op("listGroups", http.MethodGet, "/tenants/{tenant}/groups", "List the tenant's groups with their member counts", "groups"),
		func(ctx context.Context, in *struct {
			TenantPath
			Paging
			Filter string `query:"filter" doc:"SCIM filter, e.g. displayName eq \"Sales\""`
		}) (*listOutput[resource.Group], error) {
			return pageOf(m.ListGroups(ctx, in.Tenant, manage.GroupQuery{Filter: in.Filter, Limit: in.Limit, After: in.After}))
		})
	huma.Register(api, op("getGroup", http.MethodGet, "/tenants/{tenant}/groups/{id}", "Get a group", "groups"),
		func(ctx context.Context, in *GroupPath) (*bodyOutput[resource.Group], error) {
			return body(m.GetGroup(ctx, in.Tenant, in.ID))
		})
	huma.Register(api, op("listGroupMembers", http.MethodGet, "/tenants/{tenant}/groups/{id}/members", "List a group's members", "groups"),
		func(ctx context.Context, in *struct {
			GroupPath
			Paging
		}) (*listOutput[resource.Member], error) {
			return pageOf(m.ListMembers(ctx, in.Tenant, in.ID, in.Limit, in.After))
		})
}
