package calibrated

import "strings"

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
	if pairs, err := splitPairs(s); err == nil && len(pairs) > 0 {
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
func redactPairs(s string, pairs []dsnPair) string {
	var b strings.Builder
	last := 0
	for _, p := range pairs {
		v := redactedPassword
		if !hasSuffixFold(p.key, "password") {
			v = redactIn(p.value, true)
		}
		if v == p.value {
			continue
		}
		b.WriteString(s[last:p.start])
		b.WriteString(quoteValue(v))
		last = p.end
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
		for j < len(s) && isDSNSpace(s[j]) {
			j++
		}
		if j == len(s) || s[j] != '=' {
			continue
		}
		j++
		for j < len(s) && isDSNSpace(s[j]) {
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
	for k < len(s) && !isDSNSpace(s[k]) && !strings.ContainsRune(`;'"`, rune(s[k])) && !(inQuery && (s[k] == '&' || s[k] == '#')) {
		k++
	}
	return j, k
}

// redactUserinfo redacts the password of every URL or go-sql-driver DSN in s,
// taking each run of characters without whitespace, quotes or ';' in turn.
func redactUserinfo(s string) string {
	isDelim := func(c byte) bool { return isDSNSpace(c) || c == '\'' || c == '"' || c == '`' || c == ';' }
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
