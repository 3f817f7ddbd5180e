package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestFromContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		want    Config
		wantErr []string
	}{
		{name: "nothing set", ctx: nil, want: Config{RetentionDays: 365}},
		{
			name: "strings as -c passes them",
			ctx:  map[string]any{KeySlackSecretName: "trailwatch/slack-webhook", KeyEmails: "sec@example.com, ops@example.com", KeyRetentionDays: "400", KeyExistingTrail: "org-trail"},
			want: Config{SlackSecretName: "trailwatch/slack-webhook", Emails: []string{"sec@example.com", "ops@example.com"}, RetentionDays: 400, ExistingTrail: "org-trail"},
		},
		{
			name: "JSON values from cdk.json",
			ctx:  map[string]any{KeyEmails: []any{"sec@example.com"}, KeyRetentionDays: float64(730), KeyExistingTrail: "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"},
			want: Config{Emails: []string{"sec@example.com"}, RetentionDays: 730, ExistingTrail: "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"},
		},
		{name: "JSON list in a string", ctx: map[string]any{KeyEmails: `["a@example.com","b@example.com"]`}, want: Config{Emails: []string{"a@example.com", "b@example.com"}, RetentionDays: 365}},
		{name: "retention too short", ctx: map[string]any{KeyRetentionDays: "90"}, wantErr: []string{"at least 365 days"}},
		{name: "retention not a number", ctx: map[string]any{KeyRetentionDays: "a year"}, wantErr: []string{KeyRetentionDays, "whole number"}},
		{name: "webhook URL instead of a secret name", ctx: map[string]any{KeySlackSecretName: "https://hooks.slack.com/services/T0/B0/XXXX"}, wantErr: []string{"looks like a webhook URL"}},
		{name: "bad secret name", ctx: map[string]any{KeySlackSecretName: "my secret!"}, wantErr: []string{"not a valid Secrets Manager secret name"}},
		{name: "bad email and duplicate", ctx: map[string]any{KeyEmails: "sec@example.com,Sec <x@example.com>,sec@example.com"}, wantErr: []string{"not a plain email", "listed twice"}},
		{name: "bad trail", ctx: map[string]any{KeyExistingTrail: "arn:aws:s3:::bucket"}, wantErr: []string{"neither a trail name nor a trail ARN"}},
		{name: "wrong JSON type", ctx: map[string]any{KeySlackSecretName: float64(3)}, wantErr: []string{"want a string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromContext(func(k string) any { return tc.ctx[k] })
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("FromContext() = %+v, nil; want an error", got)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromContext() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestValidateNeverEchoesAWebhookURL(t *testing.T) {
	url := "https://hooks.slack.com/services/T000/B000/secretpart"
	err := Config{SlackSecretName: url, RetentionDays: 365}.Validate()
	if err == nil || strings.Contains(err.Error(), "secretpart") {
		t.Fatalf("error %v must refuse the URL without repeating it", err)
	}
	_, err = RuntimeFromEnv(func(k string) string {
		if k == EnvSlackSecretName {
			return url
		}
		return ""
	})
	if err == nil || strings.Contains(err.Error(), "secretpart") {
		t.Fatalf("error %v must refuse the URL without repeating it", err)
	}
}

func TestRuntimeEnvRoundTrip(t *testing.T) {
	r := Runtime{SlackSecretName: "trailwatch/slack", TopicARN: "arn:aws:sns:eu-west-1:111122223333:alerts"}
	env := r.Env()
	back, err := RuntimeFromEnv(func(k string) string { return env[k] })
	if err != nil || back != r {
		t.Fatalf("RuntimeFromEnv(Env()) = %+v, %v; want %+v", back, err, r)
	}
	if _, err := RuntimeFromEnv(func(string) string { return "" }); err == nil {
		t.Error("a function without any channel must refuse to start")
	}
}
