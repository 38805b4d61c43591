package resource

import "time"

// SCIMRequest is one entry of the SCIM request log: a request an identity provider sent
// to /scim/v2 and the answer it got, with passwords and credentials redacted.
type SCIMRequest struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Tenant string    `json:"tenant" doc:"the tenant the credential belongs to; empty when no credential told it (a 401)"`
	// Credential is the id of the token or Basic credential that authenticated the request.
	Credential string  `json:"credential,omitempty"`
	Method     string  `json:"method"`
	Path       string  `json:"path" doc:"the path with its query string"`
	Status     int     `json:"status"`
	DurationMs float64 `json:"durationMs"`
	UserAgent  string  `json:"userAgent"`
	RequestID  string  `json:"requestId" doc:"the X-Request-Id the answer carried"`
	// ScimType and Detail are those of the SCIM error answered, if any.
	ScimType          string `json:"scimType,omitempty"`
	Detail            string `json:"detail,omitempty"`
	RequestBody       string `json:"requestBody" doc:"redacted; at most 64 KiB"`
	RequestTruncated  bool   `json:"requestTruncated"`
	ResponseBody      string `json:"responseBody" doc:"redacted; at most 64 KiB"`
	ResponseTruncated bool   `json:"responseTruncated"`
}
