package deliver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		header http.Header
		want   time.Duration
		wantOK bool
	}{
		{name: "absent", header: http.Header{}},
		{name: "seconds", header: http.Header{"Retry-After": {"2"}}, want: 2 * time.Second, wantOK: true},
		{name: "zero", header: http.Header{"Retry-After": {"0"}}, want: 0, wantOK: true},
		{name: "spaces", header: http.Header{"Retry-After": {" 7 "}}, want: 7 * time.Second, wantOK: true},
		{name: "negative", header: http.Header{"Retry-After": {"-1"}}},
		{name: "fraction", header: http.Header{"Retry-After": {"1.5"}}},
		{name: "garbage", header: http.Header{"Retry-After": {"soon"}}},
		{name: "huge", header: http.Header{"Retry-After": {"99999999999999999"}}, want: 365 * 24 * time.Hour, wantOK: true},
		{name: "date from now", header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, want: 90 * time.Second, wantOK: true},
		{
			name:   "date from the response's Date",
			header: http.Header{"Date": {now.Add(-time.Hour).Format(http.TimeFormat)}, "Retry-After": {now.Add(-time.Hour + 4*time.Second).Format(http.TimeFormat)}},
			want:   4 * time.Second, wantOK: true,
		},
		{name: "date in the past", header: http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, want: 0, wantOK: true},
		{name: "RFC 850 date", header: http.Header{"Retry-After": {now.Add(5 * time.Second).Format(time.RFC850)}}, want: 5 * time.Second, wantOK: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := retryAfter(tc.header, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("retryAfter = %v, %t; want %v, %t", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{4, 4 * time.Second},
		{5, 8 * time.Second},
		{6, 8 * time.Second},
		{60, 8 * time.Second},
	} {
		if got := backoff(tc.attempt); got != tc.want {
			t.Errorf("backoff(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T0/B0/secret?token=q1w2e3"
	for _, tc := range []struct {
		name string
		body string
		code int
		want string
	}{
		{name: "slack error", body: "channel_not_found", code: 404, want: "channel_not_found"},
		{name: "trailing newline", body: "invalid_payload\n", code: 400, want: "invalid_payload"},
		{name: "empty body", body: "", code: 410, want: "Gone"},
		{name: "only control characters", body: "\x00\x1b\r\n", code: 400, want: "Bad Request"},
		{name: "terminal escapes", body: "no_text\x1b[2J\x07", code: 400, want: "no_text [2J"},
		{name: "invalid UTF-8", body: "bad\xffpayload", code: 400, want: "badpayload"},
		{name: "C1 control", body: "a\u0085b", code: 400, want: "a b"},
		{name: "cut at 100 bytes", body: strings.Repeat("x", 150), code: 500, want: strings.Repeat("x", 100)},
		{name: "cut before a split rune", body: strings.Repeat("x", 99) + "é", code: 500, want: strings.Repeat("x", 99)},
		{name: "URL path scrubbed", body: "failed: POST " + hook, code: 500, want: "failed: POST https://hooks.slack.com/…?/…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorText([]byte(tc.body), hook, tc.code); got != tc.want {
				t.Errorf("errorText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{name: "cancelled context ends a long wait", ctx: ctx, d: time.Hour, want: context.Canceled},
		{name: "cancelled context, no wait", ctx: ctx, d: 0, want: context.Canceled},
		{name: "no wait", ctx: context.Background(), d: 0},
		{name: "short wait", ctx: context.Background(), d: time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sleep(tc.ctx, tc.d); !errors.Is(got, tc.want) {
				t.Errorf("sleep = %v, want %v", got, tc.want)
			}
		})
	}
}
