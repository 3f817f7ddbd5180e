package wire_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailwatch/trailwatch/internal/wire"
)

func TestAWSConfig(t *testing.T) {
	env := map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "ASIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN":     "token",
	}
	cfg, err := wire.AWSConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("Region = %q, want eu-west-1", cfg.Region)
	}
	c, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "ASIAEXAMPLE" || c.SecretAccessKey != "secret" || c.SessionToken != "token" || c.CanExpire {
		t.Errorf("credentials = %+v, want the environment's, not expiring", c)
	}
}

func TestAWSConfigMissing(t *testing.T) {
	if _, err := wire.AWSConfig(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("no region: error %v, want one naming AWS_REGION", err)
	}
	cfg, err := wire.AWSConfig(func(k string) string {
		if k == "AWS_REGION" {
			return "eu-west-1"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("no credentials: error %v, want one naming AWS_ACCESS_KEY_ID", err)
	}
}

// TestAWSConfigEndpoints: the functions honour the SDK's standard endpoint
// variables, read from the process's environment as in Lambda, so the
// real bootstraps run against local stand-ins: AWS_ENDPOINT_URL for every
// client, AWS_ENDPOINT_URL_<SERVICE> (SDK ID in capitals, spaces as
// underscores) for one, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS to ignore
// both.
func TestAWSConfigEndpoints(t *testing.T) {
	general, secrets := newEndpoint(t), newEndpoint(t)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_ENDPOINT_URL", general.URL)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.URL)
	call := func() {
		cfg, err := wire.AWSConfig(os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		noRetry := func(o *sns.Options) { o.RetryMaxAttempts = 1 }
		_, _ = sns.NewFromConfig(cfg, noRetry).Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:eu-west-1:111122223333:t"), Message: aws.String("m")})
		_, _ = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }).
			GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	}
	call()
	if got, want := general.calls(), []string{"Action=Publish"}; !slices.Equal(got, want) {
		t.Errorf("AWS_ENDPOINT_URL got %v, want %v", got, want)
	}
	if got, want := secrets.calls(), []string{"secretsmanager.GetSecretValue"}; !slices.Equal(got, want) {
		t.Errorf("AWS_ENDPOINT_URL_SECRETS_MANAGER got %v, want %v", got, want)
	}

	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	cfg, err := wire.AWSConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseEndpoint != nil || cfg.ConfigSources != nil {
		t.Errorf("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: BaseEndpoint %v, ConfigSources %v; want neither", cfg.BaseEndpoint, cfg.ConfigSources)
	}
}

// endpoint is a local server that records which operations reach it and
// answers 400.
type endpoint struct {
	*httptest.Server
	mu  sync.Mutex
	ops []string
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		op := r.Header.Get("X-Amz-Target")
		if op == "" {
			op, _, _ = strings.Cut(string(b), "&")
		}
		e.mu.Lock()
		e.ops = append(e.ops, op)
		e.mu.Unlock()
		http.Error(w, "stand-in", http.StatusBadRequest)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ops...)
}
