package engine

import (
	"regexp"
	"strings"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

// fkChecksSet matches MySQL's SET [SESSION] FOREIGN_KEY_CHECKS = 0|1|ON|OFF,
// which GORM's MySQL migrator sends on one connection around DropTable.
var fkChecksSet = regexp.MustCompile(`(?i)^\s*SET\s+(?:SESSION\s+|@@(?:SESSION\.)?)?FOREIGN_KEY_CHECKS\s*=\s*(0|1|ON|OFF)\s*;?\s*$`)

// setFKChecks reports whether query switches MySQL's foreign key checks,
// and records the switch on c. Outside a transaction a session statement
// would reach one pooled backend connection and vanish; this one the conn
// remembers instead, and the DDL it sends while the checks are off carries
// the switch to every backend (see [withoutFKChecks]).
func (c *Session) setFKChecks(query string) bool {
	if c.e.cfg.Dialect != "mysql" {
		return false
	}
	m := fkChecksSet.FindStringSubmatch(query)
	if m == nil {
		return false
	}
	c.fkOff = m[1] == "0" || strings.EqualFold(m[1], "OFF")
	return true
}

// withoutFKChecks makes p, sent while the conn's foreign key checks are
// off, run on every backend with the checks off, and turn them back on
// after it on the applier's connection. Only DDL may: a write that skips
// the checks could leave rows on one backend that another refuses.
func withoutFKChecks(p *plan) error {
	if p.a.Kind != router.DDL {
		return &UnsupportedError{What: "a write with FOREIGN_KEY_CHECKS = 0 (" + p.a.Text + ")",
			Fix: "turn the checks back on first; with them off calibrated orders only DDL, such as GORM's DropTable"}
	}
	p.pre = append([]ledger.Stmt{{SQL: "SET FOREIGN_KEY_CHECKS = 0"}}, p.pre...)
	p.restore = append(p.restore, ledger.Stmt{SQL: "SET FOREIGN_KEY_CHECKS = 1"})
	return nil
}
