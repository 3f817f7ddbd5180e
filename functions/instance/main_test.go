package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

const (
	secretName = "trailwatch/slack-webhook"
	topicARN   = "arn:aws:sns:eu-west-1:111122223333:trailwatch-alerts"
)

// world is the local Slack webhook and AWS stand-in one test runs against.
type world struct {
	aws      *awstest.Server
	mu       sync.Mutex
	slack    []string
	slackErr bool
	// member runs in organization mode from the security account
	// 999988887777: the fixtures' account 111122223333 is a member.
	member bool
}

func (w *world) posts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.slack...)
}

// emails returns the subjects and bodies published to SNS.
func (w *world) emails(t *testing.T) []string {
	var out []string
	for _, r := range w.aws.Requests() {
		form, err := url.ParseQuery(string(r.Body))
		if err == nil && form.Get("Action") == "Publish" {
			out = append(out, form.Get("Subject")+"\n"+form.Get("Message"))
		}
	}
	return out
}

// invoke runs one rule invocation of the fixture through the handler that
// main builds, with every look-up answered by recorded AWS responses.
func invoke(t *testing.T, w *world, name, detection string) error {
	t.Helper()
	slack := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.slack = append(w.slack, string(b))
		fail := w.slackErr
		w.mu.Unlock()
		if fail {
			http.Error(rw, "no_service", http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(rw, "ok")
	}))
	t.Cleanup(slack.Close)
	a := w.aws
	a.Handle(awstest.Target("secretsmanager.GetSecretValue"), awstest.Response{
		Body: strings.Replace(awstest.Recorded(t, "deliver", "secretsmanager-get-secret-value-local.json"), "__WEBHOOK_URL__", slack.URL+"/services/T0/B0/secret", 1)})
	a.Handle(awstest.Action("Publish"), awstest.Response{Body: awstest.Recorded(t, "deliver", "sns-publish.xml")})
	a.Handle(awstest.Action("ListAccountAliases"), awstest.Response{Body: awstest.Recorded(t, "awslookup", "iam-list-account-aliases.xml")})
	a.Handle(awstest.REST("POST", "/operation/GetMetricData", ""), awstest.Response{Header: awstest.CBORHeader,
		Body: awstest.CBOR(t, awstest.Recorded(t, "ec2lookup", "cloudwatch-get-metric-data-hot.json"))})
	a.Handle(awstest.Action("DescribeInstances"), awstest.Response{Body: awstest.Recorded(t, "ec2lookup", "ec2-describe-instances.xml")})
	a.Handle(awstest.Action("DescribeSecurityGroups"), awstest.Response{Body: awstest.Recorded(t, "ec2lookup", "ec2-describe-security-groups.xml")})
	a.Handle(awstest.Target("CloudTrail_20131101.LookupEvents"), awstest.Response{Body: awstest.Recorded(t, "ec2lookup", "cloudtrail-lookup-run-instances.json")})

	rt := config.Runtime{SlackSecretName: secretName, TopicARN: topicARN}
	if w.member {
		rt.TopicARN = strings.Replace(topicARN, "111122223333", "999988887777", 1)
		rt.OrganizationID, rt.LookupRole = "o-a1b2c3d4e5", config.LookupRoleName
		a.Handle(awstest.Action("AssumeRole"), awstest.Response{Body: strings.NewReplacer("ACCOUNT", "111122223333", "ACCESSKEY", "ASIAMEMBERINSTANCE",
			"EXPIRATION", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)).Replace(awstest.Recorded(t, "crossaccount", "sts-assume-role.xml"))})
		a.Handle(awstest.Target("AWSOrganizationsV20161128.DescribeAccount"), awstest.Response{Body: awstest.Recorded(t, "orglookup", "organizations-describe-account.json")})
		a.Handle(awstest.Target("AWSOrganizationsV20161128.ListParents"), awstest.Response{Body: awstest.Recorded(t, "orglookup", "organizations-list-parents-root.json")})
	}
	env, err := rt.Env()
	if err != nil {
		t.Fatal(err)
	}
	load := func(context.Context) (aws.Config, error) { return a.Config("eu-west-1"), nil }
	var logs bytes.Buffer
	h, err := setUp(context.Background(), func(k string) string { return env[k] }, load, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := event.ApplyRuleInputTemplate(event.RuleInputTemplate(detection), fixture.Read(t, name))
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Invoke(context.Background(), payload)
	return err
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name, fixture, detection string
		// want are in the Slack message and the email; absent in neither.
		want   []string
		absent []string
		silent bool
	}{
		{
			name: "fleet alarm names the hot instance, its launcher and the breach", fixture: "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", detection: "ec2-cpu-spike",
			want: []string{"HIGH", "i-0a1b2c3d4e5f60718", "99.8%", "80%", "c5.4xlarge", "deploy-bot", "tcp 22 from anywhere", "acme-prod", "99.7% in the alarm window"},
			// The hostile Name tag stays inert in Slack.
			absent: []string{"<!channel>", "<https://evil"},
		},
		{
			name: "single instance alarm", fixture: "cloudwatch/ec2-cpu-spike-single-metric-alarm.json", detection: "ec2-cpu-spike",
			want: []string{"HIGH", "i-0a1b2c3d4e5f60718", "99.1%", "deploy-bot"},
		},
		{
			name: "back to OK is a resolved message", fixture: "cloudwatch/ec2-cpu-spike-single-metric-ok.json", detection: "ec2-cpu-spike",
			want: []string{"RESOLVED", "back below the CPU threshold"}, absent: []string{"HIGH", "CRITICAL"},
		},
		{
			name: "GuardDuty mining finding", fixture: "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json", detection: "guardduty-crypto-mining",
			want: []string{"HIGH", "CryptoCurrency:EC2/BitcoinTool.B!DNS", "i-0a1b2c3d4e5f60718", "deploy-bot", "minexmr"},
		},
		{name: "an alarm that is not about CPU", fixture: "cloudwatch/ec2-cpu-spike-other-alarm.json", detection: "ec2-cpu-spike", silent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{aws: awstest.NewServer(t)}
			if err := invoke(t, w, tt.fixture, tt.detection); err != nil {
				t.Fatalf("handler: %v", err)
			}
			posts, mails := w.posts(), w.emails(t)
			if tt.silent {
				if len(posts)+len(mails) != 0 {
					t.Fatalf("sent %d Slack messages and %d emails, want none", len(posts), len(mails))
				}
				return
			}
			if len(posts) != 1 || len(mails) != 1 {
				t.Fatalf("sent %d Slack messages and %d emails, want one each", len(posts), len(mails))
			}
			for _, s := range tt.want {
				if !strings.Contains(posts[0], s) {
					t.Errorf("Slack message lacks %q:\n%s", s, posts[0])
				}
				if !strings.Contains(mails[0], s) {
					t.Errorf("email lacks %q:\n%s", s, mails[0])
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(posts[0], s) {
					t.Errorf("Slack message holds %q", s)
				}
			}
		})
	}
}

// TestFailedDeliveryKeepsTheEvent: a deleted Slack channel makes the
// invocation fail, so Lambda retries and the dead-letter queue keeps the
// alarm; the email still goes out.
func TestFailedDeliveryKeepsTheEvent(t *testing.T) {
	w := &world{aws: awstest.NewServer(t), slackErr: true}
	err := invoke(t, w, "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", "ec2-cpu-spike")
	if err == nil || !strings.Contains(err.Error(), "slack") {
		t.Fatalf("handler error = %v, want the failed Slack delivery", err)
	}
	if len(w.emails(t)) != 1 {
		t.Error("the email channel did not deliver while Slack failed")
	}
}

// TestMemberAccountAlarm: a member's fleet CPU alarm, forwarded to the
// central bus, is looked up in the member account: CloudWatch, EC2 and
// the event history answer with the credentials of its look-up role.
func TestMemberAccountAlarm(t *testing.T) {
	w := &world{aws: awstest.NewServer(t), member: true}
	if err := invoke(t, w, "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", "ec2-cpu-spike"); err != nil {
		t.Fatalf("handler: %v", err)
	}
	posts := w.posts()
	if len(posts) != 1 {
		t.Fatalf("%d Slack messages, want 1", len(posts))
	}
	for _, want := range []string{"i-0a1b2c3d4e5f60718", "deploy-bot", "acme-prod", "Payments Prod", "Sign in to account 111122223333 first"} {
		if !strings.Contains(posts[0], want) {
			t.Errorf("Slack message lacks %q:\n%s", want, posts[0])
		}
	}
	looked := 0
	for _, r := range w.aws.Requests() {
		op := r.Operation()
		if op != "DescribeInstances" && op != "DescribeSecurityGroups" && op != "ListAccountAliases" &&
			!strings.HasPrefix(op, "CloudTrail_") && !strings.HasSuffix(r.Path, "/GetMetricData") {
			continue
		}
		looked++
		if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "Credential=ASIAMEMBERINSTANCE/") {
			t.Errorf("%s %s signed %s, want the member role's key", op, r.Path, auth)
		}
	}
	if looked < 4 {
		t.Errorf("%d member look-ups, want the metric, instance, security group, launch and alias look-ups", looked)
	}
}
