package dbtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// NATSLedger returns the URL of a fresh ledger, nats://host:4222/NAME, on
// the NATS server CALIBRATED_TEST_NATS names; its stream is deleted when t
// ends. The caller adds the ledger's options (durability=relaxed for the
// shared test server, which syncs on its default timer).
func NATSLedger(t testing.TB) (url, name string) {
	t.Helper()
	server := NATS(t)
	name = Name("CALTEST_")
	t.Cleanup(func() { DeleteStream(t, server, name) })
	return server + "/" + name, name
}

// DeleteStream deletes stream name on the NATS server at server, if it is
// there.
func DeleteStream(t testing.TB, server, name string) {
	nc, err := nats.Connect(server)
	if err != nil {
		t.Errorf("delete stream %s: %v", name, err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = js.DeleteStream(ctx, name)
	}
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("delete stream %s: %v", name, err)
	}
}

// RedisLedger returns the URL of a fresh ledger, redis://host:6379/NAME, on
// the Redis server CALIBRATED_TEST_REDIS names; its keys are deleted when
// t ends.
func RedisLedger(t testing.TB) string {
	t.Helper()
	server, name := Redis(t), Name("caltest_")
	t.Cleanup(func() {
		opt, err := redis.ParseURL(server)
		if err != nil {
			t.Errorf("delete ledger %s: %v", name, err)
			return
		}
		c := redis.NewClient(opt)
		defer c.Close()
		if err := c.Del(context.Background(), "calibrated:{"+name+"}", "calibrated:{"+name+"}:meta").Err(); err != nil {
			t.Errorf("delete ledger %s: %v", name, err)
		}
	})
	return server + "/" + name
}
