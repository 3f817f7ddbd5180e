package enrich_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	cloudtrailsdk "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/budget"
	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/s3access"
	"github.com/trailwatch/trailwatch/internal/s3lookup"
)

func record(t *testing.T, js string) *cloudtrail.Record {
	t.Helper()
	var r cloudtrail.Record
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestPrincipal(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  string
		want alert.Who
	}{
		{
			name: "identity center user",
			rec: `{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_1a2b3c4d5e6f7a8b/maria@example.com","accountId":"111122223333","accessKeyId":"ASIAX",
				"sessionContext":{"sessionIssuer":{"type":"Role","userName":"AWSReservedSSO_AdministratorAccess_1a2b3c4d5e6f7a8b"},"attributes":{"mfaAuthenticated":"false"}}},
				"sessionCredentialFromConsole":"true","userAgent":"[S3Console/0.4]"}`,
			want: alert.Who{Kind: "IAM Identity Center user", Name: "maria@example.com", Detail: "permission set AdministratorAccess",
				MFA: "not recorded: Identity Center sessions carry mfaAuthenticated=false; MFA, if required, happens at the access portal sign-in", AccessKey: "ASIAX (temporary credentials)", Via: "AWS Management Console"},
		},
		{
			name: "root with MFA",
			rec:  `{"userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}},"userAgent":"signin.amazonaws.com"}`,
			want: alert.Who{Kind: "root user", Name: "root user of account 111122223333", MFA: "yes", Via: "AWS Management Console"},
		},
		{
			name: "IAM user with a long-term key through Terraform",
			rec: `{"userIdentity":{"type":"IAMUser","userName":"deploy-bot","accessKeyId":"AKIAEXAMPLE"},
				"userAgent":"[APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.76.0 aws-sdk-go-v2/1.32.4]"}`,
			want: alert.Who{Kind: "IAM user", Name: "deploy-bot", MFA: "no (long-term access key: no MFA session)", AccessKey: "AKIAEXAMPLE (long-term access key)", Via: "Terraform 1.9.8"},
		},
		{
			name: "assumed role from a CLI in CI",
			rec: `{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/github-deploy/GitHubActions",
				"sessionContext":{"sessionIssuer":{"userName":"github-deploy"},"webIdFederationData":{"federatedProvider":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"attributes":{"mfaAuthenticated":"false"}}},
				"userAgent":"aws-cli/2.22.4 md/command#s3api.put-bucket-policy"}`,
			want: alert.Who{Kind: "web identity role session", Name: "GitHubActions", Detail: "role github-deploy, federated through token.actions.githubusercontent.com", MFA: "no", Via: "AWS CLI 2.22.4 (s3api put-bucket-policy)"},
		},
		{
			name: "role with a source identity, boto3 in Lambda",
			rec: `{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/etl/job-17","sessionContext":{"sessionIssuer":{"userName":"etl"},"sourceIdentity":"alice"}},
				"userAgent":"Boto3/1.35.54 md/Botocore#1.35.54 exec-env/AWS_Lambda_python3.12"}`,
			want: alert.Who{Kind: "assumed role", Name: "job-17", Detail: "role etl, source identity alice", MFA: "not recorded", Via: "Boto3 (AWS SDK for Python) 1.35.54, running in AWS Lambda"},
		},
		{
			name: "AWS service",
			rec:  `{"userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"userAgent":"cloudtrail.amazonaws.com"}`,
			want: alert.Who{Kind: "AWS service", Name: "cloudtrail.amazonaws.com", InvokedBy: "cloudtrail.amazonaws.com", MFA: "not applicable (AWS service)", Via: "AWS service (cloudtrail.amazonaws.com)"},
		},
		{
			name: "no identity at all",
			rec:  `{"userAgent":"curl/8.0"}`,
			want: alert.Who{Kind: "unknown principal", Name: "unnamed principal", MFA: "not recorded", Via: "unrecognized client"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := record(t, tc.rec)
			got := enrich.Principal(rec)
			got.ARN, got.AccountID, got.UserAgent = "", "", ""
			if got != tc.want {
				t.Errorf("Principal() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

type aliases struct {
	alias string
	err   error
	calls int
}

func (a *aliases) AccountAlias(context.Context, string) (string, error) {
	a.calls++
	return a.alias, a.err
}

type buckets struct{ state s3access.BucketState }

type history struct {
	found bool
	err   error
}

func (h history) PreviousPublicAccessBlock(context.Context, string, string, time.Time, string) (awslookup.PriorBlock, bool, error) {
	return awslookup.PriorBlock{
		Config:  s3access.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: false},
		EventID: "prior-1", Event: "PutBucketPublicAccessBlock", Time: time.Date(2026, 10, 2, 8, 0, 0, 0, time.UTC), By: "arn:aws:iam::111122223333:user/ana",
	}, h.found, h.err
}

func (b buckets) BucketState(context.Context, string, string, string) s3access.BucketState {
	return b.state
}

func findings(t *testing.T, name string) (*event.Event, []detect.Finding) {
	t.Helper()
	ev, err := event.Decode(fixture.Read(t, name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fs, err := c.Evaluate(ev)
	// Steps towards a threshold are the pipeline's to count, not alerts.
	fs = slices.DeleteFunc(fs, func(f detect.Finding) bool { return f.Detection.Threshold != nil })
	if err != nil || len(fs) == 0 {
		t.Fatalf("fixture %s: findings %v, %v", name, fs, err)
	}
	return ev, fs
}

func TestAlert(t *testing.T) {
	yes, no := true, false
	public := s3access.BucketState{PolicyPublic: &yes, BucketBlock: &s3access.PublicAccessBlock{}, AccountBlock: &s3access.PublicAccessBlock{}, ACLKnown: true}
	private := s3access.BucketState{PolicyPublic: &no, BucketBlock: &s3access.PublicAccessBlock{}, AccountBlock: &s3access.PublicAccessBlock{}, ACLKnown: false, Missing: []string{"GetBucketAcl: AccessDenied"}}
	now := time.Date(2026, 11, 20, 9, 15, 9, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		fixture   string
		enricher  enrich.Enricher
		severity  detect.Severity
		alias     string
		public    string
		unchecked []string
	}{
		{
			name: "offline", fixture: "s3/put-bucket-public-access-block-sso-policy-off.json",
			enricher: enrich.Enricher{Offline: "no AWS credentials"}, severity: detect.SeverityHigh,
			unchecked: []string{"account alias: not checked (no AWS credentials)", "whether the bucket is public now: not checked (no AWS credentials)",
				"previous Block Public Access settings: not checked (no AWS credentials)"},
		},
		{
			name: "public right now raises high to critical", fixture: "s3/put-bucket-public-access-block-sso-policy-off.json",
			enricher: enrich.Enricher{Lookups: enrich.Lookups{Aliases: &aliases{alias: "acme-prod"}, Buckets: buckets{public}, History: history{found: true}}}, severity: detect.SeverityCritical,
			alias: "acme-prod", public: "yes",
		},
		{
			name: "a failed attempt stays low even if the bucket is public", fixture: "s3/put-bucket-policy-public-denied.json",
			enricher: enrich.Enricher{Lookups: enrich.Lookups{Aliases: &aliases{alias: "acme-prod"}, Buckets: buckets{public}}}, severity: detect.SeverityLow,
			alias: "acme-prod", public: "yes",
		},
		{
			name: "look-up failures are listed, the alert still builds", fixture: "s3/put-bucket-policy-public-read.json",
			enricher: enrich.Enricher{Lookups: enrich.Lookups{Aliases: &aliases{err: errors.New("AccessDenied: not authorized")}, Buckets: buckets{private}}}, severity: detect.SeverityHigh,
			public: "unknown", unchecked: []string{"account alias: AccessDenied: not authorized", "bucket state: GetBucketAcl: AccessDenied"},
		},
		{
			name: "another account's event is not looked up", fixture: "s3/put-bucket-policy-public-read.json",
			enricher: enrich.Enricher{Lookups: enrich.Lookups{Aliases: &aliases{alias: "x"}, Buckets: buckets{public}}, HomeAccount: "999988887777"}, severity: detect.SeverityHigh,
			unchecked: []string{"account alias: not checked (the event is from account 111122223333; trailwatch's credentials are for account 999988887777)",
				"whether the bucket is public now: not checked (the event is from account 111122223333; trailwatch's credentials are for account 999988887777)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, fs := findings(t, tc.fixture)
			e := tc.enricher
			e.Now = func() time.Time { return now }
			a, err := e.Alert(context.Background(), ev, fs)
			if err != nil {
				t.Fatal(err)
			}
			if a.Severity != tc.severity {
				t.Errorf("severity = %s, want %s", a.Severity, tc.severity)
			}
			if a.Where.AccountAlias != tc.alias {
				t.Errorf("alias = %q, want %q", a.Where.AccountAlias, tc.alias)
			}
			gotPublic := ""
			if a.Exposure != nil {
				gotPublic = a.Exposure.Public
			}
			if gotPublic != tc.public {
				t.Errorf("exposure = %q, want %q", gotPublic, tc.public)
			}
			if strings.Join(a.Unchecked, "|") != strings.Join(tc.unchecked, "|") {
				t.Errorf("unchecked =\n%q\nwant\n%q", a.Unchecked, tc.unchecked)
			}
			if a.When.Delay != now.Sub(a.When.EventTime) {
				t.Errorf("delay = %v, want %v", a.When.Delay, now.Sub(a.When.EventTime))
			}
		})
	}
}

func TestLinksOnlyFromValidatedNames(t *testing.T) {
	ev, fs := findings(t, "s3/put-bucket-policy-public-read.json")
	e := enrich.Enricher{Offline: "test"}
	a, err := e.Alert(context.Background(), ev, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CloudTrail event":   "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/" + a.EventID,
		"Bucket permissions": "https://s3.console.aws.amazon.com/s3/buckets/acme-prod-invoices?region=eu-west-1&tab=permissions",
		"IAM user":           "https://console.aws.amazon.com/iam/home#/users/details/kevin.obrien",
	}
	if len(a.Links) != len(want) {
		t.Errorf("links = %+v", a.Links)
	}
	for _, l := range a.Links {
		if want[l.Label] != l.URL {
			t.Errorf("link %q = %s, want %s", l.Label, l.URL, want[l.Label])
		}
	}

	// A hostile bucket name (possible in a failed request) must not become a link.
	fs[0].Resource.Name = `evil"><script>`
	a, _ = e.Alert(context.Background(), ev, fs)
	for _, l := range a.Links {
		if strings.Contains(l.URL, "script") {
			t.Errorf("hostile name reached a link: %s", l.URL)
		}
	}
}

func TestClientNamesGovCloudAndChinaConsoles(t *testing.T) {
	for region, host := range map[string]string{"cn-north-1": "console.amazonaws.cn", "us-gov-west-1": "console.amazonaws-us-gov.com"} {
		ev, fs := findings(t, "s3/put-bucket-policy-public-read.json")
		ev.CloudTrail.AWSRegion = region
		a, err := (&enrich.Enricher{Offline: "test"}).Alert(context.Background(), ev, fs)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Links) == 0 || !strings.Contains(a.Links[0].URL, host) {
			t.Errorf("%s: links %+v do not use %s", region, a.Links, host)
		}
	}
}

func TestPreviousSettings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		history   enrich.History
		changes   []string
		unchecked string
	}{
		{"found", history{found: true}, []string{"BlockPublicPolicy true->false", "RestrictPublicBuckets false->false"}, ""},
		{"none in 90 days", history{}, []string{"BlockPublicPolicy ?->false", "RestrictPublicBuckets ?->false"}, "previous Block Public Access settings: no change in the last 90 days of CloudTrail event history"},
		{"error", history{err: errors.New("lookup events: AccessDeniedException")}, []string{"BlockPublicPolicy ?->false", "RestrictPublicBuckets ?->false"}, "previous Block Public Access settings: lookup events: AccessDeniedException"},
		{"no client", nil, []string{"BlockPublicPolicy ?->false", "RestrictPublicBuckets ?->false"}, "previous Block Public Access settings: no CloudTrail client configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, fs := findings(t, "s3/put-bucket-public-access-block-sso-policy-off.json")
			e := enrich.Enricher{Lookups: enrich.Lookups{Aliases: &aliases{}, Buckets: buckets{}, History: tc.history}}
			a, err := e.Alert(context.Background(), ev, fs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range a.What.Changes {
				got = append(got, c.Setting+" "+c.Before+"->"+c.After)
			}
			if strings.Join(got, "|") != strings.Join(tc.changes, "|") {
				t.Errorf("changes = %q, want %q", got, tc.changes)
			}
			if fs[0].Changes[0].Before != detect.NotRecorded {
				t.Error("the finding's own changes were modified; the alert must work on a copy")
			}
			has := tc.unchecked == ""
			for _, u := range a.Unchecked {
				has = has || u == tc.unchecked
			}
			if !has {
				t.Errorf("unchecked %q lacks %q", a.Unchecked, tc.unchecked)
			}
		})
	}
}

// TestLookUpTimeoutsReadAsText: look-ups cut short by the invocation's
// budget (internal/budget's context before sending) say so in words in
// the alert, through the real SDK clients, not as the SDK's error chain.
func TestLookUpTimeoutsReadAsText(t *testing.T) {
	srv := awstest.NewServer(t)
	slow := func(body string) awstest.Response { return awstest.Response{Body: body, Delay: 5 * time.Second} }
	srv.Handle(awstest.Action("ListAccountAliases"), slow(awstest.Recorded(t, "awslookup", "iam-list-account-aliases.xml")))
	srv.Handle(awstest.REST("GET", "/", "policyStatus"), slow(awstest.Recorded(t, "s3lookup", "s3-policy-status-public.xml")))
	srv.Handle(awstest.REST("GET", "/", "acl"), slow(awstest.Recorded(t, "s3lookup", "s3-acl-private.xml")))
	srv.Handle(awstest.REST("GET", "/v20180820/configuration/publicAccessBlock", ""), slow(awstest.Recorded(t, "s3lookup", "s3control-public-access-block-off.xml")))
	srv.Handle(awstest.REST("GET", "/", "publicAccessBlock"), slow(awstest.Recorded(t, "s3lookup", "s3-public-access-block-off.xml")))
	srv.Handle(awstest.Target("CloudTrail_20131101.LookupEvents"), slow(awstest.Recorded(t, "awslookup", "cloudtrail-lookup-empty.json")))
	cfg := srv.Config("eu-west-1")
	e := enrich.Enricher{Lookups: enrich.Lookups{
		Aliases: &awslookup.Aliases{IAM: iam.NewFromConfig(cfg)},
		Buckets: &s3lookup.Buckets{S3: s3.NewFromConfig(cfg), Control: s3control.NewFromConfig(cfg)},
		History: &awslookup.History{CloudTrail: cloudtrailsdk.NewFromConfig(cfg)},
	}}
	// 1.5 s: 300 ms kept, 400 ms before sending, long before every call's
	// own timeout (3 s) and the enricher's (5 s).
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	b := budget.New(ctx, nil)
	prep, cancelPrep := b.Prepare(ctx)
	defer cancelPrep()
	ev, fs := findings(t, "s3/put-bucket-public-access-block-sso-policy-off.json")
	a, err := e.Alert(prep, ev, fs)
	if err != nil {
		t.Fatal(err)
	}
	var timedOut int
	for _, u := range a.Unchecked {
		if strings.Contains(u, "operation error") || strings.Contains(u, "context deadline exceeded") || strings.Contains(u, "StatusCode") {
			t.Errorf("unchecked item is the SDK's error chain: %q", u)
		}
		if strings.Contains(u, ": timed out after 0.4 seconds (the invocation's time before sending)") {
			timedOut++
		}
	}
	// The alias, the bucket's four calls and the event history.
	if timedOut != 6 {
		t.Errorf("%d of the unchecked items name the budget's timeout, want 6: %q", timedOut, a.Unchecked)
	}
}
