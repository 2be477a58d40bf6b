package calibrated

import "github.com/calibrated/calibrated/internal/dsn"

// Redact returns s with every password replaced by "xxxxx": the password in
// URL userinfo ("postgres://u:PW@h"), in go-sql-driver DSNs
// ("u:PW@tcp(h:3306)/db"), and the value of any key ending in "password" in
// libpq conninfo ("host=h password=PW") or a URL query ("?password=PW").
// A calibrated DSN is redacted value by value, so passwords nested in its
// quoted backend URLs are found too. Use it on anything that may quote a DSN
// before it reaches an error or a log.
func Redact(s string) string { return dsn.Redact(s) }
