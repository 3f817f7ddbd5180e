package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/trailwatch/trailwatch/internal/budget"
)

// WebhookSource supplies the Slack webhook URL.
type WebhookSource interface {
	// WebhookURL returns a URL that passed ValidateWebhookURL. Its errors
	// never contain the URL.
	WebhookURL(ctx context.Context) (string, error)
	// Invalidate drops a cached URL (called when Slack says the webhook is
	// gone or revoked).
	Invalidate()
}

var (
	_ WebhookSource = StaticWebhook("")
	_ WebhookSource = (*SecretWebhook)(nil)
)

// StaticWebhook is a webhook URL given directly, as the CLI's
// --slack-webhook flag does. It is validated on every use.
type StaticWebhook string

// WebhookURL returns the URL if ValidateWebhookURL accepts it.
func (w StaticWebhook) WebhookURL(context.Context) (string, error) {
	if err := ValidateWebhookURL(string(w)); err != nil {
		return "", err
	}
	return string(w), nil
}

// Invalidate does nothing: there is no other URL to fetch.
func (StaticWebhook) Invalidate() {}

// SecretsAPI is the part of the Secrets Manager client SecretWebhook uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Defaults of SecretWebhook.
const (
	DefaultSecretTTL     = 5 * time.Minute
	DefaultSecretTimeout = 10 * time.Second
)

// secretURLKeys are the JSON keys a secret may hold the URL under, in the
// order they are looked for.
var secretURLKeys = [...]string{"url", "webhook_url", "webhookUrl"}

// SecretWebhook reads the webhook URL from a Secrets Manager secret and
// caches it for TTL, so a warm Lambda function does not ask for every
// alert, yet picks up a rotated URL within TTL (or at once after Slack
// refuses the old one and Invalidate is called). Failures are not cached.
//
// The secret's value is either the URL itself or a JSON object holding it
// under one of the keys "url", "webhook_url", "webhookUrl".
//
// A SecretWebhook is safe for concurrent use; set its exported fields
// before the first call.
type SecretWebhook struct {
	// TTL is how long a fetched URL is used; zero means DefaultSecretTTL.
	TTL time.Duration
	// Timeout bounds each GetSecretValue call (the SDK's retries included);
	// zero means DefaultSecretTimeout.
	Timeout time.Duration
	// Now is the clock the TTL is measured with; nil means time.Now.
	Now func() time.Time

	client   SecretsAPI
	secretID string

	mu       sync.Mutex
	url      string
	expires  time.Time
	gen      uint64     // bumped by Invalidate, so an answer fetched before it is not cached
	inflight *fetchCall // the fetch under way, which other callers wait for
}

// fetchCall is one GetSecretValue under way.
type fetchCall struct {
	done chan struct{}
	url  string
	err  error
}

// NewSecretWebhook returns a source that reads the secret named secretID
// (a name or an ARN) with client.
func NewSecretWebhook(client SecretsAPI, secretID string) *SecretWebhook {
	return &SecretWebhook{client: client, secretID: secretID}
}

// WebhookURL returns the cached URL, or fetches, validates and caches it.
// A caller that finds a fetch under way (the pipeline fetches the URL while
// the alert is built) waits for its answer instead of asking again; if that
// fetch fails, it fetches for itself. Errors name the secret but never
// carry its value.
func (w *SecretWebhook) WebhookURL(ctx context.Context) (string, error) {
	for shared := true; ; shared = false {
		now := w.now()
		w.mu.Lock()
		if w.url != "" && now.Before(w.expires) {
			u := w.url
			w.mu.Unlock()
			return u, nil
		}
		if c := w.inflight; c != nil && shared {
			w.mu.Unlock()
			select {
			case <-c.done:
				if c.err == nil {
					return c.url, nil
				}
				// Its failure may be its own caller's deadline: try for this one.
				continue
			case <-ctx.Done():
				return "", fmt.Errorf("webhook secret %q: waiting for the value: %w", w.secretID, context.Cause(ctx))
			}
		}
		c := &fetchCall{done: make(chan struct{})}
		if w.inflight == nil {
			w.inflight = c
		}
		gen := w.gen
		w.mu.Unlock()

		// Fetch without the lock: a slow Secrets Manager call must not hold
		// up Invalidate, and a caller whose context ends must not wait on
		// another.
		c.url, c.err = w.fetch(ctx)

		w.mu.Lock()
		if c.err == nil && w.gen == gen {
			w.url, w.expires = c.url, now.Add(w.ttl())
		}
		if w.inflight == c {
			w.inflight = nil
		}
		w.mu.Unlock()
		close(c.done)
		return c.url, c.err
	}
}

// Invalidate drops the cached URL; the next WebhookURL asks Secrets
// Manager again.
func (w *SecretWebhook) Invalidate() {
	w.mu.Lock()
	w.url, w.expires = "", time.Time{}
	w.gen++
	w.inflight = nil
	w.mu.Unlock()
}

func (w *SecretWebhook) fetch(ctx context.Context) (string, error) {
	if w.client == nil {
		return "", errors.New("webhook secret: no Secrets Manager client")
	}
	if w.secretID == "" {
		return "", errors.New("webhook secret: no secret name")
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultSecretTimeout
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := w.client.GetSecretValue(callCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.secretID)})
	if err != nil {
		if msg, ok := budget.TimedOut(ctx, callCtx, timeout); ok {
			return "", fmt.Errorf("webhook secret %q: get value: %s: %w", w.secretID, msg, err)
		}
		return "", fmt.Errorf("webhook secret %q: get value: %w", w.secretID, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("webhook secret %q has no string value (binary secrets are not supported)", w.secretID)
	}
	u, err := webhookFromSecret(*out.SecretString)
	if err != nil {
		return "", fmt.Errorf("webhook secret %q: %w", w.secretID, err)
	}
	return u, nil
}

// webhookFromSecret extracts and validates the URL. Its errors describe the
// shape of the value, never the value.
func webhookFromSecret(value string) (string, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return "", errors.New("value is empty")
	}
	if strings.HasPrefix(value, "{") {
		var fields map[string]any
		if err := json.Unmarshal([]byte(value), &fields); err != nil {
			// The decoder's message can quote part of the value: leave it out.
			return "", errors.New("value starts with '{' but is not a JSON object")
		}
		found := false
		for _, key := range secretURLKeys {
			v, ok := fields[key]
			if !ok {
				continue
			}
			s, ok := v.(string)
			if !ok {
				return "", fmt.Errorf("JSON key %q holds a %s, want a string", key, jsonKind(v))
			}
			value, found = strings.TrimSpace(s), true
			break
		}
		if !found {
			return "", fmt.Errorf("JSON object has none of the keys %s", strings.Join(secretURLKeys[:], ", "))
		}
	}
	if err := ValidateWebhookURL(value); err != nil {
		return "", err
	}
	return value, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// ValidateWebhookURL accepts an absolute https URL with a host, or a plain
// http URL to a loopback host (127.0.0.0/8, ::1, localhost) so local test
// servers work. The URL's path and query are the credential: errors never
// repeat them (nor the whole URL); they may name the scheme and host.
func ValidateWebhookURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return errors.New("webhook URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// *url.Error quotes the whole URL: describe it without it.
		return errors.New("webhook URL does not parse as a URL")
	}
	if u.Scheme == "" {
		return errors.New("webhook URL has no scheme: want an absolute https URL")
	}
	if u.Opaque != "" {
		return fmt.Errorf("webhook URL with scheme %q has no host", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("webhook URL with scheme %q has no host", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("webhook URL to host %q carries user information; remove it", host)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(host) {
			return fmt.Errorf("webhook URL to host %q uses plain http: want https (http is allowed to loopback hosts only)", host)
		}
	default:
		return fmt.Errorf("webhook URL scheme %q: want https", u.Scheme)
	}
	return nil
}

// isLoopback reports whether host (without brackets or port) is localhost
// or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL keeps scheme and host of raw: "https://hooks.slack.com/…".
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(webhook URL)/…"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func (w *SecretWebhook) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *SecretWebhook) ttl() time.Duration {
	if w.TTL > 0 {
		return w.TTL
	}
	return DefaultSecretTTL
}
