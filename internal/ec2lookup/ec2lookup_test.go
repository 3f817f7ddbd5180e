package ec2lookup_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/ec2lookup"
)

const (
	hotInstance  = "i-0a1b2c3d4e5f60718"
	warmInstance = "i-07a8b9c0d1e2f3a4b"
)

var (
	getMetricData  = awstest.REST("POST", "/operation/GetMetricData", "")
	lookupEvents   = awstest.Target("CloudTrail_20131101.LookupEvents")
	windowEnd      = time.Date(2026, 11, 20, 3, 15, 4, 0, time.UTC)
	fiveMinutes    = 5 * time.Minute
	windowStart    = windowEnd.Add(-3 * fiveMinutes)
	recordedServer = func(t *testing.T) (*awstest.Server, *ec2lookup.Inspector) {
		srv := awstest.NewServer(t)
		cfg := srv.Config("eu-west-1")
		return srv, &ec2lookup.Inspector{EC2: ec2.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg), CloudTrail: cloudtrail.NewFromConfig(cfg)}
	}
)

// TestHotInstances runs the real CloudWatch client (Smithy RPC v2 CBOR)
// against a recorded GetMetricData answer.
func TestHotInstances(t *testing.T) {
	srv, in := recordedServer(t)
	srv.Handle(getMetricData, awstest.Response{Header: awstest.CBORHeader, Body: awstest.CBOR(t, awstest.File(t, "cloudwatch-get-metric-data-hot.json"))})
	hot, err := in.HotInstances(context.Background(), "eu-west-1", windowStart, windowEnd, fiveMinutes)
	if err != nil {
		t.Fatal(err)
	}
	if len(hot) != 2 || hot[0].ID != hotInstance || hot[1].ID != warmInstance {
		t.Fatalf("HotInstances = %+v, want %s then %s (the label \"Other\" is no instance)", hot, hotInstance, warmInstance)
	}
	if got := *hot[0].CPU; got < 99.69 || got > 99.71 {
		t.Errorf("CPU of %s = %v, want the average 99.7", hotInstance, got)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if !strings.Contains(string(reqs[0].Body), "GROUP BY InstanceId") || reqs[0].Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		t.Errorf("request does not carry the ranking query as CBOR: %q", reqs[0].Body)
	}
}

// TestDescribe runs the real EC2 client against recorded DescribeInstances
// and DescribeSecurityGroups answers.
func TestDescribe(t *testing.T) {
	srv, in := recordedServer(t)
	srv.Handle(awstest.Action("DescribeInstances"), awstest.Response{Body: awstest.File(t, "ec2-describe-instances.xml")})
	srv.Handle(awstest.Action("DescribeSecurityGroups"), awstest.Response{Body: awstest.File(t, "ec2-describe-security-groups.xml")})
	cpu := 99.7
	got, err := in.Describe(context.Background(), "eu-west-1", []alert.Instance{{ID: hotInstance, CPU: &cpu}, {ID: warmInstance}})
	if err != nil {
		t.Fatal(err)
	}
	h := got[0]
	checks := []struct {
		what, got, want string
	}{
		{"type", h.Type, "c5.4xlarge"},
		{"zone", h.Zone, "eu-west-1b"},
		{"state", h.State, "running"},
		{"image", h.Image, "ami-0123456789abcdef0"},
		{"profile", h.Profile, "arn:aws:iam::111122223333:instance-profile/web-app"},
		{"public IP", h.PublicIP, "203.0.113.77"},
		{"launch", h.LaunchTime.Format(time.RFC3339), "2026-11-19T21:02:11Z"},
		{"name", h.Name, "web-1 <!channel> <https://evil.example|click>"},
		{"open ingress", strings.Join(h.OpenIngress, "; "), "sg-0c1d2e3f4a5b6c7d8 (web-open): tcp 22 from anywhere; sg-0c1d2e3f4a5b6c7d8 (web-open): tcp 443 from anywhere"},
		{"missing", got[1].Missing, "EC2 does not know the instance (terminated more than an hour ago?)"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if h.CPU == nil || *h.CPU != cpu {
		t.Error("Describe dropped the CPU found earlier")
	}
	if len(h.Tags) != 2 || h.Tags[0].Key != "owner" || h.Tags[1].Key != "team" {
		t.Errorf("tags = %+v, want owner and team sorted, Name apart", h.Tags)
	}
	// The instances are asked for by filter, so one that no longer exists
	// does not fail the call for the others.
	form, _ := url.ParseQuery(string(srv.Requests()[0].Body))
	if form.Get("Filter.1.Name") != "instance-id" || form.Get("Filter.1.Value.2") != warmInstance || form.Has("InstanceId.1") {
		t.Errorf("DescribeInstances request = %v, want an instance-id filter", form)
	}
}

func TestLaunchEvent(t *testing.T) {
	tests := []struct {
		name, file string
		wantBy     string
	}{
		{"launched in the last 90 days", "cloudtrail-lookup-run-instances.json", "arn:aws:iam::111122223333:user/deploy-bot"},
		{"older than the event history", "cloudtrail-lookup-empty.json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, in := recordedServer(t)
			srv.Handle(lookupEvents, awstest.Response{Body: awstest.File(t, tt.file)})
			rec, err := in.LaunchEvent(context.Background(), "eu-west-1", hotInstance)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantBy == "" && rec != nil:
				t.Errorf("LaunchEvent = %s, want none", rec.EventName)
			case tt.wantBy != "" && (rec == nil || rec.EventName != "RunInstances" || rec.UserIdentity.ARN != tt.wantBy):
				t.Errorf("LaunchEvent = %+v, want RunInstances by %s", rec, tt.wantBy)
			}
			if body := string(srv.Requests()[0].Body); !strings.Contains(body, `"AttributeKey":"ResourceName"`) || !strings.Contains(body, hotInstance) {
				t.Errorf("request %s does not look the instance up by resource name", body)
			}
		})
	}
}

// TestFailuresAreExplained: an AWS error becomes a short reason the alert
// can print, never a panic or a silent empty answer.
func TestFailuresAreExplained(t *testing.T) {
	srv, in := recordedServer(t)
	srv.Handle(awstest.Action("DescribeInstances"), awstest.Response{Status: http.StatusForbidden,
		// EC2's error document differs from other query services'.
		Body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestID></Response>`})
	srv.Handle(lookupEvents, awstest.Response{Status: http.StatusBadRequest, Body: awstest.JSONError("AccessDeniedException", "not allowed")})
	srv.Handle(getMetricData, awstest.Response{Delay: 2 * time.Second, Header: awstest.CBORHeader, Body: awstest.CBOR(t, `{"MetricDataResults":[]}`)})
	in.Timeout = 200 * time.Millisecond
	ctx := context.Background()
	if _, err := in.Describe(ctx, "eu-west-1", []alert.Instance{{ID: hotInstance}}); err == nil || !strings.Contains(err.Error(), "UnauthorizedOperation") {
		t.Errorf("Describe error = %v, want UnauthorizedOperation", err)
	}
	if _, err := in.LaunchEvent(ctx, "eu-west-1", hotInstance); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("LaunchEvent error = %v, want AccessDenied", err)
	}
	if _, err := in.HotInstances(ctx, "eu-west-1", windowStart, windowEnd, fiveMinutes); err == nil {
		t.Error("HotInstances past its timeout returned no error")
	}
}
