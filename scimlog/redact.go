package scimlog

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted replaces every secret the log would otherwise keep.
const Redacted = "[REDACTED]"

// What names a secret: parts of a key (lower-case), the prefix of an oktasync token, and
// the schemes of an Authorization header value.
var (
	secretKeyParts    = []string{"password", "secret", "token", "authorization", "apikey", "api_key", "credential"}
	tokenPrefix       = "oks_"
	credentialSchemes = []string{"bearer", "basic", "ssws"}
)

// sensitiveKey reports whether a JSON key or query parameter names a secret: a password
// (Okta sends one with every create), or any token, secret or credential.
func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretKeyParts {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// sensitiveValue reports whether a string looks like a credential wherever it stands:
// an oktasync token, or an Authorization header value ("Bearer" or "SSWS" and a token
// of 16 or more characters, or "Basic" and base64 of user:password), so that "Basic
// research" in a title stays as it is.
func sensitiveValue(v string) bool {
	if strings.HasPrefix(v, tokenPrefix) {
		return true
	}
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok || !tokenLike(rest) {
		return false
	}
	switch {
	case strings.EqualFold(scheme, "basic"):
		dec, err := base64.StdEncoding.DecodeString(rest)
		return err == nil && strings.Contains(string(dec), ":")
	case strings.EqualFold(scheme, "bearer"), strings.EqualFold(scheme, "ssws"):
		return len(rest) >= 16
	}
	return false
}

// tokenLike reports whether s is one run of the characters of a bearer token
// (RFC 6750's b64token).
func tokenLike(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0) {
			return false
		}
	}
	return true
}

// redactJSON replaces the values of sensitive keys, and credential-looking strings, in a
// JSON text. It is a lenient lexer rather than a parser, so that it also redacts a body
// cut short by the capture cap, or one that is not valid JSON at all: a string followed
// by a colon is a key, and the value after a sensitive key is replaced whole (a string,
// a scalar, or a nested object or array), even when it is unterminated. A PATCH
// operation whose path names a secret ({"op":"replace","path":"password","value":…})
// has its value replaced too. Everything else is copied byte for byte.
func redactJSON(b []byte) []byte {
	if !mayHoldSecret(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	// secretValue says, for each object being copied, whether its "value" member is a
	// secret because its "path" member names one.
	var secretValue []bool
	for i := 0; i < len(b); {
		switch b[i] {
		case '{':
			secretValue = append(secretValue, pathIsSensitive(b, i))
		case '}':
			if len(secretValue) > 0 {
				secretValue = secretValue[:len(secretValue)-1]
			}
		}
		if b[i] != '"' {
			out = append(out, b[i])
			i++
			continue
		}
		end := stringEnd(b, i)
		tok := b[i:end]
		if j := skipSpace(b, end); j < len(b) && b[j] == ':' { // a key
			out = append(out, b[i:j+1]...)
			i = j + 1
			key := unquote(tok)
			if sensitiveKey(key) || (strings.EqualFold(key, "value") && len(secretValue) > 0 && secretValue[len(secretValue)-1]) {
				k := skipSpace(b, i)
				out = append(out, b[i:k]...)
				out = append(out, `"`+Redacted+`"`...)
				i = valueEnd(b, k)
			}
			continue
		}
		if sensitiveValue(unquote(tok)) {
			out = append(out, `"`+Redacted+`"`...)
		} else {
			out = append(out, tok...)
		}
		i = end
	}
	return out
}

// pathIsSensitive reports whether the object starting at b[i] == '{' has a "path"
// member (at its own level) whose value names a secret.
func pathIsSensitive(b []byte, i int) bool {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return false
			}
		case '"':
			end := stringEnd(b, j)
			k := skipSpace(b, end)
			if depth == 1 && k < len(b) && b[k] == ':' && strings.EqualFold(unquote(b[j:end]), "path") {
				v := skipSpace(b, k+1)
				if v < len(b) && b[v] == '"' && sensitiveKey(unquote(b[v:stringEnd(b, v)])) {
					return true
				}
			}
			j = end - 1
		}
	}
	return false
}

// triggers are the lower-case texts without which redactJSON has nothing to redact:
// every sensitive key and credential contains one of them, and an escape (\u) could
// hide one. They are indexed by their first byte.
var triggers = func() (byFirst [256][]string) {
	for _, t := range append(append([]string{tokenPrefix, `\u`}, secretKeyParts...), credentialSchemes...) {
		byFirst[t[0]] = append(byFirst[t[0]], t)
	}
	return byFirst
}()

// mayHoldSecret is the redaction's fast path: most bodies (every answer to an existence
// check) contain none of the triggers, in any letter case, and are kept as they are
// without being lexed. It is one pass without allocating.
func mayHoldSecret(b []byte) bool {
	for i := range b {
		for _, t := range triggers[lowerASCII(b[i])] {
			if hasPrefixFold(b[i:], t) {
				return true
			}
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether b starts with the lower-case ASCII text t, in any case.
func hasPrefixFold(b []byte, t string) bool {
	if len(b) < len(t) {
		return false
	}
	for j := 0; j < len(t); j++ {
		if lowerASCII(b[j]) != t[j] {
			return false
		}
	}
	return true
}

// encodedLetter reports whether a query holds a percent-encoded letter, which could
// hide a sensitive parameter name from mayHoldSecret.
func encodedLetter(q string) bool {
	for i := 0; i+2 < len(q); i++ {
		if q[i] == '%' {
			if c, err := strconv.ParseUint(q[i+1:i+3], 16, 8); err == nil && lowerASCII(byte(c)) >= 'a' && lowerASCII(byte(c)) <= 'z' {
				return true
			}
		}
	}
	return false
}

// stringEnd returns the index just past the string starting at b[i] == '"', or len(b)
// when it is unterminated.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value starting at b[i]: a string, an
// object or array (nesting and strings inside followed), or a scalar up to the next
// delimiter. An unterminated value ends at len(b).
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	return j
}

// unquote returns the text of a JSON string token, escapes decoded (so that an escaped
// key such as "p\u0061ssword" is recognised); an unterminated token is taken as is.
func unquote(tok []byte) string {
	if len(tok) >= 2 && tok[len(tok)-1] == '"' {
		if !strings.ContainsRune(string(tok), '\\') {
			return string(tok[1 : len(tok)-1])
		}
		var s string
		if json.Unmarshal(tok, &s) == nil {
			return s
		}
	}
	return strings.TrimPrefix(string(tok), `"`)
}

// redactQuery replaces the values of sensitive query parameters, and of any that look
// like a credential, keeping the rest of the query as sent.
func redactQuery(raw string) string {
	if !mayHoldSecret([]byte(raw)) && !encodedLetter(raw) {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			val = v
		}
		if sensitiveKey(key) || sensitiveValue(val) {
			parts[i] = k + "=" + url.QueryEscape(Redacted)
		}
	}
	return strings.Join(parts, "&")
}

// capBody returns b as text of at most max bytes, cut on a UTF-8 boundary, and whether
// anything was cut (or already was, when truncated is true).
func capBody(b []byte, max int, truncated bool) (string, bool) {
	if len(b) <= max {
		return string(b), truncated
	}
	cut := max
	for cut > 0 && cut > max-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]), true
}
