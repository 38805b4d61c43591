package scimlog

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Redacted replaces every secret the log would otherwise keep.
const Redacted = "[REDACTED]"

// sensitiveKey reports whether a JSON key or query parameter names a secret: a password
// (Okta sends one with every create), or any token, secret or credential.
func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "secret", "token", "authorization", "apikey", "api_key", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// sensitiveValue reports whether a string looks like a credential wherever it stands:
// an oktasync token, or an Authorization header value.
func sensitiveValue(v string) bool {
	if strings.HasPrefix(v, "oks_") {
		return true
	}
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok || rest == "" {
		return false
	}
	for _, s := range []string{"bearer", "basic", "ssws"} {
		if strings.EqualFold(scheme, s) {
			return true
		}
	}
	return false
}

// redactJSON replaces the values of sensitive keys, and credential-looking strings, in a
// JSON text. It is a lenient lexer rather than a parser, so that it also redacts a body
// cut short by the capture cap, or one that is not valid JSON at all: a string followed
// by a colon is a key, and the value after a sensitive key is replaced whole (a string,
// a scalar, or a nested object or array), even when it is unterminated. A PATCH
// operation whose path names a secret ({"op":"replace","path":"password","value":…})
// has its value replaced too. Everything else is copied byte for byte.
func redactJSON(b []byte) []byte {
	if len(b) == 0 {
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
