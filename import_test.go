package calibrated_test

import (
	"flag"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	_ "github.com/calibrated/calibrated"
	_ "github.com/calibrated/calibrated/sqlite"
)

// TestImportHasNoSideEffects: importing the driver (and its SQLite
// backends) registers no flags and starts no goroutines. It looks from a
// fresh process, where no other test has run.
func TestImportHasNoSideEffects(t *testing.T) {
	if os.Getenv("CALIBRATED_IMPORT_CHECK") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestImportHasNoSideEffects$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CALIBRATED_IMPORT_CHECK=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Name, "test.") {
			t.Errorf("importing the driver defined the flag -%s", f.Name)
		}
	})
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "calibrated/calibrated") && !strings.Contains(g, "TestImportHasNoSideEffects") {
			t.Errorf("a goroutine of the driver runs at import:\n%s", g)
		}
	}
}
