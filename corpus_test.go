package calibrated

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/router"
)

// corpusLines returns the statements of the router's GORM corpus
// router/testdata/name, one a line. The corpus is part of the repository
// (go generate ./router/ rebuilds it), so an absent file fails the test.
func corpusLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("router", "testdata", name))
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("corpus: %v", err)
	}
	if len(lines) == 0 {
		t.Fatalf("corpus %s is empty", name)
	}
	return lines
}

// TestCorpusPaths: every GORM statement in the corpus analyses, and a
// labelled sample takes the path DESIGN §5 and §6 give it, against the
// schema the corpus itself creates.
func TestCorpusPaths(t *testing.T) {
	lines := corpusLines(t, "gorm-postgres.sql")
	cl := newCluster(t, 2)
	e := cl.engine(t)
	ctx := context.Background()
	for _, l := range lines {
		if strings.HasPrefix(l, "CREATE TABLE \"") || strings.HasPrefix(l, "CREATE UNIQUE INDEX") {
			mustExec(t, cl.db, l)
		}
	}
	an, err := router.NewAnalyzer("postgres", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, err := an.Analyze(l); err != nil {
			t.Errorf("does not analyse: %s: %v", l, err)
		}
	}
	sample := map[string]string{
		`INSERT INTO "users" ("name","email","age","created_at","updated_at","deleted_at") VALUES ($1,$2,$3,$4,$5,$6) RETURNING "id"`: engine.PathAnchor,
		`INSERT INTO "audit_logs" ("action") VALUES ($1) RETURNING "at","id"`:                                                         engine.PathAnchor,
		`INSERT INTO "languages" ("code","name","id") VALUES ($1,$2,$3) ON CONFLICT DO NOTHING RETURNING "id"`:                        engine.PathOrdered,
		`INSERT INTO "user_languages" ("user_id","language_id") VALUES ($1,$2) ON CONFLICT DO NOTHING`:                                engine.PathOrdered,
		`UPDATE "users" SET "name"=$1,"updated_at"=$2 WHERE "users"."deleted_at" IS NULL AND "id" = $3`:                               engine.PathOrdered,
		`UPDATE "users" SET "name"=$1,"updated_at"=$2 WHERE age > $3 AND "users"."deleted_at" IS NULL`:                                engine.PathOrdered,
		`UPDATE "users" SET "updated_at"=NOW() WHERE id = $1 AND "users"."deleted_at" IS NULL`:                                        engine.PathOrdered,
		`UPDATE users SET updated_at = NOW() WHERE id = $1`:                                                                           engine.PathOrdered,
		`DELETE FROM "users" WHERE "users"."id" = $1`:                                                                                 engine.PathOrdered,
		`INSERT INTO users (name, email, created_at) VALUES ($1, $2, NOW()) RETURNING id, created_at`:                                 engine.PathAnchor,
		`INSERT INTO orders_archive SELECT * FROM orders WHERE created_at < now() - interval '90 days'`:                               engine.PathRefused,
		`ALTER TABLE users ADD COLUMN nickname text DEFAULT ''`:                                                                       engine.PathOrdered,
		`SELECT * FROM "users" WHERE "users"."deleted_at" IS NULL AND "users"."id" = $1 LIMIT $2`:                                     engine.PathRead,
		`SELECT * FROM "users" WHERE "users"."id" = $1 AND "users"."deleted_at" IS NULL ORDER BY "users"."id" LIMIT $2 FOR UPDATE`:    engine.PathRead,
		`SAVEPOINT sp1`:             engine.PathControl,
		`BEGIN`:                     engine.PathControl,
		`SET search_path TO public`: engine.PathSession,
	}
	seen := map[string]bool{}
	for _, l := range lines {
		want, ok := sample[l]
		if !ok {
			continue
		}
		seen[l] = true
		if got := e.Path(ctx, l); got != want {
			t.Errorf("%s\n\tpath %s, want %s", l, got, want)
		}
	}
	for l := range sample {
		if !seen[l] {
			t.Errorf("sample line not in the corpus: %s", l)
		}
	}
}
