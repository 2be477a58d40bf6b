//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package filelog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes an exclusive flock on dir's LOCK file and writes our pid
// into it, for the error another process gets. The kernel drops the lock
// when the process dies, so a crash leaves nothing to clean up.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("calibrated: locking the ledger: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = "process " + strconv.Itoa(pid)
				if pid == os.Getpid() {
					holder = "this process"
				}
			}
		}
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s is open in %s", ErrLocked, dir, holder)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("calibrated: locking the ledger: %w", err)
	}
	// The pid is a hint for that message only; failing to write it is harmless.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func unlockDir(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, f.Close())
}
