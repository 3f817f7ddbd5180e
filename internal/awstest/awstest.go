// Package awstest runs a local HTTP server that stands in for AWS endpoints
// in tests, answering with recorded AWS responses. Tests use the real
// aws-sdk-go-v2 clients (signing, serialization, retries, error parsing):
// Config points them at the server, whatever host the SDK builds (virtual
// hosted S3 buckets, S3 Control's account prefix) is dialled to it.
package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/trailwatch/trailwatch/internal/fixture"
)

// Host is the fake domain the SDK is pointed at; every connection to it, or
// to any subdomain, reaches the server.
const Host = "aws.test"

// Request is one request the server received.
type Request struct {
	Method string
	Host   string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Retry is set for a request identical to one a HandleRead route
	// already answered with success (same method, host, path, query, target
	// and body): the client sent it again because it could not read that
	// answer, and got the same one again.
	Retry bool
}

// fingerprint identifies a request's content, headers (signatures, dates,
// attempt counters) aside.
func (r Request) fingerprint() string {
	return r.Method + " " + r.Host + r.Path + "?" + r.Query.Encode() + " " + r.Header.Get("X-Amz-Target") + "\n" + string(r.Body)
}

// Operation names the request the way the matchers see it, for messages.
func (r Request) Operation() string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t
	}
	if form, err := url.ParseQuery(string(r.Body)); err == nil && form.Get("Action") != "" {
		return form.Get("Action")
	}
	return r.Method + " " + r.Path + "?" + r.Query.Encode()
}

// Response is a recorded answer.
type Response struct {
	Status int
	Header map[string]string
	Body   string
	// Delay holds the answer back, to exercise client timeouts.
	Delay time.Duration
}

// Matcher decides whether a route answers a request.
type Matcher func(Request) bool

// Target matches JSON-protocol operations by X-Amz-Target
// ("secretsmanager.GetSecretValue").
func Target(name string) Matcher {
	return func(r Request) bool { return r.Header.Get("X-Amz-Target") == name }
}

// Action matches query-protocol operations (IAM, SNS, STS) by their Action.
func Action(name string) Matcher {
	return func(r Request) bool {
		form, err := url.ParseQuery(string(r.Body))
		return err == nil && form.Get("Action") == name
	}
}

// REST matches REST operations by method, a path suffix, and the presence
// of a query key (S3 subresources such as "policyStatus"; empty for none).
func REST(method, pathSuffix, queryKey string) Matcher {
	return func(r Request) bool {
		if r.Method != method || !strings.HasSuffix(r.Path, pathSuffix) {
			return false
		}
		return queryKey == "" || r.Query.Has(queryKey)
	}
}

type route struct {
	match     Matcher
	responses []Response
	served    int
	// answered holds, for a HandleRead route, which response each request
	// answered with success got.
	answered map[string]int
	// proxy, when set, forwards the request instead of answering.
	proxy *httputil.ReverseProxy
}

// Server is the local AWS stand-in.
type Server struct {
	srv *httptest.Server
	t   testing.TB

	mu       sync.Mutex
	routes   []*route
	requests []Request
}

// NewServer starts a server that is closed when the test ends. Requests no
// route answers get a 400 and fail the test.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the base endpoint to give SDK clients.
func (s *Server) URL() string {
	_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	return "http://" + Host + ":" + port
}

// Handle answers requests the matcher accepts with the responses in order;
// the last one repeats.
func (s *Server) Handle(m Matcher, responses ...Response) {
	if len(responses) == 0 {
		s.t.Fatal("awstest: Handle needs at least one response")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = append(s.routes, &route{match: m, responses: responses})
}

// HandleRead is Handle for read-only operations (LookupEvents, Describe*,
// Get*), answered as the service would answer them: a request identical to
// one already answered with success gets that answer again and is marked
// Retry, where Handle would give the next response. The SDK retries a
// request whose answer it could not read (a connection that failed
// mid-body); a read-only service answers the retry alike, and the test
// sees the same pages in the same order.
func (s *Server) HandleRead(m Matcher, responses ...Response) {
	s.Handle(m, responses...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[len(s.routes)-1].answered = map[string]int{}
}

// Proxy forwards requests the matcher accepts to a real server (such as
// dynalite for DynamoDB), so one endpoint serves every service a test uses.
func (s *Server) Proxy(m Matcher, target string) {
	u, err := url.Parse(target)
	if err != nil {
		s.t.Fatalf("awstest: proxy target %q: %v", target, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = append(s.routes, &route{match: m, proxy: httputil.NewSingleHostReverseProxy(u)})
}

// TargetPrefix matches JSON-protocol operations of one service by the
// prefix of their X-Amz-Target ("DynamoDB_20120810.").
func TargetPrefix(prefix string) Matcher {
	return func(r Request) bool { return strings.HasPrefix(r.Header.Get("X-Amz-Target"), prefix) }
}

// Requests returns what the server received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	s.mu.Lock()
	var resp *Response
	var proxy *httputil.ReverseProxy
	for _, rt := range s.routes {
		if !rt.match(req) {
			continue
		}
		if rt.proxy != nil {
			proxy = rt.proxy
			break
		}
		key := req.fingerprint()
		if i, ok := rt.answered[key]; ok {
			req.Retry = true
			resp = &rt.responses[i]
			break
		}
		i := min(rt.served, len(rt.responses)-1)
		rt.served++
		resp = &rt.responses[i]
		if rt.answered != nil && (resp.Status == 0 || resp.Status/100 == 2) {
			rt.answered[key] = i
		}
		break
	}
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if proxy != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
		return
	}
	if resp == nil {
		s.t.Errorf("awstest: no recorded response for %s (host %s)", req.Operation(), req.Host)
		http.Error(w, "no recorded response", http.StatusBadRequest)
		return
	}
	if resp.Delay > 0 {
		select {
		case <-time.After(resp.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("x-amzn-RequestId") == "" {
		w.Header().Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.Copy(w, bytes.NewReader([]byte(resp.Body)))
}

// Config returns an aws.Config for region whose clients reach the server:
// static test credentials, the server as base endpoint, a transport that
// dials the server for any host, and the SDK's standard retryer without
// backoff delays so retry tests stay fast.
func (s *Server) Config(region string) aws.Config {
	addr := s.srv.Listener.Addr().String()
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDAWSTEST", "awstest-secret", ""),
		BaseEndpoint: aws.String(s.URL()),
		HTTPClient:   &http.Client{Transport: transport},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

// File reads a recorded response body from the calling package's testdata.
func File(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("awstest: recorded response %s: %v", name, err)
	}
	return string(b)
}

// Recorded reads a recorded response kept in another package's testdata,
// for tests that exercise several services at once: Recorded(t, "deliver",
// "sns-publish.xml") reads internal/deliver/testdata/sns-publish.xml.
func Recorded(t testing.TB, pkg, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture.Root(t), "internal", pkg, "testdata", name))
	if err != nil {
		t.Fatalf("awstest: recorded response: %v", err)
	}
	return string(b)
}

// XMLError is the body S3 and query-protocol services send for an error.
func XMLError(code, message string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>`, code, message)
}

// JSONError is the body JSON-protocol services send for an error.
func JSONError(code, message string) string {
	return fmt.Sprintf(`{"__type":"%s","message":"%s"}`, code, message)
}

// S3Error is the body S3 sends for an error.
func S3Error(code, message string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>%s</Message><RequestId>0000000000000000</RequestId><HostId>awstest</HostId></Error>`, code, message)
}

// CBOR encodes a recorded response written as JSON for services that speak
// Smithy RPC v2 CBOR (CloudWatch): numbers become CBOR numbers and strings
// that are RFC 3339 times become epoch-seconds timestamps (tag 1), as the
// service sends them. Use it with CBORHeader.
func CBOR(t testing.TB, jsonText string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(jsonText))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("awstest: recorded CBOR response is not JSON: %v", err)
	}
	return string(cbor.Encode(toCBOR(v)))
}

// CBORHeader is the header of a Smithy RPC v2 CBOR response.
var CBORHeader = map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}

func toCBOR(v any) cbor.Value {
	switch x := v.(type) {
	case map[string]any:
		m := cbor.Map{}
		for k, e := range x {
			m[k] = toCBOR(e)
		}
		return m
	case []any:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = toCBOR(e)
		}
		return l
	case string:
		if ts, err := time.Parse(time.RFC3339, x); err == nil {
			return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(ts.UnixMilli()) / 1000)}
		}
		return cbor.String(x)
	case json.Number:
		if n, err := x.Int64(); err == nil && n >= 0 {
			return cbor.Uint(uint64(n))
		}
		f, _ := x.Float64()
		return cbor.Float64(f)
	case bool:
		return cbor.Bool(x)
	}
	return &cbor.Nil{}
}
