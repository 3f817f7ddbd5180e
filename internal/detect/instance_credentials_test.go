package detect_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// findingOf evaluates a fixture, edited by the replacements (old, new,
// ...), and returns the finding of the detection, if any.
func findingOf(t *testing.T, id, name string, replace ...string) (detect.Finding, bool) {
	t.Helper()
	raw := fixture.Read(t, name)
	for i := 0; i+1 < len(replace); i += 2 {
		if !bytes.Contains(raw, []byte(replace[i])) {
			t.Fatalf("%s has no %q", name, replace[i])
		}
		raw = bytes.ReplaceAll(raw, []byte(replace[i]), []byte(replace[i+1]))
	}
	ev, err := event.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := builtin(t).Evaluate(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Detection.ID == id {
			return f, true
		}
	}
	return detect.Finding{}, false
}

// TestInstanceCredentialsSource: which source addresses count as outside
// AWS. The pattern lets the first three kinds through; the decision must
// still refuse them.
func TestInstanceCredentialsSource(t *testing.T) {
	const name = "sts/instance-credentials-outside-aws-get-caller-identity.json"
	for _, tt := range []struct {
		ip   string
		want bool
	}{
		{"203.0.113.77", true},
		{"2001:db8:4a1:7c::17", true},
		{"::ffff:203.0.113.77", true},
		{"52.95.110.1", false},           // AWS (AMAZON)
		{"2600:1f18:61c:9a00::7", false}, // AWS (EC2 IPv6)
		{"10.0.12.34", false},            // private: from inside a VPC
		{"fd00:ec2::254", false},         // private IPv6
		{"127.0.0.1", false},
		{"ec2.amazonaws.com", false},
		{"AWS Internal", false},
	} {
		t.Run(tt.ip, func(t *testing.T) {
			f, ok := findingOf(t, "instance-credentials-outside-aws", name, `"203.0.113.77"`, `"`+tt.ip+`"`)
			if ok != tt.want {
				t.Fatalf("reported = %v, want %v (%+v)", ok, tt.want, f)
			}
			if ok && (f.Severity != detect.SeverityHigh || !strings.Contains(f.Headline, "i-0c3e7a1d9b5f24e68 (role app-web-prod)")) {
				t.Errorf("finding = %s %q", f.Severity, f.Headline)
			}
		})
	}
}

func TestInstanceCredentialsIdentity(t *testing.T) {
	const name = "sts/instance-credentials-outside-aws-get-caller-identity.json"
	// ec2RoleDelivery alone is enough, whatever the session's name.
	if _, ok := findingOf(t, "instance-credentials-outside-aws", name, `/i-0c3e7a1d9b5f24e68"`, `/renamed"`); !ok {
		t.Error("an ec2RoleDelivery session was not reported")
	}
	// Neither ec2RoleDelivery nor an instance ID as session name.
	if _, ok := findingOf(t, "instance-credentials-outside-aws", name, `,
        "ec2RoleDelivery": "2.0"`, ``, `:i-0c3e7a1d9b5f24e68"`, `:dana"`); ok {
		t.Error("a person's session was reported")
	}
	// A write that AWS refused stays high.
	f, ok := findingOf(t, "instance-credentials-outside-aws", "iam/instance-credentials-outside-aws-create-access-key.json",
		`"requestParameters"`, `"errorCode": "AccessDenied", "requestParameters"`)
	if !ok || f.Severity != detect.SeverityHigh || !strings.Contains(f.Headline, "denied (AccessDenied)") {
		t.Errorf("denied write: %v %s %q", ok, f.Severity, f.Headline)
	}
}

// TestGuardDutyInstanceCredentialSeverity: GuardDuty's score, at least
// high, with a note when raised.
func TestGuardDutyInstanceCredentialSeverity(t *testing.T) {
	const name = "guardduty/guardduty-instance-credential-exfiltration-outside-aws.json"
	for _, tt := range []struct {
		score string
		want  detect.Severity
		note  string
	}{
		{"8", detect.SeverityHigh, ""},
		{"9.5", detect.SeverityCritical, ""},
		{"5", detect.SeverityHigh, "raised from medium: instance credentials used away from their instance are at least high"},
	} {
		f, ok := findingOf(t, "guardduty-instance-credential-exfiltration", name, `"severity": 8`, `"severity": `+tt.score)
		if !ok || f.Severity != tt.want || f.SeverityNote != tt.note {
			t.Errorf("score %s: %v %s %q, want %s %q", tt.score, ok, f.Severity, f.SeverityNote, tt.want, tt.note)
		}
	}
	f, _ := findingOf(t, "guardduty-instance-credential-exfiltration", name)
	if want := "GuardDuty: credentials of EC2 instance i-0c3e7a1d9b5f24e68 (role app-web-prod) used from 198.51.100.201 (Example VPS Hosting Ltd): s3:ListBuckets"; f.Headline != want {
		t.Errorf("headline %q, want %q", f.Headline, want)
	}
	f, _ = findingOf(t, "guardduty-instance-credential-exfiltration", "guardduty/guardduty-instance-credential-exfiltration-inside-aws.json")
	if want := "GuardDuty: credentials of EC2 instance i-0f1e2d3c4b5a69788 (role build-runner) used from AWS account 444455556666 (not in your GuardDuty organization): secretsmanager:GetSecretValue"; f.Headline != want {
		t.Errorf("headline %q, want %q", f.Headline, want)
	}
}
