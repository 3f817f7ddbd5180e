//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/dynalite"
	"github.com/trailwatch/trailwatch/internal/runtimeapi"
)

// Lambda's timing, scaled for the end-to-end test: the function's 60 s
// timeout (infra/function.go) and Lambda's retry delays of 1 and 2 minutes
// are all divided by timeScale: a 4 s timeout, the retry "after one
// minute" 4 s after the failure, the one "after three minutes" 8 s after
// the second. The bootstrap itself runs unchanged, with production
// constants: it reads its budget from the deadline the Runtime API
// stand-in gives it, and a pending claim is taken over DefaultGrace (2 s,
// not scaled) after its holder's deadline, still less than the first
// retry delay, as in production.
const (
	timeScale       = 15
	functionTimeout = 60 * time.Second / timeScale
)

var retryDelays = func() []time.Duration {
	var out []time.Duration
	for _, d := range runtimeapi.LambdaRetryDelays {
		out = append(out, d/timeScale)
	}
	return out
}()

var bootstrapBuild struct {
	once sync.Once
	path string
	err  error
}

// bootstrap builds this function's real bootstrap for the host, as
// scripts/build-functions does for Lambda (lambda.norpc; the other size
// flags would only cost a rebuild of the standard library here).
func bootstrap(t *testing.T) string {
	t.Helper()
	b := &bootstrapBuild
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "trailwatch-e2e")
		if err != nil {
			b.err = err
			return
		}
		bootstrapDir = dir
		b.path = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", b.path, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatalf("build the cloudtrail bootstrap: %v", b.err)
	}
	return b.path
}

// What the local Slack does with a post, per attempt.
type slackDoes int

const (
	answers slackDoes = iota
	// hangs: accepts the post and never answers.
	hangs
	// freezes the function (SIGSTOP) once its email is marked sent, and
	// never answers: the function is still sending at its deadline.
	freezes
	// answersThenCrash: answers, once the email is marked sent; the
	// function is killed when it marks the Slack claim sent, before the
	// mark reaches the table.
	answersThenCrash
)

// e2eSlack is a local Slack webhook whose behaviour depends on the attempt.
type e2eSlack struct {
	*httptest.Server
	does      []slackDoes
	emailSent func() bool

	mu        sync.Mutex
	rt        *runtimeapi.Runtime
	posts     int
	delivered int // posts answered 200: what reached the channel
}

func (s *e2eSlack) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.ReadAll(r.Body)
	s.mu.Lock()
	rt := s.rt
	s.posts++
	s.mu.Unlock()
	does := s.does[min(rt.Attempt(), len(s.does))-1]
	waitEmail := func() {
		for deadline := time.Now().Add(2 * time.Second); !s.emailSent() && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	switch does {
	case hangs:
		<-r.Context().Done()
		return
	case freezes:
		waitEmail()
		rt.Freeze()
		<-r.Context().Done()
		return
	case answersThenCrash:
		waitEmail()
	}
	s.mu.Lock()
	s.delivered++
	s.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

func (s *e2eSlack) counts() (posts, delivered int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts, s.delivered
}

// ddbProxy forwards DynamoDB requests to dynalite and lets the test act
// on them: it records which claims were marked sent, and can kill the
// function when it marks one.
type ddbProxy struct {
	*httptest.Server
	mu     sync.Mutex
	marked map[string]bool // claim keys marked sent
	// onMark, when set, runs before a mark is forwarded; returning false
	// drops it.
	onMark func(key string, r *http.Request) bool
}

func newDDBProxy(t *testing.T, target string) *ddbProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &ddbProxy{marked: map[string]bool{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	// A request cut off by the function's kill is expected.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.UpdateItem" && bytes.Contains(body, []byte(`"SET #status = :sent"`)) {
			var in struct {
				Key struct {
					PK struct{ S string } `json:"pk"`
				}
			}
			_ = json.Unmarshal(body, &in)
			p.mu.Lock()
			onMark := p.onMark
			p.mu.Unlock()
			if onMark != nil && !onMark(in.Key.PK.S, r) {
				return
			}
			defer func() {
				p.mu.Lock()
				p.marked[in.Key.PK.S] = true
				p.mu.Unlock()
			}()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *ddbProxy) isMarked(suffix string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.marked {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

// TestEndToEndAtTheDeadline runs the real cloudtrail bootstrap as Lambda
// runs it, under the Runtime API stand-in (internal/runtimeapi): each
// invocation gets a deadline and is killed at it, a failed one is retried
// after Lambda's delays (scaled, see timeScale), the AWS calls reach local
// endpoints through AWS_ENDPOINT_URL (S3's and S3 Control's per-bucket and
// per-account host names through HTTP_PROXY), DynamoDB is dynalite, and
// Slack misbehaves as each case says. Whatever happens, each channel gets
// the alert exactly once (once more only after a crash between the send
// and its mark, the one case where trailwatch repeats an alert rather than
// risk losing it), or the last attempt fails so the event is kept in the
// dead-letter queue: never a success without delivery.
// TRAILWATCH_E2E_LOG=1 prints each case's attempts and bootstrap output.
func TestEndToEndAtTheDeadline(t *testing.T) {
	bin := bootstrap(t)
	scenarios := []e2eCase{
		{
			name:      "slack never answers the first invocation",
			slack:     []slackDoes{hangs, answers},
			outcomes:  []runtimeapi.Outcome{runtimeapi.Failed, runtimeapi.Success},
			errors:    []string{"no answer: timed out after"},
			delivered: 1,
		},
		{
			name:      "stalled at the deadline: killed, and the retry a minute later takes over",
			slack:     []slackDoes{freezes, answers},
			outcomes:  []runtimeapi.Outcome{runtimeapi.TimedOut, runtimeapi.Success},
			delivered: 1,
		},
		{
			name:      "slack down until the retry after three minutes",
			slack:     []slackDoes{hangs, hangs, answers},
			outcomes:  []runtimeapi.Outcome{runtimeapi.Failed, runtimeapi.Failed, runtimeapi.Success},
			errors:    []string{"no answer: timed out after", "no answer: timed out after"},
			delivered: 1,
		},
		{
			name:     "slack never answers: the last attempt fails and the event is kept",
			slack:    []slackDoes{hangs},
			outcomes: []runtimeapi.Outcome{runtimeapi.Failed, runtimeapi.Failed, runtimeapi.Failed},
			errors:   []string{"no answer: timed out after", "no answer: timed out after", "no answer: timed out after"},
		},
		{
			// The retry a minute after the crash finds the claim held
			// (the holder's deadline has not passed) and fails; the one
			// after three minutes takes it over and sends again.
			name:      "crash between the send and its mark",
			slack:     []slackDoes{answersThenCrash, answers},
			outcomes:  []runtimeapi.Outcome{runtimeapi.Crashed, runtimeapi.Failed, runtimeapi.Success},
			errors:    []string{"another invocation holds the delivery"},
			delivered: 2,
			crash:     true,
		},
	}
	// The cases mostly wait (on deadlines and retry delays): they run side
	// by side, then are checked one by one.
	runs := make([]*e2eRun, len(scenarios))
	var wg sync.WaitGroup
	for i, tc := range scenarios {
		runs[i] = startE2E(t, bin, tc)
		payload := ruleInput(t, "s3-bucket-public-access-block-disabled", "s3/put-bucket-public-access-block-sso-policy-off.json")
		wg.Go(func() { runs[i].res = runs[i].rt.InvokeAsync(payload) })
	}
	wg.Wait()
	for i, tc := range scenarios {
		t.Run(tc.name, func(t *testing.T) {
			res, rt, a, slack := runs[i].res, runs[i].rt, runs[i].aws, runs[i].slack
			defer func() {
				if t.Failed() || os.Getenv("TRAILWATCH_E2E_LOG") != "" {
					t.Logf("attempts: %v\nbootstrap output:\n%s", res.Attempts, rt.Output())
				}
			}()
			var got []runtimeapi.Outcome
			var errs []string
			for i, at := range res.Attempts {
				got = append(got, at.Outcome)
				if at.Outcome == runtimeapi.Failed {
					errs = append(errs, at.Error)
					// The budget makes it answer before Lambda stops it.
					if !at.End.Before(at.Deadline) {
						t.Errorf("attempt %d failed %s after its deadline: %s", i+1, at.End.Sub(at.Deadline), at)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.outcomes) {
				t.Errorf("attempts %v, want %v", res.Attempts, tc.outcomes)
			}
			for i, want := range tc.errors {
				if i >= len(errs) || !strings.Contains(errs[i], want) {
					t.Errorf("failed attempt %d: error %q, want one containing %q", i+1, errs, want)
				}
			}
			last := res.Attempts[len(res.Attempts)-1]
			posts, delivered := slack.counts()
			publishes := 0
			for _, r := range a.Requests() {
				if r.Operation() == "Publish" {
					publishes++
				}
			}
			if last.Outcome == runtimeapi.Success && (delivered == 0 || publishes == 0) {
				t.Fatalf("LOST ALERT: the last attempt succeeded, but Slack got %d of %d posts and SNS %d publishes", delivered, posts, publishes)
			}
			if res.DeadLettered != (last.Outcome != runtimeapi.Success) {
				t.Errorf("dead-lettered %v after a last attempt that ended %s", res.DeadLettered, last)
			}
			if delivered != tc.delivered {
				t.Errorf("Slack got the alert %d times (%d posts), want %d", delivered, posts, tc.delivered)
			}
			if publishes != 1 {
				t.Errorf("SNS got %d publishes, want 1", publishes)
			}
		})
	}
}

// e2eCase is one way Slack misbehaves, and what must come of it.
type e2eCase struct {
	name      string
	slack     []slackDoes
	outcomes  []runtimeapi.Outcome
	errors    []string // in the failed attempts' errors, in order
	delivered int
	crash     bool
}

// e2eRun is a case's stand-ins and what happened.
type e2eRun struct {
	res   runtimeapi.Result
	rt    *runtimeapi.Runtime
	aws   *awstest.Server
	slack *e2eSlack
}

// startE2E starts a case's stand-ins: local AWS, a fresh table on dynalite
// behind its proxy, the local Slack and the Runtime API around the
// bootstrap.
func startE2E(t *testing.T, bin string, tc e2eCase) *e2eRun {
	t.Helper()
	a := awstest.NewServer(t)
	handleAWS(t, a)
	ddb := dynalite.Client(t)
	table := dynalite.Table(t, ddb)
	proxy := newDDBProxy(t, dynalite.URL(t))
	slack := &e2eSlack{does: tc.slack, emailSent: func() bool { return proxy.isMarked("#email") }}
	slack.Server = httptest.NewServer(http.HandlerFunc(slack.serve))
	t.Cleanup(slack.Close)
	a.Handle(awstest.Target("secretsmanager.GetSecretValue"), awstest.Response{Body: strings.Replace(
		awstest.Recorded(t, "deliver", "secretsmanager-get-secret-value-local.json"), "__WEBHOOK_URL__", slack.URL+webhookPath, 1)})

	fnEnv, err := config.Runtime{SlackSecretName: secretName, TopicARN: topicARN, StateTable: table}.Env()
	if err != nil {
		t.Fatal(err)
	}
	awsURL, _ := url.Parse(a.URL())
	env := []string{
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIDE2E", "AWS_SECRET_ACCESS_KEY=e2e-secret", "AWS_SESSION_TOKEN=e2e-token",
		// Every AWS service at the local stand-in, DynamoDB at dynalite.
		"AWS_ENDPOINT_URL=" + a.URL(),
		"AWS_ENDPOINT_URL_DYNAMODB=" + proxy.URL,
		// aws.test and its subdomains (bucket.aws.test, the account's
		// S3 Control host) resolve nowhere: a proxy reaches them.
		// Loopback addresses (dynalite, Slack, the Runtime API) are
		// never proxied.
		"HTTP_PROXY=http://127.0.0.1:" + awsURL.Port(),
		"GOMAXPROCS=1", "GOGC=400", "GOMEMLIMIT=96MiB", // as infra/function.go sets them
		"AWS_LAMBDA_FUNCTION_NAME=trailwatch-cloudtrail", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
	}
	for k, v := range fnEnv {
		env = append(env, k+"="+v)
	}
	rt := runtimeapi.Start(t, runtimeapi.Function{Bootstrap: bin, Env: env, Timeout: functionTimeout, RetryDelays: retryDelays})
	slack.mu.Lock()
	slack.rt = rt
	slack.mu.Unlock()
	if tc.crash {
		proxy.mu.Lock()
		proxy.onMark = func(key string, r *http.Request) bool {
			if rt.Attempt() != 1 || !strings.HasSuffix(key, "#slack") {
				return true
			}
			rt.Kill()
			return false
		}
		proxy.mu.Unlock()
	}
	return &e2eRun{rt: rt, aws: a, slack: slack}
}
