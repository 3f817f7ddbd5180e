package lazyre

import (
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRegexp(t *testing.T) {
	r := New(`^a(b+)$`)
	if !r.MatchString("abb") || r.MatchString("ac") {
		t.Error("MatchString")
	}
	if got := r.FindStringSubmatch("abb"); !slices.Equal(got, []string{"abb", "bb"}) {
		t.Errorf("FindStringSubmatch = %q", got)
	}
	if got := New(`[0-9]+`).FindAllString("a1b22c333", -1); !slices.Equal(got, []string{"1", "22", "333"}) {
		t.Errorf("FindAllString = %q", got)
	}
	if r.String() != `^a(b+)$` || r.Regexp().String() != `^a(b+)$` {
		t.Error("String")
	}
}

// TestCompilesOnceAtFirstUse: nothing is compiled before the first use,
// and concurrent first uses share one compilation.
func TestCompilesOnceAtFirstUse(t *testing.T) {
	var calls atomic.Int32
	r := deferred("x+", func(e string) *regexp.Regexp { calls.Add(1); return regexp.MustCompile(e) })
	if calls.Load() != 0 {
		t.Fatal("compiled before its first use")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if !r.MatchString("xx") {
				t.Error("no match")
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("compiled %d times", n)
	}
}

// TestBadExpressionPanicsInTests: under go test a bad expression panics
// where it is declared, as regexp.MustCompile does.
func TestBadExpressionPanicsInTests(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New(`(`)
}
