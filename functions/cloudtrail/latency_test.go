package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/dynalite"
)

// Latencies the benchmark adds: a round trip to an AWS API in the region,
// and Slack's webhook answering.
const (
	awsLatency   = 50 * time.Millisecond
	slackLatency = 150 * time.Millisecond
)

// span is one request, from the moment it is sent to its answer.
type span struct {
	what       string
	start, end time.Time
}

// timeline records the requests of one invocation.
type timeline struct {
	mu    sync.Mutex
	spans []span
}

func (tl *timeline) add(s span) {
	tl.mu.Lock()
	tl.spans = append(tl.spans, s)
	tl.mu.Unlock()
}

func (tl *timeline) reset() []span {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	s := tl.spans
	tl.spans = nil
	return s
}

// waves is the longest chain of requests each sent as soon as the one
// before it was answered (within waited): how many round trips, one after
// the other, the invocation waited for. A request sent later than that
// after an answer did not wait for it.
func waves(spans []span) int {
	const waited = 10 * time.Millisecond
	slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	chain := make([]int, len(spans))
	longest := 0
	for i, s := range spans {
		chain[i] = 1
		for j := range i {
			if e := spans[j].end; !e.After(s.start) && s.start.Sub(e) <= waited {
				chain[i] = max(chain[i], chain[j]+1)
			}
		}
		longest = max(longest, chain[i])
	}
	return longest
}

// describe lists spans by start, in milliseconds from start.
func describe(start time.Time, spans []span) string {
	var sb strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&sb, "\n%6.1f %6.1f %s", float64(s.start.Sub(start).Microseconds())/1000, float64(s.end.Sub(start).Microseconds())/1000, s.what)
	}
	return sb.String()
}

// slowTransport sends AWS requests after awsLatency and records them.
type slowTransport struct {
	next http.RoundTripper
	tl   *timeline
}

func (t slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	what := r.Header.Get("X-Amz-Target")
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); what == "" && err == nil {
			what = form.Get("Action") // query protocol: IAM, SNS
		}
	}
	if what == "" {
		what = r.Method + " " + r.URL.Host + r.URL.Path + "?" + r.URL.RawQuery
	}
	select {
	case <-time.After(awsLatency):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		// The answer is in when its body is.
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	t.tl.add(span{what: what, start: start, end: time.Now()})
	return resp, err
}

// BenchmarkLatency measures how long one alerting event takes to reach
// Slack and email, and in how many waves of requests made one after the
// other, when every AWS call takes 50 ms more than on this machine (the
// state table is dynalite plus those 50 ms) and Slack answers after
// 150 ms. The function is wired as in Lambda (setUp, with the state table)
// and invoked with Lambda's 60 s deadline. "warm": the webhook URL and the
// account alias are cached, as in a warm execution environment; "cold":
// a new environment per event, which fetches both; "storm-repeat": an
// event that repeats one already alerted in its storm window (held for
// the digest). Metrics: ms-to-sent (until the last channel answered),
// waves, requests.
func BenchmarkLatency(b *testing.B) {
	for _, bc := range []struct {
		name         string
		cold, repeat bool
	}{{name: "warm"}, {name: "cold", cold: true}, {name: "storm-repeat", repeat: true}} {
		b.Run(bc.name, func(b *testing.B) {
			tl := &timeline{}
			a := awstest.NewServer(b)
			handleAWS(b, a)
			a.Proxy(awstest.TargetPrefix("DynamoDB_20120810."), dynalite.URL(b))
			slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				_, _ = io.ReadAll(r.Body)
				time.Sleep(slackLatency)
				_, _ = io.WriteString(w, "ok")
				tl.add(span{what: "slack", start: start, end: time.Now()})
			}))
			b.Cleanup(slack.Close)
			a.Handle(awstest.Target("secretsmanager.GetSecretValue"), awstest.Response{Body: strings.Replace(
				awstest.Recorded(b, "deliver", "secretsmanager-get-secret-value-local.json"), "__WEBHOOK_URL__", slack.URL+webhookPath, 1)})
			table := dynalite.Table(b, dynalite.Client(b))
			env, err := config.Runtime{SlackSecretName: secretName, TopicARN: topicARN, StateTable: table}.Env()
			if err != nil {
				b.Fatal(err)
			}
			load := func(context.Context) (aws.Config, error) {
				cfg := a.Config("eu-west-1")
				client := *cfg.HTTPClient.(*http.Client)
				client.Transport = slowTransport{next: client.Transport, tl: tl}
				cfg.HTTPClient = &client
				return cfg, nil
			}
			build := func() func(context.Context, []byte) error {
				h, err := setUp(context.Background(), func(k string) string { return env[k] }, load, slog.New(slog.DiscardHandler))
				if err != nil {
					b.Fatal(err)
				}
				return h.Handle
			}
			handle := build()
			base := ruleInput(b, "s3-bucket-public-access-block-disabled", "s3/put-bucket-public-access-block-sso-policy-off.json")
			// Warm up: caches filled, connections open; with repeat, the
			// window's first event.
			if err := handle(context.Background(), base); err != nil {
				b.Fatal(err)
			}
			n := 0
			var sentMs, waveCount, requests float64
			for b.Loop() {
				n++
				b.StopTimer()
				if bc.cold {
					handle = build()
				}
				payload := variant(b, base, n, !bc.repeat)
				tl.reset()
				b.StartTimer()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				start := time.Now()
				err := handle(ctx, payload)
				cancel()
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				spans := tl.reset()
				var sent time.Time
				for _, s := range spans {
					if (s.what == "slack" || strings.Contains(s.what, "Publish")) && s.end.After(sent) {
						sent = s.end
					}
				}
				if !bc.repeat && sent.IsZero() {
					b.Fatalf("nothing was sent: %v", spans)
				}
				if !sent.IsZero() {
					sentMs += float64(sent.Sub(start).Microseconds()) / 1000
				}
				if os.Getenv("TRAILWATCH_LATENCY_LOG") != "" {
					fmt.Fprintln(os.Stderr, b.Name(), describe(start, spans))
				}
				waveCount += float64(waves(spans))
				requests += float64(len(spans))
				b.StartTimer()
			}
			b.ReportMetric(sentMs/float64(n), "ms-to-sent")
			b.ReportMetric(waveCount/float64(n), "waves")
			b.ReportMetric(requests/float64(n), "requests")
		})
	}
}

// variant is the rule input with event ID n and, with newPrincipal, a
// principal of its own (so its storm window is new and it is alerted).
func variant(b *testing.B, payload []byte, n int, newPrincipal bool) []byte {
	var in map[string]any
	if err := json.Unmarshal(payload, &in); err != nil {
		b.Fatal(err)
	}
	detail := in["event"].(map[string]any)["detail"].(map[string]any)
	detail["eventID"] = "bench-" + strconv.Itoa(n) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if newPrincipal {
		id := detail["userIdentity"].(map[string]any)
		id["arn"] = id["arn"].(string) + "-" + strconv.Itoa(n)
	}
	out, err := json.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// handleAWS answers the look-ups and SNS as in setUpEnv.
func handleAWS(t testing.TB, a *awstest.Server) {
	a.Handle(awstest.Action("Publish"), awstest.Response{Body: awstest.Recorded(t, "deliver", "sns-publish.xml")})
	a.Handle(awstest.Action("ListAccountAliases"), awstest.Response{Body: awstest.Recorded(t, "awslookup", "iam-list-account-aliases.xml")})
	a.Handle(awstest.REST("GET", "/", "policyStatus"), awstest.Response{Body: awstest.Recorded(t, "s3lookup", "s3-policy-status-public.xml")})
	a.Handle(awstest.REST("GET", "/", "acl"), awstest.Response{Body: awstest.Recorded(t, "s3lookup", "s3-acl-private.xml")})
	a.Handle(awstest.REST("GET", "/v20180820/configuration/publicAccessBlock", ""), awstest.Response{Body: awstest.Recorded(t, "s3lookup", "s3control-public-access-block-off.xml")})
	a.Handle(awstest.REST("GET", "/", "publicAccessBlock"), awstest.Response{Body: awstest.Recorded(t, "s3lookup", "s3-public-access-block-off.xml")})
	a.Handle(func(r awstest.Request) bool {
		return r.Header.Get("X-Amz-Target") == "CloudTrail_20131101.LookupEvents" && bytes.Contains(r.Body, []byte("PutBucketPublicAccessBlock"))
	}, awstest.Response{Body: awstest.Recorded(t, "awslookup", "cloudtrail-lookup-put-bucket.json")})
	a.Handle(awstest.Target("CloudTrail_20131101.LookupEvents"), awstest.Response{Body: awstest.Recorded(t, "awslookup", "cloudtrail-lookup-empty.json")})
}
