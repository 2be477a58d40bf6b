package engine

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestEngineKnowsNoDriver: the engine does not import database/sql/driver;
// turning driver calls into engine calls is the root package's job.
func TestEngineKnowsNoDriver(t *testing.T) {
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		n++
		ast, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == "database/sql/driver" {
				t.Errorf("%s imports database/sql/driver", name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no source files found")
	}
}
