package detect

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
)

// The ID and ARN forms check their lengths beside the expression (a
// counted repetition would be compiled at every cold start).
func TestNamesAtTheirMaximumLength(t *testing.T) {
	const acct = "arn:aws:iam::111122223333:"
	for _, tc := range []struct {
		name string
		arn  string
		want bool
	}{
		{"saml 128", acct + "saml-provider/" + strings.Repeat("a", 128), true},
		{"saml 129", acct + "saml-provider/" + strings.Repeat("a", 129), false},
		{"oidc 255", acct + "oidc-provider/" + strings.Repeat("a", 255), true},
		{"oidc 256", acct + "oidc-provider/" + strings.Repeat("a", 256), false},
		{"empty name", acct + "saml-provider/", false},
		{"other resource", acct + "role/x", false},
		{"markup", acct + "saml-provider/<a>", false},
	} {
		if got := identityProviderARNValid(tc.arn); got != tc.want {
			t.Errorf("%s: identityProviderARNValid = %v, want %v", tc.name, got, tc.want)
		}
	}
	rec := &cloudtrail.Record{AWSRegion: "us-east-1"}
	for _, tc := range []struct {
		id      string
		wantARN bool
	}{
		{"anthropic.claude-3-" + strings.Repeat("x", 237), true}, // 256 characters
		{"anthropic.claude-3-" + strings.Repeat("x", 238), false},
		{"-leading-dash", false},
	} {
		if got := bedrockModelResource(rec, tc.id).ARN != ""; got != tc.wantARN {
			t.Errorf("model ID of %d characters: ARN given = %v, want %v", len(tc.id), got, tc.wantARN)
		}
	}
}
