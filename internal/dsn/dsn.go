// Package dsn holds the syntax of calibrated's DSN: key=value pairs,
// single-quoted values, and the redaction of passwords wherever a DSN or a
// backend URL may be quoted. What the keys mean is the driver's Config.
package dsn

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ConfigError reports a bad DSN or Config: the key at fault and why.
type ConfigError struct {
	Key string // the DSN key, e.g. "read" or "db.east"; "" for the DSN as a whole
	Err error
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return "calibrated: " + e.Err.Error()
	}
	return fmt.Sprintf("calibrated: %q: %v", e.Key, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ErrNotSupported is wrapped by a ConfigError for values that a later version will accept.
var ErrNotSupported = errors.New("not supported yet")

// Pair is one key=value of a DSN.
type Pair struct {
	Key, Value string
	Start, End int // the value's span in the DSN, quotes included
}

// Split splits a DSN into its pairs, unquoting values.
func Split(s string) ([]Pair, error) {
	var pairs []Pair
	i := 0
	for {
		for i < len(s) && (IsSpace(s[i]) || s[i] == ';') {
			i++
		}
		if i == len(s) {
			return pairs, nil
		}
		k := i
		for i < len(s) && !IsSpace(s[i]) && s[i] != ';' && s[i] != '=' {
			i++
		}
		key := s[k:i]
		if !IsKey(key) {
			// Don't quote the text: it may be the tail of a password cut by a space.
			return nil, &ConfigError{Err: fmt.Errorf("malformed DSN at byte %d: want key=value pairs; single-quote values that contain whitespace or ';'", k)}
		}
		for i < len(s) && IsSpace(s[i]) {
			i++
		}
		if i == len(s) || s[i] != '=' {
			return nil, &ConfigError{Key: key, Err: errors.New(`missing "=" after key`)}
		}
		i++
		for i < len(s) && IsSpace(s[i]) {
			i++
		}
		p := Pair{Key: key, Start: i}
		if i < len(s) && s[i] == '\'' {
			var b strings.Builder
			for i++; ; i++ {
				if i == len(s) {
					return nil, &ConfigError{Key: key, Err: errors.New("unterminated quoted value")}
				}
				c := s[i]
				if c == '\\' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '\\') {
					i++
					c = s[i]
				} else if c == '\'' {
					break
				}
				b.WriteByte(c)
			}
			i++
			if i < len(s) && !IsSpace(s[i]) && s[i] != ';' {
				return nil, &ConfigError{Key: key, Err: errors.New("want whitespace or ';' after quoted value")}
			}
			p.Value = b.String()
		} else {
			for i < len(s) && !IsSpace(s[i]) && s[i] != ';' {
				i++
			}
			p.Value = s[p.Start:i]
		}
		p.End = i
		pairs = append(pairs, p)
	}
}

// Quote returns v as a DSN value, single-quoted if Split needs it to be.
func Quote(v string) string {
	if v != "" && !strings.ContainsFunc(v, func(r rune) bool {
		return r < 0x80 && (IsSpace(byte(r)) || r == ';' || r == '\'' || r == '\\')
	}) {
		return v
	}
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(v); i++ {
		if v[i] == '\'' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// IsSpace reports whether c separates DSN pairs: ASCII whitespace, as in libpq.
func IsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func Trim(s string) string { return strings.Trim(s, " \t\n\v\f\r") }

// IsName reports whether s is a legal backend name: [A-Za-z0-9_-]+.
func IsName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-')
	})
}

// IsKey reports whether s could be a DSN key: a name, possibly dotted.
func IsKey(s string) bool {
	return s != "" && !slices.ContainsFunc(strings.Split(s, "."), func(p string) bool { return p != "" && !IsName(p) })
}

const redactedPassword = "xxxxx"

// Redact returns s with every password replaced by "xxxxx": the password in
// URL userinfo ("postgres://u:PW@h"), in go-sql-driver DSNs
// ("u:PW@tcp(h:3306)/db"), and the value of any key ending in "password" in
// libpq conninfo ("host=h password=PW") or a URL query ("?password=PW").
// A calibrated DSN is redacted value by value, so passwords nested in its
// quoted backend URLs are found too. Use it on anything that may quote a DSN
// before it reaches an error or a log.
func Redact(s string) string { return redactIn(s, false) }

// redactIn redacts s; whole says s is one DSN value, such as a URL, which may
// contain spaces, rather than free text.
func redactIn(s string, whole bool) string {
	if pairs, err := Split(s); err == nil && len(pairs) > 0 {
		return redactPairs(s, pairs)
	}
	// Userinfo first: a password may itself contain "password=".
	if !whole {
		s = redactUserinfo(s)
	} else if lo, hi := passwordSpan(s); lo < hi {
		s = s[:lo] + redactedPassword + s[hi:]
	}
	return redactKeyValues(s)
}

// redactPairs redacts a string that parses as key=value pairs: password
// values whole, others recursively (each value is shorter than s).
func redactPairs(s string, pairs []Pair) string {
	var b strings.Builder
	last := 0
	for _, p := range pairs {
		v := redactedPassword
		if !hasSuffixFold(p.Key, "password") {
			v = redactIn(p.Value, true)
		}
		if v == p.Value {
			continue
		}
		b.WriteString(s[last:p.Start])
		b.WriteString(Quote(v))
		last = p.End
	}
	b.WriteString(s[last:])
	return b.String()
}

// redactKeyValues redacts password=VALUE wherever it appears in free text.
func redactKeyValues(s string) string {
	const key = "password"
	var b strings.Builder
	last := 0
	for i := 0; i+len(key) <= len(s); i++ {
		if !strings.EqualFold(s[i:i+len(key)], key) {
			continue
		}
		j := i + len(key)
		for j < len(s) && IsSpace(s[j]) {
			j++
		}
		if j == len(s) || s[j] != '=' {
			continue
		}
		j++
		for j < len(s) && IsSpace(s[j]) {
			j++
		}
		inQuery := i > 0 && (s[i-1] == '?' || s[i-1] == '&')
		lo, hi := valueSpan(s, j, inQuery)
		if lo == hi {
			continue
		}
		b.WriteString(s[last:lo])
		b.WriteString(redactedPassword)
		last, i = hi, hi-1
	}
	b.WriteString(s[last:])
	return b.String()
}

// valueSpan returns where the value starting at s[j] lies, inside its quotes
// if it has any: '...', "...", or \'...\' (a quoted value nested in a quoted value).
func valueSpan(s string, j int, inQuery bool) (lo, hi int) {
	if strings.HasPrefix(s[j:], `\'`) {
		if k := strings.Index(s[j+2:], `\'`); k >= 0 {
			return j + 2, j + 2 + k
		}
		return j + 2, len(s)
	}
	if j < len(s) && (s[j] == '\'' || s[j] == '"') {
		for k := j + 1; k < len(s); k++ {
			switch s[k] {
			case '\\':
				k++
			case s[j]:
				return j + 1, k
			}
		}
		return j + 1, len(s)
	}
	k := j
	for k < len(s) && !IsSpace(s[k]) && !strings.ContainsRune(`;'"`, rune(s[k])) && !(inQuery && (s[k] == '&' || s[k] == '#')) {
		k++
	}
	return j, k
}

// redactUserinfo redacts the password of every URL or go-sql-driver DSN in s,
// taking each run of characters without whitespace, quotes or ';' in turn.
func redactUserinfo(s string) string {
	isDelim := func(c byte) bool { return IsSpace(c) || c == '\'' || c == '"' || c == '`' || c == ';' }
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		for i < len(s) && isDelim(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isDelim(s[j]) {
			j++
		}
		if lo, hi := passwordSpan(s[i:j]); lo < hi {
			b.WriteString(s[last : i+lo])
			b.WriteString(redactedPassword)
			last = i + hi
		}
		i = j
	}
	b.WriteString(s[last:])
	return b.String()
}

// passwordSpan finds the password in a token "scheme://user:PW@host/..." or
// "user:PW@net(addr)/db". In an RFC 3986 URL the userinfo cannot contain
// '/', '?' or '#'; go-sql-driver takes the last '@' before the last '/'.
func passwordSpan(tok string) (lo, hi int) {
	start, end := 0, len(tok)
	scheme, rest, isURL := strings.Cut(tok, "://")
	if isURL {
		start = len(scheme) + 3
	}
	if isURL && !hasSuffixFold(scheme, "mysql") {
		if k := strings.IndexAny(rest, "/?#"); k >= 0 {
			end = start + k
		}
	} else if k := strings.LastIndexByte(tok[start:], '/'); k >= 0 {
		end = start + k
	}
	at := strings.LastIndexByte(tok[start:end], '@')
	if at < 0 {
		return 0, 0
	}
	colon := strings.IndexByte(tok[start:start+at], ':')
	if colon < 0 {
		return 0, 0
	}
	return start + colon + 1, start + at
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
