package deliver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/deliver"
)

const (
	region     = "us-east-1"
	secretName = "trailwatch/slack-webhook"
)

// validateCases feed TestValidateWebhookURL and seed FuzzValidateWebhookURL.
var validateCases = []struct {
	name    string
	raw     string
	wantErr string // substring; "" for accepted
}{
	{name: "slack https", raw: "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"},
	{name: "https with port", raw: "https://hooks.slack.com:443/services/T0/B0/x"},
	{name: "https without path", raw: "https://hooks.slack.com"},
	{name: "http to 127.0.0.1", raw: "http://127.0.0.1:8080/services/T0/B0/x"},
	{name: "http to 127.255.0.9", raw: "http://127.255.0.9/x"},
	{name: "http to ::1", raw: "http://[::1]:8080/x"},
	{name: "http to localhost", raw: "http://localhost:8080/x"},
	{name: "http to LOCALHOST", raw: "http://LOCALHOST/x"},
	{name: "upper-case scheme", raw: "HTTPS://hooks.slack.com/services/T0/B0/x"},
	{name: "empty", raw: "", wantErr: "empty"},
	{name: "blank", raw: "  ", wantErr: "empty"},
	{name: "http to slack", raw: "http://hooks.slack.com/services/T0/B0/secretpath", wantErr: `host "hooks.slack.com" uses plain http`},
	{name: "upper-case http to slack", raw: "HTTP://hooks.slack.com/services/T0/B0/secretpath", wantErr: "plain http"},
	{name: "http to 128.0.0.1", raw: "http://128.0.0.1/secretpath", wantErr: "plain http"},
	{name: "http to 0.0.0.0", raw: "http://0.0.0.0/secretpath", wantErr: "plain http"},
	{name: "http to localhost subdomain", raw: "http://localhost.example.com/secretpath", wantErr: "plain http"},
	{name: "http to ::1 with zone", raw: "http://[::1%25lo]/secretpath", wantErr: "plain http"},
	{name: "ftp", raw: "ftp://hooks.slack.com/secretpath", wantErr: `scheme "ftp": want https`},
	{name: "no scheme", raw: "hooks.slack.com/services/T0/B0/secretpath", wantErr: "no scheme"},
	{name: "scheme-relative", raw: "//hooks.slack.com/services/T0/B0/secretpath", wantErr: "no scheme"},
	{name: "opaque", raw: "https:hooks.slack.com/secretpath", wantErr: "no host"},
	{name: "no host", raw: "https:///services/T0/B0/secretpath", wantErr: "no host"},
	{name: "port only", raw: "https://:443/secretpath", wantErr: "no host"},
	{name: "user info", raw: "https://user:secretpass@hooks.slack.com/secretpath", wantErr: "user information"},
	{name: "does not parse", raw: "https://hooks slack.com/services/secretpath", wantErr: "does not parse"},
	{name: "control character", raw: "https://hooks.slack.com/secretpath\n", wantErr: "does not parse"},
}

func TestValidateWebhookURL(t *testing.T) {
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			err := deliver.ValidateWebhookURL(tc.raw)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				for _, secret := range []string{"secretpath", "secretpass", "/services/"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q repeats %q from the URL", err, secret)
					}
				}
			}
		})
	}
}

func FuzzValidateWebhookURL(f *testing.F) {
	for _, tc := range validateCases {
		f.Add(tc.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := deliver.ValidateWebhookURL(raw)
		u, perr := url.Parse(raw)
		if err == nil {
			if perr != nil {
				t.Fatalf("accepted %q, which url.Parse refuses: %v", raw, perr)
			}
			host := u.Hostname()
			switch scheme := strings.ToLower(u.Scheme); {
			case host == "":
				t.Fatalf("accepted %q without a host", raw)
			case scheme == "https":
			case scheme == "http":
				ip := net.ParseIP(host)
				if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
					t.Fatalf("accepted plain http to non-loopback host %q: %q", host, raw)
				}
			default:
				t.Fatalf("accepted scheme %q: %q", u.Scheme, raw)
			}
			return
		}
		if perr == nil && len(u.Path) > 1 && strings.HasPrefix(u.Path, "/") && strings.Contains(err.Error(), u.Path) {
			t.Fatalf("error %q repeats the path %q", err, u.Path)
		}
	})
}

func ExampleValidateWebhookURL() {
	for _, raw := range []string{
		"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
		"http://127.0.0.1:8080/services/T0/B0/x",
		"http://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
	} {
		fmt.Println(deliver.ValidateWebhookURL(raw))
	}
	// Output:
	// <nil>
	// <nil>
	// webhook URL to host "hooks.slack.com" uses plain http: want https (http is allowed to loopback hosts only)
}

func TestStaticWebhook(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hook    deliver.StaticWebhook
		wantErr string
	}{
		{name: "https", hook: "https://hooks.slack.com/services/T0/B0/x"},
		{name: "plain http", hook: "http://hooks.slack.com/services/T0/B0/secretpath", wantErr: "webhook URL to host"},
		{name: "empty", hook: "", wantErr: "webhook URL is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.hook.WebhookURL(context.Background())
			checkErr(t, err, tc.wantErr)
			want := string(tc.hook)
			if tc.wantErr != "" {
				want = ""
			}
			if got != want {
				t.Errorf("URL %q, want %q", got, want)
			}
		})
	}
}

// secretResponse is a recorded Secrets Manager answer.
func secretResponse(t *testing.T, status int, file string) awstest.Response {
	return awstest.Response{
		Status: status,
		Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"},
		Body:   awstest.File(t, file),
	}
}

func TestSecretWebhook(t *testing.T) {
	for _, tc := range []struct {
		name      string
		responses []string // testdata files; error bodies have "error" status
		wantURL   string
		wantErr   string // substring; "" for no error
		wantAs    func(error) bool
		wantCalls int
		secret    string // part of the secret value no error may repeat
	}{
		{
			name:      "raw URL",
			responses: []string{"secretsmanager-get-secret-value-raw.json"},
			wantURL:   "https://hooks.slack.com/services/T0000RAW/B0000RAW/rawSecretToken000000000",
			wantCalls: 1,
		},
		{
			name:      "JSON url",
			responses: []string{"secretsmanager-get-secret-value-json-url.json"},
			wantURL:   "https://hooks.slack.com/services/T0000URL/B0000URL/urlSecretToken000000000",
			wantCalls: 1,
		},
		{
			name:      "JSON webhook_url among other keys",
			responses: []string{"secretsmanager-get-secret-value-json-webhook_url.json"},
			wantURL:   "https://hooks.slack.com/services/T0SNAKE0/B0SNAKE0/snakeSecretToken0000000",
			wantCalls: 1,
		},
		{
			name:      "JSON webhookUrl",
			responses: []string{"secretsmanager-get-secret-value-json-webhookUrl.json"},
			wantURL:   "https://hooks.slack.com/services/T0CAMEL0/B0CAMEL0/camelSecretToken0000000",
			wantCalls: 1,
		},
		{
			name:      "plain http URL in the secret",
			responses: []string{"secretsmanager-get-secret-value-http.json"},
			wantErr:   `webhook secret "trailwatch/slack-webhook": webhook URL to host "hooks.slack.com" uses plain http`,
			wantCalls: 1,
			secret:    "plainHttpSecretToken000",
		},
		{
			name:      "JSON without a known key",
			responses: []string{"secretsmanager-get-secret-value-no-key.json"},
			wantErr:   `webhook secret "trailwatch/slack-webhook": JSON object has none of the keys url, webhook_url, webhookUrl`,
			wantCalls: 1,
			secret:    "noKeySecretToken0000000",
		},
		{
			name:      "binary secret",
			responses: []string{"secretsmanager-get-secret-value-binary.json"},
			wantErr:   `webhook secret "trailwatch/slack-webhook" has no string value`,
			wantCalls: 1,
		},
		{
			name:      "ResourceNotFoundException",
			responses: []string{"secretsmanager-resource-not-found.json"},
			wantErr:   `webhook secret "trailwatch/slack-webhook": get value: operation error Secrets Manager: GetSecretValue`,
			wantAs: func(err error) bool {
				var target *types.ResourceNotFoundException
				return errors.As(err, &target)
			},
			wantCalls: 1,
		},
		{
			name:      "AccessDeniedException",
			responses: []string{"secretsmanager-access-denied.json"},
			wantErr:   "AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/trailwatch-alerts/trailwatch-alerts is not authorized",
			wantAs: func(err error) bool {
				var target smithy.APIError
				return errors.As(err, &target) && target.ErrorCode() == "AccessDeniedException"
			},
			wantCalls: 1,
		},
		{
			name:      "DecryptionFailure",
			responses: []string{"secretsmanager-decryption-failure.json"},
			wantErr:   `webhook secret "trailwatch/slack-webhook": get value`,
			wantAs: func(err error) bool {
				var target *types.DecryptionFailure
				return errors.As(err, &target)
			},
			wantCalls: 1,
		},
		{
			name:      "throttled on every SDK attempt",
			responses: []string{"secretsmanager-throttling.json"},
			wantErr:   "ThrottlingException: Rate exceeded",
			wantCalls: 3, // the SDK's standard retryer: 3 attempts
		},
		{
			name:      "throttled once, then answered",
			responses: []string{"secretsmanager-throttling.json", "secretsmanager-get-secret-value-raw.json"},
			wantURL:   "https://hooks.slack.com/services/T0000RAW/B0000RAW/rawSecretToken000000000",
			wantCalls: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.NewServer(t)
			var responses []awstest.Response
			for _, file := range tc.responses {
				status := 200
				if !strings.Contains(file, "get-secret-value") {
					status = 400 // Secrets Manager answers its client errors with 400
				}
				responses = append(responses, secretResponse(t, status, file))
			}
			srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), responses...)
			w := deliver.NewSecretWebhook(secretsmanager.NewFromConfig(srv.Config(region)), secretName)

			got, err := w.WebhookURL(context.Background())

			checkErr(t, err, tc.wantErr)
			if err != nil {
				if tc.wantAs != nil && !tc.wantAs(err) {
					t.Errorf("error %v (%T), want it to match the AWS error type", err, errors.Unwrap(err))
				}
				if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
					t.Errorf("error %q repeats the secret value", err)
				}
			}
			if got != tc.wantURL {
				t.Errorf("URL %q, want %q", got, tc.wantURL)
			}
			reqs := srv.Requests()
			if len(reqs) != tc.wantCalls {
				t.Errorf("%d requests, want %d", len(reqs), tc.wantCalls)
			}
			for _, r := range reqs {
				if got, want := r.Header.Get("Content-Type"), "application/x-amz-json-1.1"; got != want {
					t.Errorf("Content-Type %q, want %q", got, want)
				}
				if got, want := string(r.Body), `{"SecretId":"trailwatch/slack-webhook"}`; got != want {
					t.Errorf("request body %s, want %s", got, want)
				}
			}
		})
	}
}

// fakeClock is a settable clock for TTL tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestSecretWebhookCache(t *testing.T) {
	const rawURL = "https://hooks.slack.com/services/T0000RAW/B0000RAW/rawSecretToken000000000"
	type step struct {
		name         string
		advance      time.Duration
		invalidate   bool
		wantErr      string
		wantRequests int // total so far
	}
	for _, tc := range []struct {
		name      string
		ttl       time.Duration
		responses []awstest.Response
		steps     []step
	}{
		{
			name: "default TTL of 5 minutes",
			steps: []step{
				{name: "first call asks", wantRequests: 1},
				{name: "within TTL is cached", advance: 4 * time.Minute, wantRequests: 1},
				{name: "just before TTL is cached", advance: time.Minute - time.Nanosecond, wantRequests: 1},
				{name: "at TTL asks again", advance: time.Nanosecond, wantRequests: 2},
				{name: "cached again", advance: time.Second, wantRequests: 2},
				{name: "after Invalidate asks again", invalidate: true, wantRequests: 3},
				{name: "cached after Invalidate", wantRequests: 3},
			},
		},
		{
			name: "custom TTL",
			ttl:  time.Minute,
			steps: []step{
				{name: "first call asks", wantRequests: 1},
				{name: "after TTL asks again", advance: 61 * time.Second, wantRequests: 2},
			},
		},
		{
			name: "failures are not cached",
			responses: []awstest.Response{
				{Status: 400, Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}, Body: awstest.File(t, "secretsmanager-resource-not-found.json")},
				{Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}, Body: awstest.File(t, "secretsmanager-get-secret-value-raw.json")},
			},
			steps: []step{
				{name: "failure", wantErr: "ResourceNotFoundException", wantRequests: 1},
				{name: "asks again at once", wantRequests: 2},
				{name: "success is cached", wantRequests: 2},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.NewServer(t)
			responses := tc.responses
			if responses == nil {
				responses = []awstest.Response{secretResponse(t, 200, "secretsmanager-get-secret-value-raw.json")}
			}
			srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), responses...)
			clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			w := deliver.NewSecretWebhook(secretsmanager.NewFromConfig(srv.Config(region)), secretName)
			w.TTL = tc.ttl
			w.Now = clock.Now

			for _, st := range tc.steps {
				clock.Advance(st.advance)
				if st.invalidate {
					w.Invalidate()
				}
				got, err := w.WebhookURL(context.Background())
				if err == nil && got != rawURL {
					t.Errorf("%s: URL %q, want %q", st.name, got, rawURL)
				}
				if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
					t.Errorf("%s: error %v, want %q", st.name, err, st.wantErr)
				}
				if n := len(srv.Requests()); n != st.wantRequests {
					t.Errorf("%s: %d requests so far, want %d", st.name, n, st.wantRequests)
				}
			}
		})
	}
}

// invalidatingSecrets answers GetSecretValue after calling Invalidate on
// the webhook that asked, as a concurrent 404 from Slack would.
type invalidatingSecrets struct {
	w     *deliver.SecretWebhook
	calls int
}

func (s *invalidatingSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s.calls++
	if s.calls == 1 {
		s.w.Invalidate()
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(fmt.Sprintf("https://hooks.slack.com/services/T0/B0/v%d", s.calls))}, nil
}

func TestSecretWebhookInvalidateDuringFetch(t *testing.T) {
	client := &invalidatingSecrets{}
	w := deliver.NewSecretWebhook(client, secretName)
	client.w = w
	for i, want := range []string{
		"https://hooks.slack.com/services/T0/B0/v1", // returned, but not cached: Invalidate came after the fetch began
		"https://hooks.slack.com/services/T0/B0/v2",
		"https://hooks.slack.com/services/T0/B0/v2",
	} {
		got, err := w.WebhookURL(context.Background())
		if err != nil || got != want {
			t.Errorf("call %d: %q, %v; want %q, nil", i+1, got, err, want)
		}
	}
	if client.calls != 2 {
		t.Errorf("%d GetSecretValue calls, want 2", client.calls)
	}
}

func TestSecretWebhookConcurrent(t *testing.T) {
	const rawURL = "https://hooks.slack.com/services/T0000RAW/B0000RAW/rawSecretToken000000000"
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), secretResponse(t, 200, "secretsmanager-get-secret-value-raw.json"))
	w := deliver.NewSecretWebhook(secretsmanager.NewFromConfig(srv.Config(region)), secretName)

	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			if i%8 == 0 {
				w.Invalidate()
			}
			got, err := w.WebhookURL(context.Background())
			if err == nil && got != rawURL {
				err = fmt.Errorf("URL %q, want %q", got, rawURL)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Requests()); n < 1 || n > 32 {
		t.Errorf("%d requests, want between 1 and 32", n)
	}
}

func TestSecretWebhookTimeout(t *testing.T) {
	srv := awstest.NewServer(t)
	slow := secretResponse(t, 200, "secretsmanager-get-secret-value-raw.json")
	slow.Delay = time.Minute
	srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), slow)
	w := deliver.NewSecretWebhook(secretsmanager.NewFromConfig(srv.Config(region)), secretName)
	w.Timeout = 50 * time.Millisecond

	got, err := w.WebhookURL(context.Background())

	checkErr(t, err, `webhook secret "trailwatch/slack-webhook": get value: timed out after 0.05 seconds`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false, want true", err)
	}
	if got != "" {
		t.Errorf("URL %q, want none", got)
	}
}

// checkErr fails unless err is nil and want is "", or err contains want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("error %q, want none", err)
	case want != "" && err == nil:
		t.Errorf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q, want it to contain %q", err, want)
	}
}
