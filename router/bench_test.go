package router

import (
	"strconv"
	"testing"
)

const benchText = `SELECT * FROM "users" WHERE "users"."id" = $1 AND "users"."deleted_at" IS NULL AND "users"."id" = $2 ORDER BY "users"."id" LIMIT $3`

func BenchmarkAnalyzeCached(b *testing.B) {
	az := newAnalyzer(b)
	if _, err := az.Analyze(benchText); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := az.Analyze(benchText); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnalyzeCachedParallel(b *testing.B) {
	az := newAnalyzer(b)
	if _, err := az.Analyze(benchText); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := az.Analyze(benchText); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAnalyzeNew parses and analyses a distinct text each time.
func BenchmarkAnalyzeNew(b *testing.B) {
	az := newAnalyzer(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := az.Analyze(benchText + " /* " + strconv.Itoa(i) + " */"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeys(b *testing.B) {
	a := analyze(b, `UPDATE "users" SET "name"=$1,"updated_at"=$2 WHERE "users"."deleted_at" IS NULL AND "id" = $3`)
	nv := args("ann", nil, int64(12345))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Keys(schema, nv); err != nil {
			b.Fatal(err)
		}
	}
}
