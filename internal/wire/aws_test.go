package wire_test

import (
	"context"
	"strings"
	"testing"

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
