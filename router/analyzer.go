package router

import (
	"container/list"
	"fmt"
	"sync"
)

// Analyzer analyses statement texts of one dialect and keeps the most
// recently used analyses. It is safe for concurrent use.
type Analyzer struct {
	parse func(text string) (*Analysis, error)
	size  int

	mu    sync.Mutex
	order *list.List               // of *entry, most recently used first
	byKey map[string]*list.Element // text -> element of order
}

type entry struct {
	text string
	a    *Analysis
	err  error
}

// NewAnalyzer returns an Analyzer for dialect ("postgres", "mysql" or
// "sqlite") that caches the analyses of up to cacheSize texts; cacheSize < 1
// disables the cache.
func NewAnalyzer(dialect string, cacheSize int) (*Analyzer, error) {
	var parse func(string) (*Analysis, error)
	switch dialect {
	case "postgres", "postgresql":
		parse = parsePostgres
	case "mysql":
		parse = parseMySQL
	case "sqlite":
		parse = parseSQLite
	default:
		return nil, fmt.Errorf("calibrated: SQL dialect %q is not supported yet; supported: postgres, mysql, sqlite", dialect)
	}
	return &Analyzer{
		parse: parse,
		size:  max(cacheSize, 0),
		order: list.New(),
		byKey: make(map[string]*list.Element),
	}, nil
}

// Analyze returns the analysis of text, a *[ParseError] if the dialect's
// parser rejects it. Both are cached by the exact text; the *Analysis is
// shared and must not be modified.
func (az *Analyzer) Analyze(text string) (*Analysis, error) {
	if az.size == 0 {
		return az.parse(text)
	}
	az.mu.Lock()
	if el, ok := az.byKey[text]; ok {
		if e, ok := el.Value.(*entry); ok {
			az.order.MoveToFront(el)
			az.mu.Unlock()
			return e.a, e.err
		}
	}
	az.mu.Unlock()

	a, err := az.parse(text)

	az.mu.Lock()
	defer az.mu.Unlock()
	if el, ok := az.byKey[text]; ok { // analysed concurrently: keep one copy
		if e, ok := el.Value.(*entry); ok {
			return e.a, e.err
		}
	}
	az.byKey[text] = az.order.PushFront(&entry{text: text, a: a, err: err})
	for az.order.Len() > az.size {
		last := az.order.Back()
		if e, ok := last.Value.(*entry); ok {
			delete(az.byKey, e.text)
		}
		az.order.Remove(last)
	}
	return a, err
}
