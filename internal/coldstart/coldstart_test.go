package coldstart_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/coldstart"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// functions are the bootstraps measured, the two references first: the
// floor (hello) and the floor linking the SDK clients the functions make
// (sdkfloor), whose package initialization no function can defer. The
// functions come as the stack deploys them: cloudtrail and digest in
// their default builds (-tags nosigma) and, as "+sigma", in the builds
// the stack deploys with trailwatch:sigmaRules.
var functions = []struct {
	name, dir string
	tags      []string
}{
	{"hello", "internal/coldstart/testdata/hello", nil},
	{"sdkfloor", "internal/coldstart/testdata/sdkfloor", nil},
	{"cloudtrail", "functions/cloudtrail", []string{"nosigma"}},
	{"cloudtrail+sigma", "functions/cloudtrail", nil},
	{"instance", "functions/instance", nil},
	{"digest", "functions/digest", []string{"nosigma"}},
	{"digest+sigma", "functions/digest", nil},
	{"scan", "functions/scan", nil},
}

// env is what Lambda gives a function and what the stack sets
// (infra/function.go), with names and ARNs only: nothing is called before
// the first invocation.
func env(t testing.TB) []string {
	fn, err := config.Runtime{
		SlackSecretName: "trailwatch/slack-webhook",
		TopicARN:        "arn:aws:sns:eu-west-1:111122223333:trailwatch-alerts",
		StateTable:      "trailwatch-state",
	}.Env()
	if err != nil {
		t.Fatal(err)
	}
	e := []string{
		"AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1",
		"AWS_ACCESS_KEY_ID=AKIDCOLDSTART", "AWS_SECRET_ACCESS_KEY=secret", "AWS_SESSION_TOKEN=token",
		"AWS_LAMBDA_FUNCTION_NAME=trailwatch", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"GOMAXPROCS=1", "GOGC=400", "GOMEMLIMIT=96MiB",
		"PATH=" + os.Getenv("PATH"),
		// The scan function's buckets (it reads no other variable).
		config.EnvScanArchiveBucket + "=trailwatch-archive", config.EnvScanResultsBucket + "=trailwatch-scan-results",
	}
	for k, v := range fn {
		e = append(e, k+"="+v)
	}
	return e
}

// BenchmarkColdStart: process start to the first GET .../invocation/next,
// for each function's real bootstrap built as scripts/build-functions
// builds it (for this machine), beside the smallest Go Lambda function
// built the same way (hello, the floor) and that function linking the
// SDK clients (sdkfloor). Each iteration starts every bootstrap once, in
// an order that rotates from one iteration to the next, so that all of
// them meet the same machine (a shared machine's speed drifts within a
// run, and a floor measured before the others would carry that drift into
// every ratio). Run with -benchtime 20x for 20 starts each; the metrics
// are each bootstrap's median ("NAME-ms") and its median over the floor's
// ("NAME-x-floor"), also logged as a table.
func BenchmarkColdStart(b *testing.B) {
	root := fixture.Root(b)
	dir := b.TempDir()
	s := coldstart.NewStarter()
	defer s.Close()
	e := env(b)
	bins := make([]string, len(functions))
	for i, f := range functions {
		bins[i] = filepath.Join(dir, f.name)
		if err := coldstart.Build(root, f.dir, bins[i], f.tags...); err != nil {
			b.Fatal(err)
		}
		// One start before measuring, so the binary is in the page cache.
		if _, err := s.Start(bins[i], e, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	starts := make([][]time.Duration, len(functions))
	round := 0
	for b.Loop() {
		for k := range functions {
			i := (round + k) % len(functions)
			d, err := s.Start(bins[i], e, 10*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			starts[i] = append(starts[i], d)
		}
		round++
	}
	floor, sdkFloor := coldstart.Median(starts[0]), coldstart.Median(starts[1])
	var table strings.Builder
	fmt.Fprintf(&table, "%-17s %9s %8s %11s  (medians of %d interleaved starts each)\n", "bootstrap", "median", "x floor", "x sdkfloor", round)
	for i, f := range functions {
		m := coldstart.Median(starts[i])
		b.ReportMetric(float64(m.Microseconds())/1000, f.name+"-ms")
		if i > 0 {
			b.ReportMetric(float64(m)/float64(floor), f.name+"-x-floor")
		}
		fmt.Fprintf(&table, "%-17s %6.2f ms %8.2f %11.2f\n", f.name, float64(m.Microseconds())/1000, float64(m)/float64(floor), float64(m)/float64(sdkFloor))
	}
	// Ten lines at most: go test cuts a benchmark's log after ten.
	b.Log(strings.TrimSuffix(table.String(), "\n"))
}

// TestEveryFunctionAsksForAnInvocation: each bootstrap, started as Lambda
// starts it, gets to its first /next (its handler builds from the
// environment the stack gives it, with nothing to call first), and the
// measurement reads a positive time.
func TestEveryFunctionAsksForAnInvocation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	root := fixture.Root(t)
	dir := t.TempDir()
	s := coldstart.NewStarter()
	defer s.Close()
	for _, f := range functions {
		bin := filepath.Join(dir, f.name)
		if err := coldstart.Build(root, f.dir, bin, f.tags...); err != nil {
			t.Fatal(err)
		}
		d, err := s.Start(bin, env(t), 30*time.Second)
		if err != nil || d <= 0 {
			t.Errorf("%s: %v, %v", f.name, d, err)
		}
	}
}

func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{{nil, 0}, {ms(5), 5 * time.Millisecond}, {ms(9, 1, 5), 5 * time.Millisecond}, {ms(4, 1, 3, 2), 2500 * time.Microsecond}} {
		if got := coldstart.Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
