package oktaclient

import "time"

// ScopeUser is the scope of an app user assigned directly rather than through a group.
const ScopeUser = "USER"

// AppUser is a user's assignment to the app, with the app-specific profile.
type AppUser struct {
	ID            string         // the Okta user id
	ExternalID    string         // the id in the app, set by provisioning; read-only
	Scope         string         // USER or GROUP
	Status        string         // ACTIVE, PROVISIONED, STAGED, ...; read-only
	SyncState     string         // DISABLED, SYNCHRONIZED, ...; read-only
	UserName      string         // credentials.userName: the user's name in the app
	Profile       map[string]any // the app user profile
	Created       time.Time
	LastUpdated   time.Time
	StatusChanged time.Time
}

// User is an Okta user.
type User struct {
	ID            string
	Status        string // STAGED, PROVISIONED, ACTIVE, DEPROVISIONED, ...
	Login         string // profile.login
	Email         string // profile.email
	FirstName     string // profile.firstName
	LastName      string // profile.lastName
	Profile       map[string]any
	Created       time.Time
	Activated     time.Time
	LastUpdated   time.Time
	StatusChanged time.Time
}

// MaxPageSize is the largest page Okta serves for app users.
const MaxPageSize = 500

// ListOptions selects and pages app users.
type ListOptions struct {
	// Limit is the page size, 1 to MaxPageSize; 0 means 200.
	Limit int
	// After resumes a listing at the cursor handed to an earlier page callback.
	After string
	// Query is Okta's q: a prefix match on userName, firstName, lastName or email.
	Query string
}

// Assignment assigns a user to the app.
type Assignment struct {
	UserID   string         // the Okta user id
	UserName string         // credentials.userName in the app; required
	Profile  map[string]any // the app user profile
}

// AppUserUpdate changes an app user. Okta merges Profile into the stored profile.
type AppUserUpdate struct {
	Profile map[string]any
	// UserName, when not empty, changes credentials.userName. Leave it empty on
	// profile-only updates: credentials are then left out of the request entirely.
	UserName string
}

// NewUser is a user to create.
type NewUser struct {
	Login     string
	Email     string
	FirstName string
	LastName  string
	// Profile holds further profile attributes; the fields above take precedence.
	Profile map[string]any
	// Activate creates the user ACTIVE rather than STAGED.
	Activate bool
	// SendEmail sends Okta's activation email when activating. Off by default.
	SendEmail bool
}

// LifecycleOptions tunes activation and deactivation.
type LifecycleOptions struct {
	// SendEmail lets Okta email the user about the change. Off by default.
	SendEmail bool
}

// CheckResult is what Check found out about the tenant's app.
type CheckResult struct {
	AppID     string
	AppName   string // the app's integration name
	AppLabel  string // the app's display name
	AppStatus string // ACTIVE or INACTIVE
	// Users is the number of app users on the first page (up to CheckPageSize).
	Users int
	// More reports whether there are more app users than that.
	More bool
}

// CheckPageSize is the page Check counts.
const CheckPageSize = 200

// Attempt is one HTTP exchange with Okta, as Config.Observe sees it.
type Attempt struct {
	// Family is the rate-limit family of the endpoint: apps, users-list, users-create,
	// user-item, groups or other.
	Family string
	// Status is the HTTP status, 0 when no answer came (a connection failure or timeout).
	Status int
	// Remaining is the answer's X-Rate-Limit-Remaining, -1 when it had none.
	Remaining int
}
