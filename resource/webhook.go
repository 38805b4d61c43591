package resource

import "time"

// Webhook is an endpoint that receives events. Secret is set only in the answers that
// create the endpoint or rotate its secret.
type Webhook struct {
	ID      string   `json:"id"`
	URL     string   `json:"url"`
	Tenants []string `json:"tenants"`
	Types   []string `json:"types"`
	Enabled bool     `json:"enabled"`
	// PreviousSecretExpires is when the secret replaced by the last rotation stops
	// signing; null when no previous secret signs.
	PreviousSecretExpires *time.Time `json:"previousSecretExpires"`
	Created               time.Time  `json:"created"`
	Updated               time.Time  `json:"updated"`
	Secret                string     `json:"secret,omitempty"`
}

// Delivery is one event queued for one webhook, with the state of its attempts.
type Delivery struct {
	ID      int64  `json:"id"`
	Webhook string `json:"webhook"`
	Event   string `json:"event"`
	Seq     int64  `json:"seq"`
	Type    string `json:"type"`
	Tenant  string `json:"tenant"`
	// Status is "pending", "succeeded" or "failed".
	Status           string     `json:"status"`
	Attempts         int        `json:"attempts"`
	LastResponseCode int        `json:"lastResponseCode"`
	LastError        string     `json:"lastError"`
	NextAttempt      *time.Time `json:"nextAttempt"`
	Created          time.Time  `json:"created"`
	Delivered        *time.Time `json:"delivered"`
}
