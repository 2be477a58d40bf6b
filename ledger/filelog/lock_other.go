//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package filelog

import (
	"fmt"
	"os"
	"runtime"
)

// TODO(v2): lock with LockFileEx on Windows.
func lockDir(dir string) (*os.File, error) {
	return nil, fmt.Errorf("calibrated: ledger=file is not supported on %s: it needs flock to keep a second process out", runtime.GOOS)
}

func unlockDir(f *os.File) error { return f.Close() }
