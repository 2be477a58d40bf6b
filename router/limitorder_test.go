package router

import (
	"reflect"
	"testing"
)

func TestLimitOrders(t *testing.T) {
	cases := []struct {
		dialect, text string
		want          []LimitOrder
	}{
		{"postgres", `DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY created, id LIMIT 5)`, []LimitOrder{{Table: "t", Columns: []string{"created", "id"}}}},
		{"postgres", `DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY lower(name) LIMIT 5)`, []LimitOrder{{Table: "t"}}},
		{"postgres", `DELETE FROM t WHERE id IN (SELECT t.id FROM t JOIN u ON u.id = t.uid ORDER BY t.id LIMIT 5)`, []LimitOrder{{Columns: []string{"id"}}}},
		{"postgres", `SELECT id FROM t ORDER BY created LIMIT 5`, nil}, // a read: no matter
		{"mysql", "DELETE FROM `t` ORDER BY `v` LIMIT 1", []LimitOrder{{Table: "t", Columns: []string{"v"}}}},
		{"mysql", "UPDATE t SET v = 1 ORDER BY id LIMIT 3", []LimitOrder{{Table: "t", Columns: []string{"id"}}}},
		{"sqlite", "DELETE FROM `t` WHERE id IN (SELECT id FROM t ORDER BY `V` LIMIT 2)", []LimitOrder{{Table: "t", Columns: []string{"v"}}}},
		{"sqlite", "DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY abs(v) LIMIT 2)", []LimitOrder{{Table: "t"}}},
	}
	for _, tc := range cases {
		az, err := NewAnalyzer(tc.dialect, 0)
		if err != nil {
			t.Fatal(err)
		}
		a, err := az.Analyze(tc.text)
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		if !reflect.DeepEqual(a.LimitOrders, tc.want) {
			t.Errorf("%s: LimitOrders = %+v, want %+v", tc.text, a.LimitOrders, tc.want)
		}
	}
}
