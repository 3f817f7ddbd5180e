// Package runtimeapi stands in for AWS Lambda around a real bootstrap
// binary, for end-to-end tests of the functions: it serves the Lambda
// Runtime API a provided.al2023 bootstrap polls (GET
// /2018-06-01/runtime/invocation/next with the invocation's deadline in
// Lambda-Runtime-Deadline-Ms, POST .../response and .../error), stops the
// process at the deadline as Lambda does (SIGKILL), and retries a failed
// asynchronous invocation after Lambda's delays, starting a new process
// when the last one is gone. After the last failed attempt the event goes
// to the on-failure destination (Result.DeadLettered).
//
// It is written here rather than taken from
// github.com/aws/aws-lambda-runtime-interface-emulator: the emulator runs
// one invocation at a time under its own timeout and has no asynchronous
// retries, no way to say when to stop a process and no record of how each
// attempt ended, which is what these tests check. The API it serves is
// the four endpoints above.
package runtimeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// LambdaRetryDelays are Lambda's waits before the two retries of a failed
// asynchronous invocation: one minute, then two.
var LambdaRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// Function is how the bootstrap runs.
type Function struct {
	// Bootstrap is the executable.
	Bootstrap string
	// Env is the process's environment; AWS_LAMBDA_RUNTIME_API is added.
	Env []string
	// Timeout is the function's timeout: an invocation's deadline is when
	// the bootstrap receives it plus Timeout.
	Timeout time.Duration
	// RetryDelays are the waits before each retry (LambdaRetryDelays, or
	// those scaled down); their number is the number of retries.
	RetryDelays []time.Duration
	// ARN is the function's ARN, as the invocations name it.
	ARN string
}

// Outcome is how an attempt ended.
type Outcome string

// Outcomes.
const (
	Success Outcome = "success"
	// Failed: the function returned an error.
	Failed Outcome = "error"
	// TimedOut: the deadline passed without an answer; the process was
	// killed.
	TimedOut Outcome = "killed at the deadline"
	// Crashed: the process ended (or was killed by Kill) without answering.
	Crashed Outcome = "crashed"
)

// Attempt is one invocation of the event.
type Attempt struct {
	Start, End time.Time
	// Deadline is the deadline the bootstrap was given.
	Deadline time.Time
	Outcome  Outcome
	// Error is the errorMessage the function reported.
	Error string
	// Cold is set when the attempt started a new process.
	Cold bool
}

// Result is what happened to an asynchronous invocation.
type Result struct {
	Attempts []Attempt
	// DeadLettered is set when the last attempt failed too: Lambda hands
	// the event to the on-failure destination (trailwatch's dead-letter
	// queue), where it is kept.
	DeadLettered bool
}

// Runtime runs one function's bootstrap.
type Runtime struct {
	t   testing.TB
	f   Function
	srv *httptest.Server
	out *lockedBuffer

	next chan *invocation // handed to the bootstrap's GET .../next

	mu      sync.Mutex
	proc    *process
	current *invocation
	attempt int
}

// invocation is one attempt in flight.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	received chan struct{} // closed when the bootstrap has it
	done     chan answer   // its answer (buffered)
}

type answer struct {
	outcome Outcome
	err     string
}

// process is one run of the bootstrap.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start serves the Runtime API for f; the process and server end with the
// test.
func Start(t testing.TB, f Function) *Runtime {
	t.Helper()
	r := &Runtime{t: t, f: f, out: &lockedBuffer{}, next: make(chan *invocation)}
	if r.f.ARN == "" {
		r.f.ARN = "arn:aws:lambda:eu-west-1:111122223333:function:trailwatch"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", r.serveAnswer(Success))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", r.serveAnswer(Failed))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		t.Errorf("runtimeapi: the bootstrap failed to initialize: %s", b)
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		r.mu.Lock()
		p := r.proc
		r.mu.Unlock()
		if p != nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		r.srv.Close()
	})
	return r
}

// Output is what the bootstrap wrote to standard output and error.
func (r *Runtime) Output() string { return r.out.String() }

// Attempt is the number of the attempt in progress (1-based), or of the
// last one.
func (r *Runtime) Attempt() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempt
}

// Kill stops the process now, as a crash would: the attempt in progress
// ends Crashed.
func (r *Runtime) Kill() {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p != nil {
		_ = p.cmd.Process.Kill()
	}
}

// InvokeAsync invokes the function with payload as Lambda does an
// asynchronous invocation: on a failure it waits the next retry delay and
// tries again, with the same payload.
func (r *Runtime) InvokeAsync(payload []byte) Result {
	var res Result
	for i := 0; ; i++ {
		a := r.invokeOnce(payload, i+1)
		res.Attempts = append(res.Attempts, a)
		if a.Outcome == Success {
			return res
		}
		if i >= len(r.f.RetryDelays) {
			res.DeadLettered = true
			return res
		}
		time.Sleep(r.f.RetryDelays[i])
	}
}

func (r *Runtime) invokeOnce(payload []byte, n int) Attempt {
	a := Attempt{Start: time.Now()}
	r.mu.Lock()
	r.attempt = n
	p := r.proc
	r.mu.Unlock()
	if p == nil || p.gone() {
		var err error
		if p, err = r.startProcess(); err != nil {
			r.t.Fatalf("runtimeapi: start %s: %v", r.f.Bootstrap, err)
		}
		a.Cold = true
	}
	inv := &invocation{
		id:       "req-" + strconv.Itoa(n) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		payload:  payload,
		received: make(chan struct{}),
		done:     make(chan answer, 1),
	}
	r.mu.Lock()
	r.current = inv
	r.mu.Unlock()
	// Handed over when the bootstrap asks; a process that dies first
	// (during its init) fails the attempt.
	select {
	case r.next <- inv:
	case <-p.exited:
		a.End, a.Outcome = time.Now(), Crashed
		return a
	}
	select {
	case <-inv.received:
	case <-p.exited:
		a.End, a.Outcome = time.Now(), Crashed
		return a
	}
	a.Deadline = inv.deadline
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case ans := <-inv.done:
		a.Outcome, a.Error = ans.outcome, ans.err
	case <-p.exited:
		a.Outcome = Crashed
	case <-timer.C:
		// Lambda stops the function at its timeout, whatever it is doing.
		_ = p.cmd.Process.Kill()
		<-p.exited
		a.Outcome = TimedOut
		select {
		case ans := <-inv.done: // answered in the last instant
			a.Outcome, a.Error = ans.outcome, ans.err
		default:
		}
	}
	a.End = time.Now()
	return a
}

func (r *Runtime) startProcess() (*process, error) {
	host := strings.TrimPrefix(r.srv.URL, "http://")
	cmd := exec.Command(r.f.Bootstrap)
	cmd.Env = append(append([]string(nil), r.f.Env...), "AWS_LAMBDA_RUNTIME_API="+host)
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
	return p, nil
}

func (p *process) gone() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// serveNext hands the bootstrap the next invocation, when there is one.
func (r *Runtime) serveNext(w http.ResponseWriter, req *http.Request) {
	var inv *invocation
	select {
	case inv = <-r.next:
	case <-req.Context().Done():
		return
	}
	if req.Context().Err() != nil {
		// The process that asked is gone (killed while it waited): the
		// live one, asking too, gets it.
		go func() { r.next <- inv }()
		return
	}
	inv.deadline = time.Now().Add(r.f.Timeout)
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", r.f.ARN)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
	close(inv.received)
}

// serveAnswer records the bootstrap's answer to an invocation.
func (r *Runtime) serveAnswer(o Outcome) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		inv := r.current
		r.mu.Unlock()
		if inv == nil || inv.id != req.PathValue("id") {
			http.Error(w, "unknown request ID", http.StatusBadRequest)
			return
		}
		ans := answer{outcome: o}
		if o == Failed {
			var e struct {
				Message string `json:"errorMessage"`
			}
			if json.Unmarshal(body, &e) == nil {
				ans.err = e.Message
			} else {
				ans.err = string(body)
			}
		}
		select {
		case inv.done <- ans:
		default: // answered twice: the first counts
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// lockedBuffer is a buffer safe for the process's two writers and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// String summarizes an attempt: "2 (cold): error after 2.45s: ...".
func (a Attempt) String() string {
	s := fmt.Sprintf("%s after %s", a.Outcome, a.End.Sub(a.Start).Round(10*time.Millisecond))
	if a.Cold {
		s = "(cold) " + s
	}
	if a.Error != "" {
		s += ": " + a.Error
	}
	return s
}
