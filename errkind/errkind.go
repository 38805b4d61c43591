// Package errkind is the shared vocabulary of failure kinds used across oktasync.
//
// The store, the Okta client and the syncer all return errors that carry one Kind, so
// callers branch on what went wrong (errors.Is(err, errkind.NotFound)) rather than on
// strings, and the HTTP and CLI edges map a kind to a status or exit code in one place.
package errkind

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a failure. Kinds are comparable sentinels usable with errors.Is.
type Kind int

// The kinds of failure. Other is the zero value: an error of no particular kind.
const (
	Other              Kind = iota
	NotFound                // the thing asked for does not exist
	Conflict                // it already exists, or a uniqueness or state rule forbids the write
	Invalid                 // the input is malformed or breaks a validation rule
	Unauthorized            // missing, wrong or inactive credentials, or a disabled tenant
	RateLimited             // the peer asked us to slow down; see RetryAfter
	Transient               // a temporary failure (5xx, timeout, connection); retrying may succeed
	Permanent               // a failure that retrying will not fix
	PreconditionFailed      // an If-Match or version check did not hold
)

var kindNames = map[Kind]string{
	Other:              "error",
	NotFound:           "not found",
	Conflict:           "conflict",
	Invalid:            "invalid",
	Unauthorized:       "unauthorized",
	RateLimited:        "rate limited",
	Transient:          "transient",
	Permanent:          "permanent",
	PreconditionFailed: "precondition failed",
}

// String returns the kind's human name.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error makes a Kind usable as a sentinel target of errors.Is.
func (k Kind) Error() string { return k.String() }

// Error is an error of a given Kind, with the operation that failed and an optional cause.
type Error struct {
	Kind Kind
	Op   string // what was being done, e.g. "appstore.CreateUser"
	Msg  string // a human sentence about this failure; safe to show to clients
	Err  error  // the underlying cause, if any
	// Field names the input field at fault (for example "userName" or
	// "attributes.level"), so that an API can point at it and a CLI at its flag; "" if none.
	Field string

	// RetryAfter is when a RateLimited operation may be tried again (zero if unknown).
	RetryAfter time.Time
}

// E builds an *Error.
func E(op string, kind Kind, msg string, cause error) *Error {
	return &Error{Op: op, Kind: kind, Msg: msg, Err: cause}
}

// Errorf builds an *Error whose message is formatted; %w is not interpreted here.
func Errorf(op string, kind Kind, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// InvalidField builds an Invalid error about one input field; the message is formatted.
func InvalidField(op, field, format string, args ...any) *Error {
	return &Error{Op: op, Kind: Invalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// FieldOf returns the field named by the first *Error in err's chain that names one, or "".
func FieldOf(err error) string {
	if e := first(err, func(e *Error) bool { return e.Field != "" }); e != nil {
		return e.Field
	}
	return ""
}

// first returns the first *Error in err's chain that ok accepts, or nil.
func first(err error, ok func(*Error) bool) *Error {
	var e *Error
	for errors.As(err, &e) {
		if ok(e) {
			return e
		}
		err = e.Err
		if err == nil {
			break
		}
	}
	return nil
}

// Error renders "op: msg: cause".
func (e *Error) Error() string {
	s := e.Op
	add := func(p string) {
		if p == "" {
			return
		}
		if s != "" {
			s += ": "
		}
		s += p
	}
	add(e.Msg)
	if e.Err != nil {
		add(e.Err.Error())
	}
	if s == "" {
		s = e.Kind.String()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is this error's Kind, so errors.Is(err, errkind.NotFound) works.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind && k != Other
}

// Of returns the Kind of the first *Error in err's chain, or Other.
func Of(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		if e.Kind != Other {
			return e.Kind
		}
		return Of(e.Err)
	}
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return Other
}

// MessageOr returns Message(err), or err's text when it carries no message ("" for nil).
func MessageOr(err error) string {
	if err == nil {
		return ""
	}
	if m := Message(err); m != "" {
		return m
	}
	return err.Error()
}

// Message returns the client-safe message of the first *Error in err's chain with one,
// or "" if none.
func Message(err error) string {
	if e := first(err, func(e *Error) bool { return e.Msg != "" }); e != nil {
		return e.Msg
	}
	return ""
}

// HTTPStatus is the status an HTTP API of oktasync answers an error of err's kind with:
// 404, 409, 400, 412; 502 for Unauthorized (a peer such as Okta refused our credentials,
// not the caller's); 503 for RateLimited and Transient; 500 otherwise.
func HTTPStatus(err error) int {
	switch Of(err) {
	case NotFound:
		return 404
	case Conflict:
		return 409
	case Invalid:
		return 400
	case PreconditionFailed:
		return 412
	case Unauthorized:
		return 502
	case Transient, RateLimited:
		return 503
	}
	return 500
}
