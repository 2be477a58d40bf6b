package calibrated

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dsn"
)

// goodDSNs pairs DSNs with their canonical FormatDSN output.
var goodDSNs = []struct{ dsn, canonical string }{
	{"db.a=postgres://u@h/db", "db.a=postgres://u@h/db"},
	{
		"db.east=postgres://app@10.0.0.1/shop db.west=postgres://app@10.0.0.2/shop ledger=local",
		"db.east=postgres://app@10.0.0.1/shop db.west=postgres://app@10.0.0.2/shop",
	},
	{" ;db.a = 'postgres://u@h/db' ;read=a;;conflict =\treject\n", "db.a=postgres://u@h/db conflict=reject read=a"},
	{"db.a=pq:postgres://u@h/db db.b=postgresql://u@h2/db?sslmode=disable", "db.a=pq:postgres://u@h/db db.b=postgresql://u@h2/db?sslmode=disable"},
	{"db.m=mysql://u:pw@tcp(h:3306)/db?parseTime=true ack=anchor", "db.m=mysql://u:pw@tcp(h:3306)/db?parseTime=true ack=anchor"},
	{"db.s='sqlite:/tmp/my db.sqlite'", "db.s='sqlite:/tmp/my db.sqlite'"},
	{`db.s='sqlite:/tmp/it\'s\\x;y.db'`, `db.s='sqlite:/tmp/it\'s\\x;y.db'`},
	{`db.s=sqlite:C:\data\x.db`, `db.s='sqlite:C:\\data\\x.db'`},
	{`db.s='sqlite:C:\data\x.db'`, `db.s='sqlite:C:\\data\\x.db'`},
	{"db.s=sqlite:it's.db", `db.s='sqlite:it\'s.db'`},
	{"db.a=sqlite::memory:", "db.a=sqlite::memory:"},
	{
		"db.a=sqlite:a.db db.b=sqlite:b.db ledger=file:///var/lib/cal conflict=reject lock_timeout=1500ms ack=anchor consistency=local read=b shared=users,accounts private=logs unparsed=barrier down_after=1m tx_lease=10s errors=native",
		"db.a=sqlite:a.db db.b=sqlite:b.db ack=anchor conflict=reject consistency=local down_after=1m0s errors=native ledger=file:///var/lib/cal lock_timeout=1.5s private=logs read=b shared=users,accounts tx_lease=10s unparsed=barrier",
	},
	{
		"db.a=sqlite:a.db ledger=local conflict=wait lock_timeout=5s ack=all consistency=strong read=nearest shared=* unparsed=reject down_after=2s",
		"db.a=sqlite:a.db",
	},
	{"db.a=sqlite:a.db shared='users, orders ' private=' logs'", "db.a=sqlite:a.db private=logs shared=users,orders"},
	{"db.a=sqlite:a.db private=sessions,Cache consistency=none read=anchor", "db.a=sqlite:a.db consistency=none private=sessions,Cache read=anchor"},
	{"db.a=sqlite:a.db ledger=nats://n1:4222/CAL", "db.a=sqlite:a.db ledger=nats://n1:4222/CAL"},
	{"db.a=sqlite:a.db ledger='redis://:pw@r1:6379/cal'", "db.a=sqlite:a.db ledger=redis://:pw@r1:6379/cal"},
	{"db.Z_9-x=sqlite:a.db read=Z_9-x", "db.Z_9-x=sqlite:a.db read=Z_9-x"},
}

// badDSNs pairs DSNs with their exact errors.
var badDSNs = []struct{ dsn, err string }{
	{"", "calibrated: no backend: add db.NAME=URL, e.g. db.a=postgres://user@host/db"},
	{"ledger=local", "calibrated: no backend: add db.NAME=URL, e.g. db.a=postgres://user@host/db"},
	{"db.a=postgres://h/db foo=1", `calibrated: "foo": unknown key; known keys: ack, conflict, consistency, db.NAME, down_after, errors, ledger, lock_timeout, private, read, shared, tx_lease, unparsed`},
	{"db.a=postgres://h/db Read=a", `calibrated: "Read": unknown key; known keys: ack, conflict, consistency, db.NAME, down_after, errors, ledger, lock_timeout, private, read, shared, tx_lease, unparsed`},
	{"db.a=postgres://h/db ack=all ack=anchor", `calibrated: "ack": duplicate key`},
	{"db.a=postgres://h/db db.a=postgres://h2/db", `calibrated: "db.a": duplicate backend name`},
	{"db.a=postgres://h/db read=", `calibrated: "read": empty value; supported: anchor, nearest, or a backend name`},
	{"db.a=postgres://h/db conflict='' ", `calibrated: "conflict": empty value; supported: reject, wait`},
	{"db.a=", `calibrated: "db.a": empty value; supported: postgres://, postgresql://, pq:postgres://, mysql://, sqlite:PATH`},
	{"db.a='postgres://h/db", `calibrated: "db.a": unterminated quoted value`},
	{`db.a='postgres://h/db\'`, `calibrated: "db.a": unterminated quoted value`},
	{"db.a='sqlite:x'y", `calibrated: "db.a": want whitespace or ';' after quoted value`},
	{"db.a", `calibrated: "db.a": missing "=" after key`},
	{"db.a sqlite:x", `calibrated: "db.a": missing "=" after key`},
	{"=x", "calibrated: malformed DSN at byte 0: want key=value pairs; single-quote values that contain whitespace or ';'"},
	{"db.a=postgres://u:pa ss@h/db", "calibrated: malformed DSN at byte 21: want key=value pairs; single-quote values that contain whitespace or ';'"},
	{"db.a=postgres://h/db db.b=mysql://u@tcp(h)/db", `calibrated: "db.b": dialect mysql differs from dialect postgres of backend "a"; all backends must share one dialect`},
	{"db.a=http://u:secret@h/db", `calibrated: "db.a": wrong value "http://u:xxxxx@h/db"; supported: postgres://, postgresql://, pq:postgres://, mysql://, sqlite:PATH`},
	{"db.a=pq:mysql://h/db", `calibrated: "db.a": wrong value "pq:mysql://h/db"; supported: postgres://, postgresql://, pq:postgres://, mysql://, sqlite:PATH`},
	{"db.a=postgres://u:secret@h:port/db", `calibrated: "db.a": malformed URL "postgres://u:xxxxx@h:port/db": invalid port ":port" after host`},
	{"db.m=mysql://u:secret@tcp(h)", `calibrated: "db.m": malformed mysql DSN "mysql://u:xxxxx@tcp(h)"; want mysql://[user[:password]@][net[(addr)]]/dbname[?params]`},
	{"db.s=sqlite:", `calibrated: "db.s": empty path; want sqlite:PATH`},
	{"db.a.b=postgres://h/db", `calibrated: "db.a.b": bad backend name; use letters, digits, '_' and '-'`},
	{"db.=postgres://h/db", `calibrated: "db.": bad backend name; use letters, digits, '_' and '-'`},
	{"db.anchor=postgres://h/db", `calibrated: "db.anchor": reserved backend name; anchor and nearest are read modes`},
	{"db.a=sqlite:x lock_timeout=5", `calibrated: "lock_timeout": wrong value "5"; supported: a duration > 0 such as 5s or 250ms`},
	{"db.a=sqlite:x lock_timeout=0s", `calibrated: "lock_timeout": wrong value "0s"; supported: a duration > 0 such as 5s or 250ms`},
	{"db.a=sqlite:x down_after=-1s", `calibrated: "down_after": wrong value "-1s"; supported: a duration > 0 such as 5s or 250ms`},
	{"db.east=postgres://h1/db db.west=postgres://h2/db read=x", `calibrated: "read": wrong value "x"; supported: anchor, nearest, or a backend name (east, west)`},
	{"db.a=sqlite:x conflict=block", `calibrated: "conflict": wrong value "block"; supported: reject, wait`},
	{"db.a=sqlite:x ack=some", `calibrated: "ack": wrong value "some"; supported: all, anchor`},
	{"db.a=sqlite:x consistency=eventual", `calibrated: "consistency": wrong value "eventual"; supported: local, none, strong`},
	{"db.a=sqlite:x unparsed=allow", `calibrated: "unparsed": wrong value "allow"; supported: barrier, reject`},
	{"db.a=sqlite:x errors=raw", `calibrated: "errors": wrong value "raw"; supported: native, wrapped`},
	{"db.a=sqlite:x ledger=file://relative/dir", `calibrated: "ledger": wrong value "file://relative/dir"; supported: local, file:///DIR, nats://HOST:PORT/NAME, redis://HOST:PORT/NAME`},
	{"db.a=sqlite:x ledger=nats://h:4222", `calibrated: "ledger": wrong value "nats://h:4222"; supported: local, file:///DIR, nats://HOST:PORT/NAME, redis://HOST:PORT/NAME`},
	{"db.a=sqlite:x ledger=nats://h:4222/a/b", `calibrated: "ledger": wrong value "nats://h:4222/a/b"; supported: local, file:///DIR, nats://HOST:PORT/NAME, redis://HOST:PORT/NAME`},
	{"db.a=sqlite:x ledger=redis://u:secret@:6379/L", `calibrated: "ledger": wrong value "redis://u:xxxxx@:6379/L"; supported: local, file:///DIR, nats://HOST:PORT/NAME, redis://HOST:PORT/NAME`},
	{"db.a=sqlite:x ledger=kafka://h/L", `calibrated: "ledger": wrong value "kafka://h/L"; supported: local, file:///DIR, nats://HOST:PORT/NAME, redis://HOST:PORT/NAME`},
	{"db.a=sqlite:x shared=*,users", `calibrated: "shared": wrong value "*,users"; supported: * or comma-separated table names`},
	{"db.a=sqlite:x shared=a,,b", `calibrated: "shared": wrong value "a,,b"; supported: * or comma-separated table names`},
	{"db.a=sqlite:x private=*", `calibrated: "private": wrong value "*"; supported: comma-separated table names`},
	{"db.a=sqlite:x private=a,", `calibrated: "private": wrong value "a,"; supported: comma-separated table names`},
	{"db.a=sqlite:x shared=users,orders private=Users", `calibrated: "private": table "Users" is also in shared; a table is either shared or private`},
}

func TestParseDSN(t *testing.T) {
	for _, tt := range goodDSNs {
		c, err := ParseDSN(tt.dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", tt.dsn, err)
			continue
		}
		if got := c.FormatDSN(); got != tt.canonical {
			t.Errorf("ParseDSN(%q).FormatDSN()\n got %s\nwant %s", tt.dsn, got, tt.canonical)
		}
		c2, err := ParseDSN(c.FormatDSN())
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", c.FormatDSN(), err)
		} else if !reflect.DeepEqual(c, c2) {
			t.Errorf("round trip of %q\n got %#v\nwant %#v", tt.dsn, c2, c)
		}
	}
}

func TestParseDSNErrors(t *testing.T) {
	for _, tt := range badDSNs {
		c, err := ParseDSN(tt.dsn)
		var ce *ConfigError
		switch {
		case err == nil:
			t.Errorf("ParseDSN(%q) = %s, want error %s", tt.dsn, c.FormatDSN(), tt.err)
		case !errors.As(err, &ce):
			t.Errorf("ParseDSN(%q) error is %T, want *ConfigError", tt.dsn, err)
		case err.Error() != tt.err:
			t.Errorf("ParseDSN(%q) error\n got %s\nwant %s", tt.dsn, err, tt.err)
		}
	}
}

func TestParseDSNFields(t *testing.T) {
	c, err := ParseDSN("db.p=postgres://u@h/d db.q=pq:postgresql://u@h/d")
	if err != nil {
		t.Fatal(err)
	}
	want := NewConfig()
	want.Backends = []Backend{
		{Name: "p", URL: "postgres://u@h/d", Dialect: "postgres", Driver: "pgx", DSN: "postgres://u@h/d"},
		{Name: "q", URL: "pq:postgresql://u@h/d", Dialect: "postgres", Driver: "pq", DSN: "postgresql://u@h/d"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %#v\nwant %#v", c, want)
	}
	if c.Dialect() != "postgres" {
		t.Errorf("Dialect() = %q", c.Dialect())
	}

	for dsn, want := range map[string]Backend{
		"db.m=mysql://u:p@tcp(h:3306)/d?x=1": {Name: "m", URL: "mysql://u:p@tcp(h:3306)/d?x=1", Dialect: "mysql", Driver: "mysql", DSN: "u:p@tcp(h:3306)/d?x=1"},
		"db.s='sqlite:/tmp/a b.db'":          {Name: "s", URL: "sqlite:/tmp/a b.db", Dialect: "sqlite", Driver: "sqlite", DSN: "/tmp/a b.db"},
	} {
		c, err := ParseDSN(dsn + " lock_timeout=250ms down_after=1h")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Backends) != 1 || c.Backends[0] != want {
			t.Errorf("ParseDSN(%q).Backends = %#v, want %#v", dsn, c.Backends, want)
		}
		if c.LockTimeout != 250*time.Millisecond || c.DownAfter != time.Hour {
			t.Errorf("ParseDSN(%q): lock_timeout %v, down_after %v", dsn, c.LockTimeout, c.DownAfter)
		}
	}
}

func TestErrorsRedactPasswords(t *testing.T) {
	urls := []string{
		"postgres://u:secret@h/db",
		"pq:postgres://u:secret@h/db",
		"mysql://u:secret@tcp(h:3306)/db",
		"host=h password=secret",
		"postgres://u:secret@h:port/db",
		"postgres://u@h/db?password=secret&sslmode=disable",
		"mysql://u:sec/ret@secret@tcp(h:3306)/db",
	}
	// Each template must make ParseDSN fail.
	templates := []string{
		"db.a=%s db.b=sqlite:x",
		"db.a=%s read=zz",
		"db.a=%s foo=1",
		"db.a=%s db.a=%[1]s",
		"db.a=pq:pq:%s",
		"db.a=x%s",
		"db.a=%s 'x",
		"db.a='%s",
		"db.a=sqlite:x ledger=%s",
		"db.a=sqlite:x shared=%s private=%[1]s",
		"db.a=sqlite:x read=%s",
		"db.a=sqlite:x conflict=%s",
		"db.a=sqlite:x lock_timeout=%s",
	}
	for _, u := range urls {
		for _, tmpl := range templates {
			d := fmt.Sprintf(tmpl, dsn.Quote(u))
			_, err := ParseDSN(d)
			if err == nil {
				t.Errorf("ParseDSN(%q) succeeded", d)
			} else if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "ret@") {
				t.Errorf("ParseDSN(%q) error leaks the password: %v", d, err)
			}
		}
	}

	c := NewConfig()
	c.Backends = []Backend{{Name: "a", URL: "postgres://u:secret@h/db"}, {Name: "b", URL: "mysql://u:secret@tcp(h)/db"}}
	c.Ledger = "nats://u:secret@h/"
	for _, mutate := range []func(){
		func() {},
		func() { c.Backends = c.Backends[:1] },
		func() { c.Backends[0].DSN = "postgres://u:secret@h2/db" },
	} {
		mutate()
		if err := c.Validate(); err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("Validate() = %v, want an error without the password", err)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres://u:secret@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://u:@h/db", "postgres://u:@h/db"},
		{"postgres://h:5432/db?x=a@b", "postgres://h:5432/db?x=a@b"},
		{"pq:postgresql://u:s%40cret@h:5432/db?sslmode=disable", "pq:postgresql://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db?password=secret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"mysql://u:secret@tcp(h:3306)/db", "mysql://u:xxxxx@tcp(h:3306)/db"},
		{"mysql://u:se@c/ret@tcp(h:3306)/db?x=a@b", "mysql://u:xxxxx@tcp(h:3306)/db?x=a@b"},
		{"u:secret@tcp(h:3306)/db", "u:xxxxx@tcp(h:3306)/db"},
		{"u:secret@/db", "u:xxxxx@/db"},
		{"host=h password=secret dbname=d", "host=h password=xxxxx dbname=d"},
		{"host=h PassWord = 'sec ret' dbname=d", "host=h PassWord = xxxxx dbname=d"},
		{"host=h sslpassword=secret", "host=h sslpassword=xxxxx"},
		{"redis://:secret@r:6379/L", "redis://:xxxxx@r:6379/L"},
		{
			`db.a='pq:postgres://u:se cret@h/db' db.b='host=h password=\'se cret\'' ledger=nats://u:secret@n:4222/L`,
			`db.a=pq:postgres://u:xxxxx@h/db db.b='host=h password=xxxxx' ledger=nats://u:xxxxx@n:4222/L`,
		},
		{"db.m=mysql://u:secret@tcp(h)/d read=m", "db.m=mysql://u:xxxxx@tcp(h)/d read=m"},
		{`connect "postgres://u:secret@h/db": refused`, `connect "postgres://u:xxxxx@h/db": refused`},
		{`bad value "host=h password=secret"`, `bad value "host=h password=xxxxx"`},
		{`bad value "host=h password='a b' x=1"`, `bad value "host=h password='xxxxx' x=1"`},
		{`x='host=h password=\'a b\''`, `x='host=h password=xxxxx'`},
		{"password authentication failed for user", "password authentication failed for user"},
		{"", ""},
	} {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	var zero Config
	if err := zero.Validate(); err == nil {
		t.Error("zero Config is valid")
	}

	c := NewConfig()
	c.Backends = []Backend{{Name: "a", URL: "mysql://u@tcp(h)/d"}, {Name: "b", URL: "mysql://u@tcp(h2)/d", Dialect: "mysql", Driver: "mysql", DSN: "u@tcp(h2)/d"}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if want := (Backend{Name: "a", URL: "mysql://u@tcp(h)/d", Dialect: "mysql", Driver: "mysql", DSN: "u@tcp(h)/d"}); c.Backends[0] != want {
		t.Errorf("Validate filled in %#v, want %#v", c.Backends[0], want)
	}

	for _, tt := range []struct {
		mutate func(*Config)
		err    string
	}{
		{func(c *Config) { c.Backends[1].Driver = "pq" }, `calibrated: "db.b": Dialect, Driver and DSN do not match the URL; leave them empty to derive them`},
		{func(c *Config) { c.Backends[1].Name = "a" }, `calibrated: "db.a": duplicate backend name`},
		{func(c *Config) { c.Backends[0].Name = "a b" }, `calibrated: "db.a b": bad backend name; use letters, digits, '_' and '-'`},
		{func(c *Config) { c.Conflict = "" }, `calibrated: "conflict": wrong value ""; supported: reject, wait`},
		{func(c *Config) { c.LockTimeout = 0 }, `calibrated: "lock_timeout": wrong value "0s"; supported: a duration > 0 such as 5s or 250ms`},
		{func(c *Config) { c.DownAfter = -time.Second }, `calibrated: "down_after": wrong value "-1s"; supported: a duration > 0 such as 5s or 250ms`},
		{func(c *Config) { c.Read = "c" }, `calibrated: "read": wrong value "c"; supported: anchor, nearest, or a backend name (a, b)`},
		{func(c *Config) { c.Shared = nil }, `calibrated: "shared": wrong value ""; supported: * or comma-separated table names`},
		{func(c *Config) { c.Shared = []string{" t"} }, `calibrated: "shared": wrong value " t"; supported: * or comma-separated table names`},
		{func(c *Config) { c.Private = []string{"a,b"} }, `calibrated: "private": wrong value "a,b"; supported: comma-separated table names`},
		{func(c *Config) { c.Ledger = "file:///" }, ""},
		{func(c *Config) { c.Ledger = "" }, `calibrated: "ledger": wrong value ""; supported: local, file:///DIR, nats://HOST:PORT/NAME, redis://HOST:PORT/NAME`},
	} {
		cc := c.Clone()
		tt.mutate(cc)
		err := cc.Validate()
		if got := fmt.Sprint(err); err == nil && tt.err != "" || err != nil && got != tt.err {
			t.Errorf("Validate()\n got %v\nwant %s", err, tt.err)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("mutating clones changed the original: %v", err)
	}
}

func TestClone(t *testing.T) {
	c, err := ParseDSN("db.a=sqlite:a db.b=sqlite:b shared=x,y private=z")
	if err != nil {
		t.Fatal(err)
	}
	cc := c.Clone()
	if !reflect.DeepEqual(c, cc) {
		t.Fatalf("Clone() = %#v, want %#v", cc, c)
	}
	cc.Backends[0].Name, cc.Shared[0], cc.Private[0] = "q", "q", "q"
	if c.Backends[0].Name != "a" || c.Shared[0] != "x" || c.Private[0] != "z" {
		t.Errorf("Clone shares slices with the original: %#v", c)
	}
	if !reflect.DeepEqual(NewConfig().Clone(), NewConfig()) {
		t.Error("Clone does not keep nil slices nil")
	}
}

func TestIsShared(t *testing.T) {
	c := NewConfig()
	c.Private = []string{"Sessions"}
	for table, want := range map[string]bool{"users": true, "sessions": false, "SESSIONS": false} {
		if got := c.IsShared(table); got != want {
			t.Errorf("shared=* private=Sessions: IsShared(%q) = %v", table, got)
		}
	}
	c.Shared = []string{"Users", "orders"}
	for table, want := range map[string]bool{"users": true, "ORDERS": true, "items": false, "sessions": false} {
		if got := c.IsShared(table); got != want {
			t.Errorf("shared=Users,orders: IsShared(%q) = %v", table, got)
		}
	}
}

func TestOptions(t *testing.T) {
	c := NewConfig()
	if c.Dialect() != "" {
		t.Errorf("Dialect() with no backends = %q", c.Dialect())
	}
	c.Backends = []Backend{{Name: "a", URL: "sqlite:x"}}
	if c.Dialect() != "sqlite" {
		t.Errorf("Dialect() = %q, want sqlite", c.Dialect())
	}
	l := slog.New(slog.DiscardHandler)
	if err := WithLogger(l)(c); err != nil || c.Logger != l {
		t.Errorf("WithLogger: %v, Logger %p", err, c.Logger)
	}
	if c.FormatDSN() != "db.a=sqlite:x" {
		t.Errorf("FormatDSN() = %q; the logger must stay out of the DSN", c.FormatDSN())
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, tt := range goodDSNs {
		f.Add(tt.dsn)
	}
	for _, tt := range badDSNs {
		f.Add(tt.dsn)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseDSN(text)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseDSN(%q) error is %T, want *ConfigError", text, err)
			}
			return
		}
		s := c.FormatDSN()
		c2, err := ParseDSN(s)
		if err != nil {
			t.Fatalf("ParseDSN(%q) ok, but its FormatDSN %q fails: %v", text, s, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("ParseDSN(%q) = %#v\nParseDSN(%q) = %#v", text, c, s, c2)
		}
		if s2 := c2.FormatDSN(); s2 != s {
			t.Fatalf("FormatDSN is no fixed point: %q then %q", s, s2)
		}
		// Redact must hide every password that the postgres drivers would send.
		pairs, err := dsn.Split(Redact(s))
		if err != nil || len(pairs) < len(c.Backends) {
			t.Fatalf("Redact(%q) = %q, which no longer splits: %v", s, Redact(s), err)
		}
		for i, b := range c.Backends {
			if b.Dialect != "postgres" {
				continue
			}
			u, err := url.Parse(b.DSN)
			if err != nil || u.User == nil {
				continue
			}
			if pw, _ := u.User.Password(); pw == "" {
				continue
			}
			for _, r := range []string{Redact(b.URL), strings.TrimPrefix(pairs[i].Value, "pq:")} {
				ru, err := url.Parse(strings.TrimPrefix(r, "pq:"))
				if err != nil || ru.User == nil {
					t.Fatalf("Redact(%q) = %q: %v", b.URL, r, err)
				}
				if pw, _ := ru.User.Password(); pw != "xxxxx" {
					t.Fatalf("Redact(%q) = %q leaves password %q", b.URL, r, pw)
				}
			}
		}
	})
}
