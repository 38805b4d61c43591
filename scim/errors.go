package scim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/scimfilter"
)

// ErrorURN is the schema of a SCIM error response (RFC 7644 §3.12).
const ErrorURN = "urn:ietf:params:scim:api:messages:2.0:Error"

// scimType values defined by RFC 7644 §3.12 for 400 responses.
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
	typeSensitive     = "sensitive"
)

// Error is a SCIM protocol error: an HTTP status, the RFC 7644 scimType where one applies,
// and a detail sentence safe to show to the client.
type Error struct {
	Status   int
	ScimType string
	Detail   string
	// cause is an internal error logged for 5xx responses and never sent.
	cause error
}

// Error renders the status, scimType and detail.
func (e *Error) Error() string {
	s := strconv.Itoa(e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	return s + ": " + e.Detail
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.cause }

func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func badRequest(scimType, format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, scimType, format, args...)
}

// errorBody is the JSON form of a SCIM error.
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// asSCIMError maps any error to the SCIM error the client sees. Errors from the store
// are mapped by kind, in this one place; anything unexpected becomes a 500 whose detail
// says nothing about internals (the cause is kept for the log).
func asSCIMError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var fe *scimfilter.Error
	if errors.As(err, &fe) {
		return badRequest(typeInvalidFilter, "invalid filter: %s", fe.Detail)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "", "request body exceeds %d bytes", mbe.Limit)
	}
	msg := errkind.Message(err)
	switch errkind.Of(err) {
	case errkind.NotFound:
		return errorf(http.StatusNotFound, "", "%s", orDefault(msg, "resource not found"))
	case errkind.Conflict:
		return errorf(http.StatusConflict, typeUniqueness, "%s", orDefault(msg, "a resource with the same unique attribute already exists"))
	case errkind.Invalid:
		return badRequest(typeInvalidValue, "%s", orDefault(msg, "invalid value"))
	case errkind.Unauthorized:
		return errorf(http.StatusUnauthorized, "", "%s", "authentication failed")
	case errkind.Transient:
		// A busy or briefly unreachable database: the identity provider retries 503s,
		// and the request changed nothing.
		return &Error{Status: http.StatusServiceUnavailable, Detail: "the service is temporarily unavailable; retry", cause: err}
	case errkind.PreconditionFailed:
		return errorf(http.StatusPreconditionFailed, "", "%s", orDefault(msg, "the resource has changed: If-Match does not hold"))
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "internal server error", cause: err}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
