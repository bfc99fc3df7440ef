package explain

import (
	"github.com/tunnelstat/tunnelstat/procnet"
	"math/rand/v2"
	"reflect"
	"testing"
)

// slowQuiet is what engine.link decides through the general path.
func slowQuiet(b, a *LinkReading) bool {
	bc, _ := b.counters()
	ac, _ := a.counters()
	d, reset := delta(&bc, &ac)
	if reset != 0 {
		return false
	}
	if _, _, _, back := trafficWentBack(b, a); back {
		return false
	}
	return d.quiet()
}

// TestNothingToExplainAgrees moves every counter field of both sources up
// and down, one at a time and in random mixes, and checks that the quick
// test agrees with the general path: a counter added to counters.go but
// forgotten in nothingToExplain fails here.
func TestNothingToExplainAgrees(t *testing.T) {
	for _, src := range []Source{SourceStats64, SourceStats32, SourceProcNetDev} {
		var stats reflect.Value
		base := LinkReading{Name: "vti0", Index: 7, Source: src}
		if src == SourceProcNetDev {
			base.Dev = &procnet.DevStats{Name: "vti0"}
		}
		// clone copies a reading and the line its Dev points to.
		clone := func(r LinkReading) LinkReading {
			if r.Dev != nil {
				d := *r.Dev
				r.Dev = &d
			}
			return r
		}
		fields := func(r *LinkReading) reflect.Value {
			if src == SourceProcNetDev {
				return reflect.ValueOf(r.Dev).Elem()
			}
			return reflect.ValueOf(&r.Stats).Elem()
		}
		stats = fields(&base)
		var numeric []int
		for i := range stats.NumField() {
			if k := stats.Field(i).Kind(); k == reflect.Uint64 {
				stats.Field(i).SetUint(1000)
				numeric = append(numeric, i)
			}
		}
		check := func(a *LinkReading, what string) {
			t.Helper()
			if got, want := nothingToExplain(&base, a), slowQuiet(&base, a); got != want {
				t.Errorf("%v, %s: nothingToExplain %v, general path %v", src, what, got, want)
			}
		}
		for _, i := range numeric {
			for _, d := range []int64{-1, 1} {
				a := clone(base)
				f := fields(&a).Field(i)
				f.SetUint(uint64(int64(f.Uint()) + d))
				check(&a, stats.Type().Field(i).Name+map[int64]string{-1: " down", 1: " up"}[d])
			}
		}
		rng := rand.New(rand.NewPCG(1, uint64(src)))
		for range 20000 {
			a := clone(base)
			f := fields(&a)
			for _, i := range numeric {
				if rng.IntN(len(numeric)) == 0 {
					f.Field(i).SetUint(uint64(int64(f.Field(i).Uint()) + rng.Int64N(3) - 1))
				}
			}
			check(&a, "a random mix")
		}
	}
}
