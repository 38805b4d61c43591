package scimfilter

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits on the input, so that a hostile filter cannot make the parser or
// anything that walks the tree (an SQL translator, for one) do unbounded work.
const (
	// MaxFilterLength is the longest filter or PATCH path, in bytes, that
	// Parse and ParsePath accept.
	MaxFilterLength = 4096

	// MaxDepth is the deepest nesting of parentheses, "not (...)" and
	// "[...]" that Parse and ParsePath accept.
	MaxDepth = 32
)

// Error is a parse error. Detail is a human sentence naming the problem and
// its position, suitable for the detail of a SCIM invalidFilter or
// invalidPath error.
type Error struct {
	Pos    int    // byte offset in the input
	Detail string // e.g. `unknown operator "eqq" at position 9`
}

// Error returns the Detail.
func (e *Error) Error() string { return e.Detail }

// Parse parses a SCIM filter such as
// `userName eq "bjensen" and emails[type eq "work" and value co "@example.com"]`.
// The input must already be URL-decoded; "+" is not treated as a space.
// Inside the brackets of a value path, attribute paths must be plain
// sub-attribute names (no schema URN, no "."), so a ValuePath's filter only
// ever holds paths of the form AttrPath{Attr: name}.
// Errors are *Error.
func Parse(s string) (Expr, error) {
	if err := checkInput(s, "filter"); err != nil {
		return nil, err
	}
	p := &parser{s: s}
	e, err := p.parseOr(0, false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf(p.pos, "unexpected %s at position %d; expected \"and\", \"or\" or the end of the filter", p.unexpected(), p.pos)
	}
	return e, nil
}

// ParsePath parses a PATCH operation path: an attribute path such as
// `name.givenName`, a value path such as `members[value eq "2819c223"]`
// optionally followed by a sub-attribute as in `emails[type eq "work"].value`,
// or the schema URN of an extension alone, meaning the whole extension.
//
// A URN-qualified path without a sub-attribute is ambiguous: in
// `urn:example:params:ext:color` the last segment may be an attribute of the
// schema "urn:example:params:ext" or part of the schema's own URN. ParsePath
// reads the whole text as a schema URN when the second-to-last segment is a
// version number such as "2.0" (as in
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`), and
// otherwise splits off the last segment as the attribute. Callers that know
// their schemas can recheck a result with no Sub and no Filter by looking up
// URN + ":" + Attr.
// Errors are *Error.
func ParsePath(s string) (Path, error) {
	if err := checkInput(s, "path"); err != nil {
		return Path{}, err
	}
	p := &parser{s: s}
	p.skipSpace()
	start := p.pos
	if isDelim(p.s[p.pos]) {
		return Path{}, p.errorf(p.pos, "expected an attribute path at position %d, found %s", p.pos, p.describe())
	}
	tok := p.scanWord()
	bracket := !p.eof() && p.s[p.pos] == '['
	p.skipSpace()
	// Only a path that is the whole input can be a bare schema URN; before
	// "[" the last segment is always the multi-valued attribute.
	ap, err := p.attrPath(tok, start, false, p.eof())
	if err != nil {
		return Path{}, err
	}
	if !bracket {
		if !p.eof() {
			return Path{}, p.errorf(p.pos, "unexpected %s at position %d; a path is one attribute path, optionally with a value filter in brackets", p.unexpected(), p.pos)
		}
		return Path{AttrPath: ap}, nil
	}
	if ap.Sub != "" {
		return Path{}, p.errorf(p.pos, "a value filter must follow a multi-valued attribute, not the sub-attribute %s, at position %d", quoteWord(ap.String()), p.pos)
	}
	f, err := p.parseBracket(0)
	if err != nil {
		return Path{}, err
	}
	if !p.eof() && p.s[p.pos] == '.' {
		p.pos++
		subStart := p.pos
		sub := p.scanWord()
		if err := p.checkSubName(sub, subStart); err != nil {
			return Path{}, err
		}
		ap.Sub = sub
	}
	p.skipSpace()
	if !p.eof() {
		return Path{}, p.errorf(p.pos, "unexpected %s after \"]\" at position %d; expected \".\" and a sub-attribute name, or the end of the path", p.unexpected(), p.pos)
	}
	return Path{AttrPath: ap, Filter: f}, nil
}

func checkInput(s, what string) *Error {
	if len(s) > MaxFilterLength {
		return &Error{Pos: MaxFilterLength, Detail: fmt.Sprintf("%s is %d bytes long; the limit is %d bytes", what, len(s), MaxFilterLength)}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return &Error{Pos: i, Detail: fmt.Sprintf("%s is not valid UTF-8 at position %d", what, i)}
		}
		i += size
	}
	if strings.Trim(s, " \t") == "" {
		return &Error{Pos: 0, Detail: what + " is empty"}
	}
	return nil
}

type parser struct {
	s   string
	pos int
}

func (p *parser) errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Detail: fmt.Sprintf(format, args...)}
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// isDelim reports whether c ends a word. Everything else, including
// characters that are never valid, is scanned into the word so that errors
// can quote what the client actually sent.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '(', ')', '[', ']', '"':
		return true
	}
	return false
}

// scanWord consumes and returns the run of non-delimiter bytes at the
// current position. Input is valid UTF-8 and delimiters are ASCII, so the
// word never splits a multi-byte character.
func (p *parser) scanWord() string {
	start := p.pos
	for p.pos < len(p.s) && !isDelim(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *parser) peekWord() string {
	save := p.pos
	w := p.scanWord()
	p.pos = save
	return w
}

// describe names what is at the current position, for error messages.
func (p *parser) describe() string {
	if p.eof() {
		return "the end of the input"
	}
	switch c := p.s[p.pos]; c {
	case '"':
		return "a string"
	case '(', ')', '[', ']':
		return fmt.Sprintf("%q", string(c))
	}
	return quoteWord(p.peekWord())
}

// unexpected is describe without the article, for "unexpected ..." sentences.
func (p *parser) unexpected() string {
	switch d := p.describe(); d {
	case "the end of the input":
		return "end of input"
	case "a string":
		return "string"
	default:
		return d
	}
}

// quoteWord quotes w for an error message, shortening it if it is long.
func quoteWord(w string) string {
	const maxLen = 40
	if len(w) > maxLen {
		q := w[:maxLen]
		for !utf8.ValidString(q) {
			q = q[:len(q)-1]
		}
		return fmt.Sprintf("%q...", q)
	}
	return fmt.Sprintf("%q", w)
}

// wordErrorf is errorf for messages that quote the word w. When w contains
// a "+" it adds that "+" is not whitespace: a filter copied from a
// form-encoded query string without decoding is a common client mistake.
func (p *parser) wordErrorf(w string, pos int, format string, args ...any) *Error {
	e := p.errorf(pos, format, args...)
	if strings.Contains(w, "+") {
		e.Detail += `; note that "+" is not whitespace, so decode the query string before parsing`
	}
	return e
}

// parseOr parses a disjunction of conjunctions: "or" binds looser than
// "and", and both associate to the left.
func (p *parser) parseOr(depth int, inBracket bool) (Expr, *Error) {
	left, err := p.parseAnd(depth, inBracket)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		w := p.peekWord()
		if !strings.EqualFold(w, "or") {
			return left, nil
		}
		p.pos += len(w)
		right, err := p.parseAnd(depth, inBracket)
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: "or", Left: left, Right: right}
	}
}

func (p *parser) parseAnd(depth int, inBracket bool) (Expr, *Error) {
	left, err := p.parseUnary(depth, inBracket)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if p.eof() {
			return left, nil
		}
		switch p.s[p.pos] {
		case ')', ']':
			return left, nil
		}
		w := p.peekWord()
		switch {
		case strings.EqualFold(w, "or"):
			return left, nil
		case strings.EqualFold(w, "and"):
			p.pos += len(w)
		case w == "":
			return nil, p.errorf(p.pos, "unexpected %s at position %d; expected \"and\", \"or\" or the end of the expression", p.unexpected(), p.pos)
		default:
			return nil, p.wordErrorf(w, p.pos, "expected \"and\" or \"or\" at position %d, found %s", p.pos, quoteWord(w))
		}
		right, err := p.parseUnary(depth, inBracket)
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: "and", Left: left, Right: right}
	}
}

// parseUnary parses a parenthesized expression, a negation, a comparison or
// (outside brackets) a value path.
func (p *parser) parseUnary(depth int, inBracket bool) (Expr, *Error) {
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "unexpected end of input at position %d; expected an attribute path, \"(\" or \"not\"", p.pos)
	}
	switch p.s[p.pos] {
	case '(':
		return p.parseGroup(depth, inBracket)
	case ')', ']', '[', '"':
		return nil, p.errorf(p.pos, "unexpected %s at position %d; expected an attribute path, \"(\" or \"not\"", p.unexpected(), p.pos)
	}
	start := p.pos
	w := p.scanWord()
	// "not" is reserved at the start of an expression: the RFC requires
	// parentheses after it, so an attribute named "not" could only be told
	// apart by guessing.
	if strings.EqualFold(w, "not") {
		p.skipSpace()
		if p.eof() || p.s[p.pos] != '(' {
			return nil, p.errorf(p.pos, "expected \"(\" after %q at position %d, found %s", w, p.pos, p.describe())
		}
		x, err := p.parseGroup(depth, inBracket)
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	return p.parseAttrExpr(w, start, depth, inBracket)
}

// parseGroup parses "(" expression ")" starting at the "(".
func (p *parser) parseGroup(depth int, inBracket bool) (Expr, *Error) {
	open := p.pos
	if depth >= MaxDepth {
		return nil, p.errorf(open, "expression nests more than %d levels deep at position %d", MaxDepth, open)
	}
	p.pos++
	e, err := p.parseOr(depth+1, inBracket)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "missing closing parenthesis for the \"(\" at position %d", open)
	}
	if p.s[p.pos] != ')' {
		return nil, p.errorf(p.pos, "unexpected %s at position %d; expected \")\" to close the \"(\" at position %d", p.unexpected(), p.pos, open)
	}
	p.pos++
	return e, nil
}

// parseBracket parses "[" valFilter "]" starting at the "[".
func (p *parser) parseBracket(depth int) (Expr, *Error) {
	open := p.pos
	if depth >= MaxDepth {
		return nil, p.errorf(open, "expression nests more than %d levels deep at position %d", MaxDepth, open)
	}
	p.pos++
	e, err := p.parseOr(depth+1, true)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "missing closing bracket for the \"[\" at position %d", open)
	}
	if p.s[p.pos] != ']' {
		return nil, p.errorf(p.pos, "unexpected %s at position %d; expected \"]\" to close the \"[\" at position %d", p.unexpected(), p.pos, open)
	}
	p.pos++
	return e, nil
}

// parseAttrExpr parses what follows an attribute path word: a value filter
// in brackets, or an operator and its value.
func (p *parser) parseAttrExpr(w string, start, depth int, inBracket bool) (Expr, *Error) {
	path, err := p.attrPath(w, start, inBracket, false)
	if err != nil {
		return nil, err
	}
	if !p.eof() && p.s[p.pos] == '[' {
		if inBracket {
			return nil, p.errorf(p.pos, "value filters cannot be nested: unexpected \"[\" at position %d", p.pos)
		}
		if path.Sub != "" {
			return nil, p.errorf(p.pos, "a value filter must follow a multi-valued attribute, not the sub-attribute %s, at position %d", quoteWord(path.String()), p.pos)
		}
		f, err := p.parseBracket(depth)
		if err != nil {
			return nil, err
		}
		if !p.eof() && p.s[p.pos] == '.' {
			return p.parseValuePathCompare(path, f)
		}
		return &ValuePath{Path: path, Filter: f}, nil
	}
	return p.parseCompare(path, w)
}

// parseValuePathCompare parses the ".sub op value" after `attr[filter]`, as in
// `emails[type eq "work"].value eq "x"`. RFC 7644's filter grammar has no such form,
// but Microsoft Entra ID and its SCIM validator send it to match users on a work email,
// so it is read as what it means: an element that passes the value filter and whose
// sub-attribute compares true, `emails[type eq "work" and value eq "x"]`.
func (p *parser) parseValuePathCompare(path AttrPath, f Expr) (Expr, *Error) {
	p.pos++ // the "."
	start := p.pos
	sub := p.scanWord()
	if err := p.checkSubName(sub, start); err != nil {
		return nil, err
	}
	c, err := p.parseCompare(AttrPath{Attr: sub}, sub)
	if err != nil {
		return nil, err
	}
	return &ValuePath{Path: path, Filter: &Logical{Op: "and", Left: f, Right: c}}, nil
}

// parseCompare parses the operator and value after the attribute path word w.
func (p *parser) parseCompare(path AttrPath, w string) (Expr, *Error) {
	p.skipSpace()
	opPos := p.pos
	op := p.scanWord()
	if op == "" {
		return nil, p.errorf(p.pos, "expected an operator after %s at position %d, found %s", quoteWord(w), p.pos, p.describe())
	}
	lop := strings.ToLower(op)
	switch lop {
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	case "pr":
		if err := p.checkNoValueAfterPr(op); err != nil {
			return nil, err
		}
		return &Compare{Path: path, Op: lop}, nil
	default:
		return nil, p.wordErrorf(op, opPos, "unknown operator %s at position %d", quoteWord(op), opPos)
	}

	p.skipSpace()
	valPos := p.pos
	if p.eof() || p.s[p.pos] == ')' || p.s[p.pos] == ']' {
		return nil, p.errorf(p.pos, "expected a value after %q at position %d", op, p.pos)
	}
	v, err := p.parseValue(op)
	if err != nil {
		return nil, err
	}
	switch lop {
	case "gt", "ge", "lt", "le":
		switch v.(type) {
		case bool:
			return nil, p.errorf(valPos, "operator %q cannot compare with a boolean at position %d; use a string or a number", op, valPos)
		case nil:
			return nil, p.errorf(valPos, "operator %q cannot compare with null at position %d; use a string or a number", op, valPos)
		}
	case "co", "sw", "ew":
		if _, ok := v.(string); !ok {
			return nil, p.errorf(valPos, "operator %q needs a string value, found %s at position %d", op, valueKind(v), valPos)
		}
	}
	return &Compare{Path: path, Op: lop, Value: v}, nil
}

func valueKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case nil:
		return "null"
	case json.Number:
		return "a number"
	}
	return "a string"
}

// checkNoValueAfterPr gives a precise error for `title pr "x"`, which would
// otherwise be reported as a missing "and" or "or".
func (p *parser) checkNoValueAfterPr(op string) *Error {
	save := p.pos
	defer func() { p.pos = save }()
	p.skipSpace()
	if p.eof() {
		return nil
	}
	looksLikeValue := p.s[p.pos] == '"'
	if !looksLikeValue {
		w := p.peekWord()
		switch strings.ToLower(w) {
		case "true", "false", "null":
			looksLikeValue = true
		default:
			looksLikeValue = w != "" && (w[0] == '-' || isDigit(w[0]))
		}
	}
	if looksLikeValue {
		return p.errorf(p.pos, "unexpected value after %q at position %d; the presence operator takes no value", op, p.pos)
	}
	return nil
}

// parseValue parses a comparison value: a JSON string, number, true, false
// or null, or a bare string (see isBareString).
func (p *parser) parseValue(op string) (any, *Error) {
	if p.s[p.pos] == '"' {
		return p.parseString()
	}
	start := p.pos
	w := p.scanWord()
	switch strings.ToLower(w) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	case "":
		return nil, p.errorf(start, "expected a value after %q at position %d, found %s", op, start, p.describe())
	}
	if isJSONNumber(w) {
		return json.Number(w), nil
	}
	if isBareString(w) {
		return w, nil
	}
	if w[0] == '-' || w[0] == '+' || w[0] == '.' || isDigit(w[0]) {
		return nil, p.wordErrorf(w, start, "invalid number %s at position %d", quoteWord(w), start)
	}
	return nil, p.wordErrorf(w, start, "invalid value %s at position %d; expected a quoted string, a number, true, false or null", quoteWord(w), start)
}

// isBareString reports whether the unquoted value w, which is not true, false,
// null or a number, is read as a string. RFC 7644 requires strings to be quoted,
// but Microsoft Entra ID's reference tests send `userName sw O`,
// `name.familyName eq Employee` and `meta.created gt 2015-10-10T14:38:21.8617979-07:00`.
// So a word that starts with a letter is a string, unless it is "and", "or" or "not"
// (most likely a value left out, as in `userName eq and title pr`), and so is a word
// that is a date-time (RFC 3339, fractional seconds of any length, or a date alone).
// Anything else stays an error: `'x'`, `01`, `.5`, `+5` and words holding control
// characters are not guesses worth making.
func isBareString(w string) bool {
	for _, r := range w {
		if unicode.IsControl(r) {
			return false
		}
	}
	r, _ := utf8.DecodeRuneInString(w)
	switch {
	case unicode.IsLetter(r):
		switch strings.ToLower(w) {
		case "and", "or", "not":
			return false
		}
		return true
	case isDigit(w[0]):
		return isDateTime(w)
	}
	return false
}

// isDateTime reports whether w is an RFC 3339 date-time (any number of fractional
// digits), one without a time zone, or a full date.
func isDateTime(w string) bool {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if _, err := time.Parse(layout, w); err == nil {
			return true
		}
	}
	return false
}

// parseString decodes a JSON string literal starting at its opening quote.
func (p *parser) parseString() (string, *Error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errorf(start, "unterminated string starting at position %d", start)
		}
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c < 0x20:
			return "", p.errorf(p.pos, "control character %q in string at position %d; escape it as \\u%04x", string(c), p.pos, c)
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		esc := p.pos
		p.pos++
		if p.eof() {
			return "", p.errorf(start, "unterminated string starting at position %d", start)
		}
		switch c := p.s[p.pos]; c {
		case '"', '\\', '/':
			b.WriteByte(c)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4(p.pos + 1)
			if !ok {
				return "", p.errorf(esc, "invalid \\u escape in string at position %d; expected four hex digits", esc)
			}
			if r == 0 {
				// No stored value can hold NUL, so no filter may compare with one.
				return "", p.errorf(esc, "\\u0000 (NUL) at position %d is not allowed in a string", esc)
			}
			p.pos += 4
			// A surrogate pair encodes one character; an unpaired surrogate
			// becomes U+FFFD, as encoding/json does.
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if p.pos+2 < len(p.s) && p.s[p.pos+1] == '\\' && p.s[p.pos+2] == 'u' {
					r2, ok = p.hex4(p.pos + 3)
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					p.pos += 6
				} else {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default:
			_, size := utf8.DecodeRuneInString(p.s[p.pos:])
			return "", p.errorf(esc, "invalid escape %q in string at position %d", p.s[esc:p.pos+size], esc)
		}
		p.pos++
	}
}

func (p *parser) hex4(at int) (rune, bool) {
	if at+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[at : at+4]) {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// isJSONNumber reports whether s is a number in RFC 8259 syntax:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isAttrName reports whether s matches ATTRNAME = ALPHA *(nameChar),
// nameChar = "-" / "_" / DIGIT / ALPHA.
func isAttrName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// isRef reports whether s is "$ref", the one sub-attribute name RFC 7643
// allows outside the ATTRNAME grammar (for reference attributes such as
// members.$ref).
func isRef(s string) bool { return strings.EqualFold(s, "$ref") }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// attrPath splits and checks the attribute path word w, which starts at
// byte offset start. Inside brackets (relative) only a plain sub-attribute
// name is allowed, so that callers can rely on URN and Sub being empty there.
// schemaOnly lets a PATCH path consisting of just a schema URN through.
func (p *parser) attrPath(w string, start int, relative, schemaOnly bool) (AttrPath, *Error) {
	for i := 0; i < len(w); {
		c := w[i]
		if isAlpha(c) || isDigit(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '$' {
			i++
			continue
		}
		r, _ := utf8.DecodeRuneInString(w[i:])
		return AttrPath{}, p.wordErrorf(w, start+i, "invalid character %q in attribute path %s at position %d", r, quoteWord(w), start+i)
	}
	if relative {
		if !isAttrName(w) && !isRef(w) {
			if strings.ContainsAny(w, ".:") {
				return AttrPath{}, p.errorf(start, "attribute %s at position %d must be a plain sub-attribute name inside \"[...]\", without a schema URN or a \".\"", quoteWord(w), start)
			}
			return AttrPath{}, p.badName(w, start, "attribute")
		}
		return AttrPath{Attr: w}, nil
	}
	if !hasPrefixFold(w, "urn:") {
		if i := strings.IndexByte(w, ':'); i >= 0 {
			return AttrPath{}, p.errorf(start+i, "unexpected \":\" at position %d in attribute path %s, which does not start with a schema URN (\"urn:\")", start+i, quoteWord(w))
		}
		attr, sub, err := p.nameSub(w, start)
		return AttrPath{Attr: attr, Sub: sub}, err
	}
	i := strings.LastIndexByte(w, ':')
	urn, rest := w[:i], w[i+1:]
	if schemaOnly && !strings.Contains(rest, ".") && isVersion(urn[strings.LastIndexByte(urn, ':')+1:]) {
		if !isURN(w) {
			return AttrPath{}, p.errorf(start, "invalid schema URN %s at position %d", quoteWord(w), start)
		}
		return AttrPath{URN: w}, nil
	}
	if !isURN(urn) {
		return AttrPath{}, p.errorf(start, "invalid schema URN %s at position %d; expected \"urn:\", a namespace and at least one more segment before the attribute name", quoteWord(urn), start)
	}
	if rest == "" {
		return AttrPath{}, p.errorf(start+len(w), "missing attribute name after schema URN %s at position %d", quoteWord(urn), start+len(w))
	}
	attr, sub, err := p.nameSub(rest, start+i+1)
	return AttrPath{URN: urn, Attr: attr, Sub: sub}, err
}

// nameSub splits `name` or `name.sub` and checks both names.
func (p *parser) nameSub(s string, start int) (attr, sub string, err *Error) {
	attr, sub, dot := strings.Cut(s, ".")
	if !isAttrName(attr) {
		return "", "", p.badName(attr, start, "attribute")
	}
	if !dot {
		return attr, "", nil
	}
	if err := p.checkSubName(sub, start+len(attr)+1); err != nil {
		return "", "", err
	}
	return attr, sub, nil
}

func (p *parser) checkSubName(sub string, start int) *Error {
	if j := strings.IndexByte(sub, '.'); j == 0 {
		return p.badName("", start, "sub-attribute")
	} else if j > 0 {
		return p.errorf(start+j, "unexpected \".\" at position %d; an attribute path has at most one sub-attribute", start+j)
	}
	if !isAttrName(sub) && !isRef(sub) {
		return p.badName(sub, start, "sub-attribute")
	}
	return nil
}

func (p *parser) badName(name string, pos int, kind string) *Error {
	if name == "" {
		return p.errorf(pos, "missing %s name at position %d", kind, pos)
	}
	return p.wordErrorf(name, pos, "invalid %s name %s at position %d; a name starts with a letter and contains only letters, digits, \"-\" and \"_\"", kind, quoteWord(name), pos)
}

// isVersion reports whether seg looks like a schema version such as "2.0".
func isVersion(seg string) bool {
	if seg == "" || !isDigit(seg[0]) || !isDigit(seg[len(seg)-1]) || strings.Contains(seg, "..") {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if !isDigit(seg[i]) && seg[i] != '.' {
			return false
		}
	}
	return true
}

// isURN reports whether s is "urn:", a namespace identifier (RFC 8141: 2 to
// 32 letters, digits and hyphens, not starting or ending with a hyphen) and
// at least one more non-empty colon-separated segment of letters, digits,
// ".", "-" and "_", which covers every SCIM schema URN.
func isURN(s string) bool {
	if !hasPrefixFold(s, "urn:") {
		return false
	}
	segs := strings.Split(s[len("urn:"):], ":")
	if len(segs) < 2 {
		return false
	}
	nid := segs[0]
	if len(nid) < 2 || len(nid) > 32 || nid[0] == '-' || nid[len(nid)-1] == '-' {
		return false
	}
	for i := 0; i < len(nid); i++ {
		if c := nid[i]; !isAlpha(c) && !isDigit(c) && c != '-' {
			return false
		}
	}
	for _, seg := range segs[1:] {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isAlpha(c) && !isDigit(c) && c != '.' && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}
