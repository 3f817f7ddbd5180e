// Package coldstart measures how long each function's real bootstrap takes
// from process start to its first request for an invocation (GET
// /2018-06-01/runtime/invocation/next of the Lambda Runtime API), which is
// the part of a cold start the code decides, beside the same for the
// smallest Go Lambda function built the same way (the floor).
// BenchmarkColdStart runs it; docs/performance.md reports its numbers.
package coldstart

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// BuildTags are the tags scripts/build-functions builds the functions with.
var BuildTags = "lambda.norpc,nethttpomithttp2"

// Build compiles the main package in dir (relative to the module root) for
// this machine, as scripts/build-functions does for Lambda, into out, with
// BuildTags and any extra tags (nosigma for a function's default build).
func Build(root, dir, out string, extraTags ...string) error {
	tags := strings.Join(append([]string{BuildTags}, extraTags...), ",")
	cmd := exec.Command("go", "build", "-tags", tags, "-trimpath", "-ldflags=-s -w", "-o", out, "./"+dir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", dir, err, b)
	}
	return nil
}

// Starter starts a bootstrap again and again against a Runtime API that
// only notes when the first /next arrives.
type Starter struct {
	srv  *httptest.Server
	next chan time.Time
}

// NewStarter starts the Runtime API stand-in; Close stops it.
func NewStarter() *Starter {
	s := &Starter{next: make(chan time.Time, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			http.NotFound(w, r)
			return
		}
		select {
		case s.next <- time.Now():
		default:
		}
		<-r.Context().Done() // the process is killed while it waits
	}))
	return s
}

// Close stops the stand-in.
func (s *Starter) Close() { s.srv.Close() }

// Start runs bootstrap with env once and returns the time from starting
// the process to its first /next; the process is then killed.
func (s *Starter) Start(bootstrap string, env []string, timeout time.Duration) (time.Duration, error) {
	select {
	case <-s.next:
	default:
	}
	cmd := exec.Command(bootstrap)
	cmd.Env = append(slices.Clone(env), "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(s.srv.URL, "http://"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	exited := make(chan error, 1)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", filepath.Base(bootstrap), err)
	}
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	select {
	case at := <-s.next:
		return at.Sub(start), nil
	case err := <-exited:
		exited <- err
		return 0, fmt.Errorf("%s exited before asking for an invocation (%v):\n%s", filepath.Base(bootstrap), err, out.String())
	case <-ctx.Done():
		return 0, errors.New(filepath.Base(bootstrap) + " did not ask for an invocation within " + timeout.String())
	}
}

// Median is the middle of durations (the mean of the two middle ones for
// an even count).
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
