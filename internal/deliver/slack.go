package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/budget"
)

// Defaults of Slack.
const (
	DefaultSlackTimeout  = 10 * time.Second
	DefaultSlackAttempts = 3
	DefaultSlackMaxWait  = 30 * time.Second
	// DefaultSlackMinAttempt is the least time an attempt needs left before
	// the context's deadline to be worth making.
	DefaultSlackMinAttempt = time.Second
)

const (
	firstBackoff = 500 * time.Millisecond
	maxBackoff   = 8 * time.Second
	// maxErrorText is the most of Slack's answer an error repeats.
	maxErrorText = 100
	// maxBodyRead is the most of a response body read (and drained, so the
	// connection can be reused).
	maxBodyRead = 4 << 10
)

// Slack posts rendered Block Kit payloads to an incoming webhook.
//
// A post that Slack answers with 2xx is delivered. 429 is retried after the
// Retry-After Slack asks for, unless that is longer than MaxWait or than
// the context allows, in which case Post fails at once. 5xx, 408,
// connection failures and timeouts are retried with exponential backoff
// (500 ms, 1 s, 2 s, ... at most 8 s), as is a 429 without a usable
// Retry-After. Every request counts as one of Attempts. Any other 4xx (and
// a redirect, which a webhook never sends) is permanent: Post returns an error wrapping ErrRejected with Slack's
// short error text ("channel_not_found"), and on 403, 404 and 410 (revoked
// token, deleted webhook or channel, archived channel) it invalidates the
// webhook so a rotated URL is fetched next time.
//
// Nothing outlives the context: an attempt is made only with MinAttempt
// left before its deadline (and ends at it), and a wait, Retry-After
// included, only if an attempt still fits after it; otherwise Post fails at
// once, so the caller can record the failure and the event is retried.
type Slack struct {
	// Webhook supplies the URL.
	Webhook WebhookSource
	// HTTP sends the requests; nil means a client with a 10 s timeout
	// that does not follow redirects.
	HTTP *http.Client
	// Attempts is the total number of requests per Post; zero means 3.
	Attempts int
	// MaxWait is the longest Retry-After honoured; zero means 30 s.
	MaxWait time.Duration
	// MinAttempt is the least time left before the context's deadline for
	// an attempt to be made; zero means DefaultSlackMinAttempt.
	MinAttempt time.Duration
	// Sleep waits between attempts; nil means a timer that returns early
	// with ctx.Err() when ctx ends. Tests record the waits instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock the time left before the context's deadline is
	// measured with; nil means time.Now. Tests that record the waits
	// advance it.
	Now func() time.Time
}

// Prepare fetches the webhook URL ahead of the first Post (the source
// caches it), so a Post made while it is fetched waits for that answer.
// A failure is left for Post to report.
func (s *Slack) Prepare(ctx context.Context) {
	if s.Webhook != nil {
		_, _ = s.Webhook.WebhookURL(ctx)
	}
}

// Post delivers payload, a JSON message, or returns why it could not.
func (s *Slack) Post(ctx context.Context, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("slack: post: %w", err)
	}
	if s.Webhook == nil {
		return errors.New("slack: post: no webhook configured")
	}
	raw, err := s.Webhook.WebhookURL(ctx)
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	// A WebhookSource from elsewhere may not have validated it.
	if err := ValidateWebhookURL(raw); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	where := redactURL(raw)
	attempts := s.Attempts
	if attempts <= 0 {
		attempts = DefaultSlackAttempts
	}
	if left, ok := s.left(ctx); ok && left < s.minAttempt() {
		return fmt.Errorf("slack: post to %s: not attempted: %s left before the deadline, less than the %s an attempt needs", where, budget.Round(max(left, 0)), s.minAttempt())
	}
	for attempt := 1; ; attempt++ {
		res := s.try(ctx, raw, payload)
		switch res.outcome {
		case delivered:
			return nil
		case rejected:
			if res.status == http.StatusForbidden || res.status == http.StatusNotFound || res.status == http.StatusGone {
				s.Webhook.Invalidate()
			}
			return fmt.Errorf("slack: post to %s: %w", where, res.err)
		case cancelled:
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// net/http's error repeats the deadline's cause: say it once.
				return &wrapped{msg: fmt.Sprintf("slack: post to %s: no answer: %s", where, budget.DeadlineText(ctx)), err: res.err}
			}
			return fmt.Errorf("slack: post to %s: %w", where, res.err)
		case permanent:
			return fmt.Errorf("slack: post to %s: %w", where, res.err)
		}
		if attempt >= attempts {
			return fmt.Errorf("slack: post to %s: gave up after %s: %w", where, plural(attempts, "attempt"), res.err)
		}
		wait := backoff(attempt)
		if res.outcome == rateLimited {
			if res.retryAfter > s.maxWait() {
				return fmt.Errorf("slack: post to %s: rate limited: Slack asks to retry after %s, longer than the %s this sender waits: %w", where, res.retryAfter, s.maxWait(), res.err)
			}
			wait = res.retryAfter
		}
		if left, ok := s.left(ctx); ok && left < wait+s.minAttempt() {
			what := "retry"
			if res.outcome == rateLimited {
				what = "rate limited: retry"
			}
			return fmt.Errorf("slack: post to %s: %s in %s would pass the context deadline: %s left, and an attempt needs %s: %w",
				where, what, wait, budget.Round(max(left, 0)), s.minAttempt(), res.err)
		}
		if err := s.sleep(ctx, wait); err != nil {
			return fmt.Errorf("slack: post to %s: waiting to retry: %w (last attempt: %w)", where, err, res.err)
		}
	}
}

type outcome int

const (
	delivered   outcome = iota
	rejected            // Slack refused it: do not retry
	permanent           // failed before reaching Slack, and would again
	transient           // 5xx, connection failure, timeout: retry with backoff
	rateLimited         // 429: retry after retryAfter
	cancelled           // the caller's context ended
)

type result struct {
	outcome    outcome
	status     int
	retryAfter time.Duration
	err        error // why it was not delivered; never contains the URL's path
}

// try makes one request.
func (s *Slack) try(ctx context.Context, raw string, payload []byte) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader(payload))
	if err != nil {
		return result{outcome: permanent, err: fmt.Errorf("build request: %w", redactError(err))}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{outcome: cancelled, err: redactError(err)}
		}
		return result{outcome: transient, err: redactError(err)}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyRead))
	_ = resp.Body.Close()

	code := resp.StatusCode
	status := fmt.Sprintf("%d %s", code, errorText(body, raw, code))
	switch {
	case code >= 200 && code < 300:
		return result{outcome: delivered, status: code}
	case code == http.StatusTooManyRequests:
		wait, ok := retryAfter(resp.Header, time.Now())
		if !ok {
			wait = -1 // no usable Retry-After: back off instead
		}
		r := result{outcome: rateLimited, status: code, retryAfter: wait, err: errors.New(status)}
		if !ok {
			r.outcome = transient
		}
		return r
	case code >= 500, code == http.StatusRequestTimeout:
		return result{outcome: transient, status: code, err: errors.New(status)}
	case code >= 300 && code < 400:
		return result{outcome: rejected, status: code, err: fmt.Errorf("%w: unexpected redirect: %s", ErrRejected, status)}
	default:
		return result{outcome: rejected, status: code, err: fmt.Errorf("%w: %s", ErrRejected, status)}
	}
}

func (s *Slack) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return &http.Client{
		Timeout: DefaultSlackTimeout,
		// A redirect would carry the payload (and, in Referer-like
		// places, the URL) to another host; a webhook never redirects.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// left is the time before ctx's deadline, by the sender's clock.
func (s *Slack) left(ctx context.Context) (time.Duration, bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return deadline.Sub(now()), true
}

func (s *Slack) minAttempt() time.Duration {
	if s.MinAttempt > 0 {
		return s.MinAttempt
	}
	return DefaultSlackMinAttempt
}

func (s *Slack) maxWait() time.Duration {
	if s.MaxWait > 0 {
		return s.MaxWait
	}
	return DefaultSlackMaxWait
}

func (s *Slack) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return sleep(ctx, d)
}

// sleep waits d, or returns ctx.Err() as soon as ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the wait after the given failed attempt (1-based).
func backoff(attempt int) time.Duration {
	d := firstBackoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// retryAfter reads Retry-After as delay-seconds or an HTTP date. A date is
// measured from the response's Date header when there is one, so the
// sender's clock skew does not matter; otherwise from now.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Far beyond any MaxWait; avoids overflowing time.Duration.
		const limit = int64(365 * 24 * time.Hour / time.Second)
		return time.Duration(min(secs, limit)) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if date, err := http.ParseTime(h.Get("Date")); err == nil {
		now = date
	}
	return max(at.Sub(now), 0), true
}

// errorText is Slack's short answer ("channel_not_found") made safe for an
// error message: valid UTF-8, no control characters, at most 100 bytes, and
// never the webhook URL's path. Without a body it is the status text.
func errorText(body []byte, raw string, code int) string {
	s := strings.ToValidUTF8(string(body), "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if u, err := url.Parse(raw); err == nil {
		for _, secret := range []string{u.RawQuery, u.EscapedPath(), u.Path} {
			if len(secret) > 1 {
				s = strings.ReplaceAll(s, secret, "/…")
			}
		}
	}
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if s == "" {
		return http.StatusText(code)
	}
	return s
}

// redactError replaces the URL inside a *url.Error (net/http quotes the
// whole request URL in it) by scheme://host/….
func redactError(err error) error {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return err
	}
	return &url.Error{Op: uerr.Op, URL: redactURL(uerr.URL), Err: uerr.Err}
}

// plural is "1 attempt", "3 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// wrapped is an error whose text says all that matters, wrapping the one
// it came from (for errors.Is) without repeating it.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
