package scimlog

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/requestid"
)

// RequestIDHeader is the response header a request id is read from (set by an outer
// middleware such as requestid.Middleware) or, when none set it, written to.
const RequestIDHeader = requestid.Header

// entry is one captured exchange, as the middleware hands it to the writer. Redaction
// and parsing happen in the writer, off the request path.
type entry struct {
	start     time.Time
	duration  time.Duration
	method    string
	path      string
	rawQuery  string
	userAgent string
	requestID string
	status    int

	tenantID, credentialID string

	reqBody, respBody   []byte
	reqTrunc, respTrunc bool
}

type entryKey struct{}

// Authenticated records, for the request log, which tenant and credential the request
// in ctx authenticated as. The SCIM handler calls it (through scim.Options) once the
// credential is known; without it a request is kept under no tenant.
func Authenticated(ctx context.Context, tenantID, credentialID string) {
	if e, ok := ctx.Value(entryKey{}).(*entry); ok {
		e.tenantID, e.credentialID = tenantID, credentialID
	}
}

// Handler returns next wrapped in the capture middleware: every request through it is
// logged, whatever its outcome.
func (l *Log) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := &entry{start: time.Now(), method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, userAgent: r.UserAgent()}
		max := l.opts.MaxBodyBytes
		if r.Body != nil && r.Body != http.NoBody {
			// Read the start of the body now: a request refused before its body is read
			// (a 401) is logged with its body all the same. The handler reads the same
			// bytes, then the rest.
			var buf bytes.Buffer
			if r.ContentLength > 0 {
				buf.Grow(int(min(r.ContentLength, int64(max)+1)))
			}
			_, err := io.CopyN(&buf, r.Body, int64(max)+1)
			prefix := buf.Bytes()
			e.reqBody, e.reqTrunc = prefix[:min(len(prefix), max)], len(prefix) > max
			rest := io.Reader(r.Body)
			if err != nil && err != io.EOF {
				rest = errReader{err}
			}
			r.Body = bodyReader{Reader: io.MultiReader(bytes.NewReader(prefix), rest), Closer: r.Body}
		}
		cw := &captureWriter{ResponseWriter: w, e: e, max: max}
		defer func() {
			e.duration = time.Since(e.start)
			if cw.status == 0 {
				cw.status = http.StatusOK
			}
			e.status = cw.status
			e.requestID = w.Header().Get(RequestIDHeader)
			l.enqueue(e)
		}()
		next.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), entryKey{}, e)))
	})
}

type bodyReader struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// captureWriter records the status and the first max bytes of the response body.
type captureWriter struct {
	http.ResponseWriter
	e      *entry
	max    int
	status int
}

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		if h := w.Header(); h.Get(RequestIDHeader) == "" {
			h.Set(RequestIDHeader, requestid.New())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if room := w.max - len(w.e.respBody); room >= len(b) {
		w.e.respBody = append(w.e.respBody, b...)
	} else {
		w.e.respBody = append(w.e.respBody, b[:room]...)
		w.e.respTrunc = true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// record turns e into the stored entry: bodies redacted and capped at max bytes, the
// query's credentials redacted, and the SCIM error's scimType and detail read from the
// response.
func (e *entry) record(max int) appstore.SCIMRequest {
	path := e.path
	if e.rawQuery != "" {
		path += "?" + redactQuery(e.rawQuery)
	}
	r := appstore.SCIMRequest{Time: e.start, TenantID: e.tenantID, CredentialID: e.credentialID, Method: e.method, Path: path,
		Status: e.status, Duration: e.duration, UserAgent: e.userAgent, RequestID: e.requestID}
	r.RequestBody, r.RequestTruncated = capBody(redactJSON(e.reqBody), max, e.reqTrunc)
	r.ResponseBody, r.ResponseTruncated = capBody(redactJSON(e.respBody), max, e.respTrunc)
	if e.status >= 400 && !e.respTrunc {
		var se struct {
			ScimType string `json:"scimType"`
			Detail   string `json:"detail"`
		}
		if json.Unmarshal(e.respBody, &se) == nil {
			r.ScimType, r.Detail = se.ScimType, se.Detail
		}
	}
	return r
}
