package runtimeapi_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/runtimeapi"
)

var built struct {
	once sync.Once
	path string
	err  error
}

// bootstrap builds testdata/bootstrap for the host, once per test binary.
func bootstrap(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "runtimeapi-test")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", built.path, "./testdata/bootstrap")
		if b, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("%v\n%s", err, b)
		}
	})
	if built.err != nil {
		t.Fatalf("build the test bootstrap: %v", built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		_ = os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

func TestRuntime(t *testing.T) {
	bin := bootstrap(t)
	for _, tc := range []struct {
		name     string
		payload  string
		outcomes []runtimeapi.Outcome
		cold     []bool
		dead     bool
	}{
		{name: "success", payload: `"ok"`, outcomes: []runtimeapi.Outcome{runtimeapi.Success}, cold: []bool{true}},
		{name: "errors are retried, then dead-lettered", payload: `"fail"`,
			outcomes: []runtimeapi.Outcome{runtimeapi.Failed, runtimeapi.Failed, runtimeapi.Failed}, cold: []bool{true, false, false}, dead: true},
		{name: "killed at the deadline, restarted for the retry", payload: `"hang"`,
			outcomes: []runtimeapi.Outcome{runtimeapi.TimedOut, runtimeapi.TimedOut, runtimeapi.TimedOut}, cold: []bool{true, true, true}, dead: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			delays := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}
			rt := runtimeapi.Start(t, runtimeapi.Function{Bootstrap: bin, Timeout: 500 * time.Millisecond, RetryDelays: delays})
			res := rt.InvokeAsync([]byte(tc.payload))
			if len(res.Attempts) != len(tc.outcomes) || res.DeadLettered != tc.dead {
				t.Fatalf("attempts %v, dead-lettered %v; want %v, %v", res.Attempts, res.DeadLettered, tc.outcomes, tc.dead)
			}
			for i, a := range res.Attempts {
				if a.Outcome != tc.outcomes[i] || a.Cold != tc.cold[i] {
					t.Errorf("attempt %d: %s, cold %v; want %s, cold %v", i+1, a, a.Cold, tc.outcomes[i], tc.cold[i])
				}
				if a.Outcome == runtimeapi.TimedOut && a.End.Before(a.Deadline) {
					t.Errorf("attempt %d was killed %s before its deadline", i+1, a.Deadline.Sub(a.End))
				}
				if i > 0 {
					if gap := a.Start.Sub(res.Attempts[i-1].End); gap < delays[i-1] {
						t.Errorf("retry %d came %s after the failure, want at least %s", i, gap, delays[i-1])
					}
				}
			}
		})
	}
}

// TestDeadlineHeader: the function's context carries the deadline the
// stand-in gave it.
func TestDeadlineHeader(t *testing.T) {
	rt := runtimeapi.Start(t, runtimeapi.Function{Bootstrap: bootstrap(t), Timeout: 2 * time.Second})
	res := rt.InvokeAsync([]byte(`"deadline"`))
	a := res.Attempts[0]
	if got := a.Error; got != strconv.FormatInt(a.Deadline.UnixMilli(), 10) {
		t.Errorf("the function saw deadline %s, want %d", got, a.Deadline.UnixMilli())
	}
	if d := a.Deadline.Sub(a.Start); d < 2*time.Second || d > 3*time.Second {
		t.Errorf("deadline %s after the attempt started, want the 2s timeout", d)
	}
}

// TestKill: a process killed during an invocation ends it as a crash, and
// the retry runs in a new process.
func TestKill(t *testing.T) {
	rt := runtimeapi.Start(t, runtimeapi.Function{Bootstrap: bootstrap(t), Timeout: 1500 * time.Millisecond, RetryDelays: []time.Duration{0}})
	go func() {
		for rt.Attempt() == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		rt.Kill()
	}()
	res := rt.InvokeAsync([]byte(`"hang"`))
	if res.Attempts[0].Outcome != runtimeapi.Crashed || res.Attempts[0].End.Sub(res.Attempts[0].Start) > time.Second {
		t.Errorf("first attempt: %s, want crashed when killed", res.Attempts[0])
	}
	if len(res.Attempts) != 2 || !res.Attempts[1].Cold {
		t.Errorf("attempts %v, want a cold retry", res.Attempts)
	}
}
