package router

import pg "github.com/pganalyze/pg_query_go/v6"

// SplitPostgres returns the statements of a PostgreSQL text that holds
// several, each as written.
func SplitPostgres(text string) ([]string, error) {
	parts, err := pg.SplitWithParser(text, true)
	if err != nil {
		return nil, &ParseError{Text: text, Err: err}
	}
	return parts, nil
}
