package deliver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/deliver"
)

// webhookPath is the secret part of every test webhook URL.
const webhookPath = "/services/T0SECRET0/B0SECRET0/hookSecretToken123456789"

// secretParts are the pieces of webhookPath no error may contain.
var secretParts = []string{webhookPath, "T0SECRET0", "B0SECRET0", "hookSecretToken123456789"}

var payload = []byte(`{"text":"S3 bucket policy made public","blocks":[]}`)

// reply is one scripted answer of the fake Slack.
type reply struct {
	status int
	header map[string]string
	body   string
	hang   bool // answer only when the client gives up
}

type slackRequest struct {
	method, path, contentType, body string
}

// fakeSlack is an incoming-webhook endpoint answering with scripted
// replies in order; the last one repeats.
type fakeSlack struct {
	srv     *httptest.Server
	release chan struct{}

	mu       sync.Mutex
	replies  []reply
	requests []slackRequest
}

func newFakeSlack(t *testing.T, replies ...reply) *fakeSlack {
	t.Helper()
	f := &fakeSlack{replies: replies, release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.release) }) // runs first: frees hanging handlers
	return f
}

// URL is the webhook URL, secret path included.
func (f *fakeSlack) URL() string { return f.srv.URL + webhookPath }

func (f *fakeSlack) Requests() []slackRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	rp := f.replies[min(len(f.requests), len(f.replies)-1)]
	f.requests = append(f.requests, slackRequest{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), body: string(body)})
	f.mu.Unlock()
	if rp.hang {
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	}
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(rp.status)
	_, _ = io.WriteString(w, rp.body)
}

// sleeper records the waits Slack asks for instead of waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
	err   error // returned from Sleep, as when the context ends mid-wait
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	if s.err != nil {
		return s.err
	}
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// countingWebhook is a fixed URL that counts Invalidate calls.
type countingWebhook struct {
	url         string
	invalidated atomic.Int32
}

func (w *countingWebhook) WebhookURL(context.Context) (string, error) { return w.url, nil }
func (w *countingWebhook) Invalidate()                                { w.invalidated.Add(1) }

var _ deliver.WebhookSource = (*countingWebhook)(nil)

func TestSlackPost(t *testing.T) {
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		replies      []reply
		slack        deliver.Slack // Webhook and Sleep are filled in
		ctx          func(t *testing.T) context.Context
		sleepErr     error
		wantErr      string // substring; "" for delivered
		wantRejected bool
		wantIs       error
		wantRequests int
		wantWaits    []time.Duration
		wantInvalid  int32
	}{
		{
			name:         "200 ok",
			replies:      []reply{{status: 200, body: "ok"}},
			wantRequests: 1,
		},
		{
			name:         "204 is delivered too",
			replies:      []reply{{status: 204}},
			wantRequests: 1,
		},
		{
			name:         "429 with Retry-After 2, then 200",
			replies:      []reply{{status: 429, header: map[string]string{"Retry-After": "2"}, body: "rate_limited"}, {status: 200, body: "ok"}},
			wantRequests: 2,
			wantWaits:    []time.Duration{2 * time.Second},
		},
		{
			name:         "429 with Retry-After as an HTTP date, then 200",
			replies:      []reply{{status: 429, header: map[string]string{"Date": date.Format(http.TimeFormat), "Retry-After": date.Add(3 * time.Second).Format(http.TimeFormat)}}, {status: 200, body: "ok"}},
			wantRequests: 2,
			wantWaits:    []time.Duration{3 * time.Second},
		},
		{
			name:         "429 with Retry-After 0, then 200",
			replies:      []reply{{status: 429, header: map[string]string{"Retry-After": "0"}}, {status: 200, body: "ok"}},
			wantRequests: 2,
			wantWaits:    []time.Duration{0},
		},
		{
			name:         "429 without Retry-After backs off",
			replies:      []reply{{status: 429, body: "rate_limited"}, {status: 200, body: "ok"}},
			wantRequests: 2,
			wantWaits:    []time.Duration{500 * time.Millisecond},
		},
		{
			name:         "429 with Retry-After over MaxWait",
			replies:      []reply{{status: 429, header: map[string]string{"Retry-After": "31"}, body: "rate_limited"}},
			wantErr:      "rate limited: Slack asks to retry after 31s, longer than the 30s this sender waits: 429 rate_limited",
			wantRequests: 1,
		},
		{
			name:         "429 with Retry-After over a custom MaxWait",
			replies:      []reply{{status: 429, header: map[string]string{"Retry-After": "6"}}},
			slack:        deliver.Slack{MaxWait: 5 * time.Second},
			wantErr:      "rate limited: Slack asks to retry after 6s, longer than the 5s",
			wantRequests: 1,
		},
		{
			name:    "429 with Retry-After past the context deadline",
			replies: []reply{{status: 429, header: map[string]string{"Retry-After": "20"}}},
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				t.Cleanup(cancel)
				return ctx
			},
			wantErr:      "rate limited: retry in 20s would pass the context deadline",
			wantRequests: 1,
		},
		{
			name:         "429 on every attempt",
			replies:      []reply{{status: 429, header: map[string]string{"Retry-After": "1"}, body: "rate_limited"}},
			wantErr:      "gave up after 3 attempts: 429 rate_limited",
			wantRequests: 3,
			wantWaits:    []time.Duration{time.Second, time.Second},
		},
		{
			name:         "500 three times",
			replies:      []reply{{status: 500, body: "internal_error"}},
			wantErr:      "gave up after 3 attempts: 500 internal_error",
			wantRequests: 3,
			wantWaits:    []time.Duration{500 * time.Millisecond, time.Second},
		},
		{
			name:         "503 five times with 5 attempts",
			replies:      []reply{{status: 503}},
			slack:        deliver.Slack{Attempts: 5},
			wantErr:      "gave up after 5 attempts: 503 Service Unavailable",
			wantRequests: 5,
			wantWaits:    []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name:         "500 then 200",
			replies:      []reply{{status: 500}, {status: 200, body: "ok"}},
			wantRequests: 2,
			wantWaits:    []time.Duration{500 * time.Millisecond},
		},
		{
			name:         "502, 504, then 200",
			replies:      []reply{{status: 502}, {status: 504}, {status: 200, body: "ok"}},
			wantRequests: 3,
			wantWaits:    []time.Duration{500 * time.Millisecond, time.Second},
		},
		{
			name:         "404 channel_not_found",
			replies:      []reply{{status: 404, body: "channel_not_found"}},
			wantErr:      "rejected: 404 channel_not_found",
			wantRejected: true,
			wantRequests: 1,
			wantInvalid:  1,
		},
		{
			name:         "404 no_service",
			replies:      []reply{{status: 404, body: "no_service"}},
			wantErr:      "rejected: 404 no_service",
			wantRejected: true,
			wantRequests: 1,
			wantInvalid:  1,
		},
		{
			name:         "410 channel_is_archived",
			replies:      []reply{{status: 410, body: "channel_is_archived"}},
			wantErr:      "rejected: 410 channel_is_archived",
			wantRejected: true,
			wantRequests: 1,
			wantInvalid:  1,
		},
		{
			name:         "403 invalid_token",
			replies:      []reply{{status: 403, body: "invalid_token"}},
			wantErr:      "rejected: 403 invalid_token",
			wantRejected: true,
			wantRequests: 1,
			wantInvalid:  1,
		},
		{
			name:         "403 action_prohibited",
			replies:      []reply{{status: 403, body: "action_prohibited"}},
			wantErr:      "rejected: 403 action_prohibited",
			wantRejected: true,
			wantRequests: 1,
			wantInvalid:  1,
		},
		{
			name:         "400 invalid_payload",
			replies:      []reply{{status: 400, body: "invalid_payload"}},
			wantErr:      "rejected: 400 invalid_payload",
			wantRejected: true,
			wantRequests: 1,
		},
		{
			name:         "400 no_text",
			replies:      []reply{{status: 400, body: "no_text\n"}},
			wantErr:      "rejected: 400 no_text",
			wantRejected: true,
			wantRequests: 1,
		},
		{
			name:         "400 with control characters and a long body",
			replies:      []reply{{status: 400, body: "invalid_payload\x1b[2J\r\n" + strings.Repeat("x", 200)}},
			wantErr:      "rejected: 400 invalid_payload [2J " + strings.Repeat("x", 100-len("invalid_payload [2J ")),
			wantRejected: true,
			wantRequests: 1,
		},
		{
			name:         "400 without a body",
			replies:      []reply{{status: 400}},
			wantErr:      "rejected: 400 Bad Request",
			wantRejected: true,
			wantRequests: 1,
		},
		{
			name:         "redirect is not followed",
			replies:      []reply{{status: 302, header: map[string]string{"Location": "https://elsewhere.example/"}}},
			wantErr:      "rejected: unexpected redirect: 302 Found",
			wantRejected: true,
			wantRequests: 1,
		},
		{
			name:         "server hangs past the client timeout",
			replies:      []reply{{hang: true}},
			slack:        deliver.Slack{HTTP: &http.Client{Timeout: 50 * time.Millisecond}, Attempts: 2},
			wantErr:      "gave up after 2 attempts: Post \"" + "http://127.0.0.1:",
			wantIs:       context.DeadlineExceeded,
			wantRequests: 2,
			wantWaits:    []time.Duration{500 * time.Millisecond},
		},
		{
			name:    "context already cancelled",
			replies: []reply{{status: 200, body: "ok"}},
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			wantErr: "slack: post: context canceled",
			wantIs:  context.Canceled,
		},
		{
			name:         "context ends while waiting to retry",
			replies:      []reply{{status: 500}},
			sleepErr:     context.Canceled,
			wantErr:      "waiting to retry: context canceled (last attempt: 500 Internal Server Error)",
			wantIs:       context.Canceled,
			wantRequests: 1,
			wantWaits:    []time.Duration{500 * time.Millisecond},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slack := newFakeSlack(t, tc.replies...)
			hook := &countingWebhook{url: slack.URL()}
			sl := &sleeper{err: tc.sleepErr}
			s := tc.slack
			s.Webhook, s.Sleep = hook, sl.Sleep
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx(t)
			}

			err := s.Post(ctx, payload)

			checkErr(t, err, tc.wantErr)
			if got := errors.Is(err, deliver.ErrRejected); got != tc.wantRejected {
				t.Errorf("errors.Is(%v, ErrRejected) = %t, want %t", err, got, tc.wantRejected)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tc.wantIs)
			}
			checkNoSecret(t, err)
			reqs := slack.Requests()
			if len(reqs) != tc.wantRequests {
				t.Errorf("%d requests, want %d", len(reqs), tc.wantRequests)
			}
			want := slackRequest{method: http.MethodPost, path: webhookPath, contentType: "application/json", body: string(payload)}
			for i, r := range reqs {
				if r != want {
					t.Errorf("request %d: %+v, want %+v", i+1, r, want)
				}
			}
			if got := sl.Waits(); !slices.Equal(got, tc.wantWaits) {
				t.Errorf("waits %v, want %v", got, tc.wantWaits)
			}
			if got := hook.invalidated.Load(); got != tc.wantInvalid {
				t.Errorf("Invalidate called %d times, want %d", got, tc.wantInvalid)
			}
		})
	}
}

// TestSlackErrorsHideWebhookPath fails if any failure mode lets the
// webhook URL's path (the credential) into the error text.
func TestSlackErrorsHideWebhookPath(t *testing.T) {
	for _, tc := range []struct {
		name      string
		setup     func(t *testing.T) deliver.Slack
		wantErr   string // substring, to show the failure is the intended one
		wantWhere bool   // the error names the endpoint as scheme://host/…
	}{
		{
			name: "connection refused",
			setup: func(t *testing.T) deliver.Slack {
				srv := httptest.NewServer(http.NotFoundHandler())
				u := srv.URL + webhookPath
				srv.Close()
				return deliver.Slack{Webhook: deliver.StaticWebhook(u)}
			},
			wantErr:   "connect: connection refused",
			wantWhere: true,
		},
		{
			name: "timeout",
			setup: func(t *testing.T) deliver.Slack {
				f := newFakeSlack(t, reply{hang: true})
				return deliver.Slack{Webhook: deliver.StaticWebhook(f.URL()), HTTP: &http.Client{Timeout: 50 * time.Millisecond}, Attempts: 1}
			},
			wantErr:   "Client.Timeout exceeded",
			wantWhere: true,
		},
		{
			name: "404",
			setup: func(t *testing.T) deliver.Slack {
				f := newFakeSlack(t, reply{status: 404, body: "no_service"})
				return deliver.Slack{Webhook: deliver.StaticWebhook(f.URL())}
			},
			wantErr:   "404 no_service",
			wantWhere: true,
		},
		{
			name: "500",
			setup: func(t *testing.T) deliver.Slack {
				f := newFakeSlack(t, reply{status: 500})
				return deliver.Slack{Webhook: deliver.StaticWebhook(f.URL())}
			},
			wantErr:   "gave up after 3 attempts: 500",
			wantWhere: true,
		},
		{
			name: "500 whose body repeats the URL",
			setup: func(t *testing.T) deliver.Slack {
				f := newFakeSlack(t)
				f.replies = []reply{{status: 500, body: "upstream failed for POST " + f.URL() + "?x=1"}}
				return deliver.Slack{Webhook: deliver.StaticWebhook(f.URL()), Attempts: 1}
			},
			wantErr:   "500 upstream failed for POST",
			wantWhere: true,
		},
		{
			name: "429 over MaxWait",
			setup: func(t *testing.T) deliver.Slack {
				f := newFakeSlack(t, reply{status: 429, header: map[string]string{"Retry-After": "3600"}})
				return deliver.Slack{Webhook: deliver.StaticWebhook(f.URL())}
			},
			wantErr:   "rate limited",
			wantWhere: true,
		},
		{
			name: "plain http to a remote host",
			setup: func(t *testing.T) deliver.Slack {
				return deliver.Slack{Webhook: deliver.StaticWebhook("http://hooks.slack.com" + webhookPath)}
			},
			wantErr: "plain http",
		},
		{
			name: "URL that does not parse",
			setup: func(t *testing.T) deliver.Slack {
				return deliver.Slack{Webhook: deliver.StaticWebhook("https://hooks slack.com" + webhookPath)}
			},
			wantErr: "does not parse",
		},
		{
			name: "bad secret",
			setup: func(t *testing.T) deliver.Slack {
				srv := awstest.NewServer(t)
				body := strings.ReplaceAll(awstest.File(t, "secretsmanager-get-secret-value-local.json"), "__WEBHOOK_URL__", "ftp://hooks.slack.com"+webhookPath)
				srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), awstest.Response{Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}, Body: body})
				return deliver.Slack{Webhook: deliver.NewSecretWebhook(secretsmanager.NewFromConfig(srv.Config(region)), secretName)}
			},
			wantErr: `slack: webhook secret "trailwatch/slack-webhook": webhook URL scheme "ftp": want https`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.setup(t)
			sl := &sleeper{}
			s.Sleep = sl.Sleep

			err := s.Post(context.Background(), payload)

			checkErr(t, err, tc.wantErr)
			checkNoSecret(t, err)
			if tc.wantWhere && (err == nil || !strings.Contains(err.Error(), "://127.0.0.1:") || !strings.Contains(err.Error(), "/…")) {
				t.Errorf("error %v, want it to name the endpoint as http://127.0.0.1:port/…", err)
			}
		})
	}
}

func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, secret := range secretParts {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q from the webhook URL", err, secret)
		}
	}
	var uerr *url.Error
	if errors.As(err, &uerr) && strings.Contains(uerr.URL, webhookPath) {
		t.Errorf("wrapped *url.Error keeps the URL %q", uerr.URL)
	}
}

// TestSlackSecretWebhookRotation follows a rotation: Slack refuses the old
// webhook, the cached URL is dropped, and the next post reads the secret
// again and reaches the new webhook.
func TestSlackSecretWebhookRotation(t *testing.T) {
	oldHook := newFakeSlack(t, reply{status: 404, body: "no_service"})
	newHook := newFakeSlack(t, reply{status: 200, body: "ok"})
	srv := awstest.NewServer(t)
	secret := func(u string) awstest.Response {
		body := strings.ReplaceAll(awstest.File(t, "secretsmanager-get-secret-value-local.json"), "__WEBHOOK_URL__", u)
		return awstest.Response{Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}, Body: body}
	}
	srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), secret(oldHook.URL()), secret(newHook.URL()))
	s := &deliver.Slack{
		Webhook: deliver.NewSecretWebhook(secretsmanager.NewFromConfig(srv.Config(region)), secretName),
		Sleep:   (&sleeper{}).Sleep,
	}

	for _, step := range []struct {
		name         string
		wantRejected bool
		wantSecrets  int
		wantOld      int
		wantNew      int
	}{
		{name: "old webhook refused", wantRejected: true, wantSecrets: 1, wantOld: 1},
		{name: "new webhook read and used", wantSecrets: 2, wantOld: 1, wantNew: 1},
		{name: "new webhook cached", wantSecrets: 2, wantOld: 1, wantNew: 2},
	} {
		err := s.Post(context.Background(), payload)
		if got := errors.Is(err, deliver.ErrRejected); got != step.wantRejected || !step.wantRejected && err != nil {
			t.Errorf("%s: error %v, want rejected %t", step.name, err, step.wantRejected)
		}
		checkNoSecret(t, err)
		if got := len(srv.Requests()); got != step.wantSecrets {
			t.Errorf("%s: %d GetSecretValue requests, want %d", step.name, got, step.wantSecrets)
		}
		if got := len(oldHook.Requests()); got != step.wantOld {
			t.Errorf("%s: %d posts to the old webhook, want %d", step.name, got, step.wantOld)
		}
		if got := len(newHook.Requests()); got != step.wantNew {
			t.Errorf("%s: %d posts to the new webhook, want %d", step.name, got, step.wantNew)
		}
	}
}
