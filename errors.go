package calibrated

import (
	"errors"
	"fmt"
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

// errNotSupported is wrapped by a ConfigError for values that a later version will accept.
var errNotSupported = errors.New("not supported yet")
