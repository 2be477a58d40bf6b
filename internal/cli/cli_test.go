package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	if os.Getenv("CALIBRATED_TEST_POSTGRES") == "" {
		if os.Getenv("CALIBRATED_TEST_REQUIRE") == "1" {
			t.Fatal("CALIBRATED_TEST_POSTGRES not set, and CALIBRATED_TEST_REQUIRE=1")
		}
		t.Skip("CALIBRATED_TEST_POSTGRES not set")
	}
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"demo", "-duration", "2s", "-clients", "4"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("demo exited %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "PASSED") {
		t.Fatalf("no verdict:\n%s", out.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), nil, &out, &errb); code != ExitUsage {
		t.Errorf("no args: exit %d", code)
	}
	if code := Main(context.Background(), []string{"nope"}, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Errorf("unknown command: exit %d, %q", code, errb.String())
	}
	if code := Main(context.Background(), []string{"demo", "-clients", "0"}, &out, &errb); code != ExitUsage {
		t.Errorf("bad flag value: exit %d", code)
	}
	if code := Main(context.Background(), []string{"demo", "-h"}, &out, &errb); code != ExitOK {
		t.Errorf("demo -h: exit %d", code)
	}
}
