package router

import (
	"errors"
	"testing"
)

func FuzzAnalyze(f *testing.F) {
	for _, line := range corpusLines(f) {
		f.Add(line)
	}
	az := newAnalyzer(f)
	f.Fuzz(func(t *testing.T, text string) {
		a, err := az.Analyze(text)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		if a.Kind == 0 || a.Text != text {
			t.Fatalf("Analyze(%q) = kind %v, text %q", text, a.Kind, a.Text)
		}
		rw, err := a.Rewritten()
		var ue *UnsafeError
		switch {
		case err != nil && !errors.As(err, &ue):
			t.Fatalf("Rewritten: %v is not an *UnsafeError", err)
		case rw != nil:
			if b, err := az.Analyze(rw.Text); err != nil || b.NumParams != a.NumParams+len(rw.Gens) {
				t.Fatalf("rewrite %q of %q: %v", rw.Text, text, err)
			}
		}
		vals := make([]any, min(a.NumParams, 1<<16))
		for i := range vals {
			vals[i] = int64(i % 3)
		}
		if _, err := a.Keys(schema, args(vals...)); err != nil && len(vals) == a.NumParams {
			t.Fatalf("Keys: %v", err)
		}
	})
}
