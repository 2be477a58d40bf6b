package memlog_test

import (
	"testing"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/ledgertest"
	"github.com/calibrated/calibrated/ledger/memlog"
)

func TestLog(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Log { return memlog.New() })
}
