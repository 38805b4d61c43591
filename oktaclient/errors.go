package oktaclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/oktasync/oktasync/errkind"
)

// Okta error codes the mapping depends on.
const (
	codeValidation = "E0000001" // Api validation failed
	codeNotFound   = "E0000007" // Not found: Resource not found
	codeRateLimit  = "E0000047" // API call exceeded rate limit
)

// APIError is Okta's error body, kept in the chain of every error the Client returns for
// a non-2xx answer so callers can log errorId and errorCauses.
type APIError struct {
	Status  int      // HTTP status
	Code    string   // errorCode, e.g. E0000001
	Summary string   // errorSummary
	ID      string   // errorId, for Okta support
	Causes  []string // errorCauses[].errorSummary
}

// Error renders status, code and errorId. The summary and causes are the message of
// the *errkind.Error that wraps an APIError, so they are not repeated here.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "okta HTTP %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.ID != "" {
		fmt.Fprintf(&b, " errorId %s", e.ID)
	}
	return b.String()
}

// message is the client-safe sentence of an APIError: summary and causes.
func (e *APIError) message() string {
	msg := e.Summary
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if len(e.Causes) > 0 {
		msg += ": " + strings.Join(e.Causes, "; ")
	}
	return msg
}

func newAPIError(status int, oe *okta.Error) *APIError {
	ae := &APIError{Status: status}
	if oe == nil {
		return ae
	}
	ae.Code, ae.Summary, ae.ID = oe.ErrorCode, oe.ErrorSummary, oe.ErrorId
	if ae.Summary == "" {
		ae.Summary = oe.ErrorDescription
	}
	// The SDK appends the request id to 500 summaries, also when there is none.
	ae.Summary = strings.TrimSuffix(ae.Summary, ", x-okta-request-id=")
	for _, c := range oe.ErrorCauses {
		if s, ok := c["errorSummary"].(string); ok && s != "" {
			ae.Causes = append(ae.Causes, s)
			continue
		}
		for k, v := range c {
			ae.Causes = append(ae.Causes, fmt.Sprintf("%s: %v", k, v))
		}
	}
	return ae
}

// mapError turns what the SDK returned into an *errkind.Error. resp may be nil (the SDK
// drops the response when it gives up on a 429, or when no answer came); st tells what
// the transport saw in that case.
func mapError(op string, err error, resp *okta.Response, st *callState) error {
	if err == nil {
		return nil
	}
	lastStatus, retryAt, _ := st.snapshot()
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	var oe *okta.Error
	hasOE := errors.As(err, &oe)
	if status == 0 && hasOE {
		status = lastStatus
	}

	if status == 0 {
		return mapNoAnswer(op, err, lastStatus, retryAt)
	}

	ae := newAPIError(status, oe)
	// The SDK's own error repeats what APIError says; leaving it out of the chain also
	// keeps callers from depending on SDK types.
	e := errkind.E(op, kindOf(status, ae), ae.message(), ae)
	if e.Kind == errkind.RateLimited {
		e.RetryAfter = retryAt
		if resp != nil && e.RetryAfter.IsZero() {
			e.RetryAfter = resetTime(resp.Header)
		}
	}
	return e
}

// kindOf classifies an Okta answer.
func kindOf(status int, ae *APIError) errkind.Kind {
	switch {
	case status == http.StatusNotFound || ae.Code == codeNotFound:
		return errkind.NotFound
	case status == http.StatusTooManyRequests || ae.Code == codeRateLimit:
		return errkind.RateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return errkind.Unauthorized
	case status == http.StatusConflict:
		return errkind.Conflict
	case status == http.StatusBadRequest:
		for _, c := range ae.Causes {
			if strings.Contains(strings.ToLower(c), "already exist") {
				return errkind.Conflict
			}
		}
		return errkind.Invalid
	case status >= 500 || status == http.StatusRequestTimeout:
		return errkind.Transient
	}
	return errkind.Permanent
}

// mapNoAnswer classifies a failure without an HTTP answer to hand.
func mapNoAnswer(op string, err error, lastStatus int, retryAt time.Time) error {
	switch {
	case lastStatus == http.StatusTooManyRequests:
		// The SDK's errors.New("too many requests") after its last try, or its complaint
		// about missing rate headers: the transport saw the 429.
		msg := "Okta rate limit exceeded"
		if !retryAt.IsZero() {
			msg += "; retry after " + retryAt.UTC().Format(time.RFC3339)
		}
		e := errkind.E(op, errkind.RateLimited, msg, err)
		e.RetryAfter = retryAt
		return e
	case errors.Is(err, context.Canceled):
		return errkind.E(op, errkind.Transient, "cancelled", err)
	case errors.Is(err, context.DeadlineExceeded):
		return errkind.E(op, errkind.Transient, "timed out", err)
	}
	var rte *roundTripError
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &rte) || errors.As(err, &ne) || errors.As(err, &ue) {
		return errkind.E(op, errkind.Transient, "no answer from Okta", err)
	}
	if lastStatus >= 300 && lastStatus < 400 {
		return errkind.E(op, errkind.Permanent, fmt.Sprintf("unexpected redirect (HTTP %d); check the org URL", lastStatus), err)
	}
	return errkind.E(op, errkind.Permanent, "unexpected answer from Okta", err)
}

// resetTime reads X-Rate-Limit-Reset as a wall time, zero if absent.
func resetTime(h http.Header) time.Time {
	ri, ok := parseRate(h)
	if !ok {
		return time.Time{}
	}
	return time.Unix(ri.reset, 0)
}
