package ec2lookup_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
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
		{"private IP", h.PrivateIP, "10.20.3.41"},
		{"VPC", h.VPC, "vpc-0a1b2c3d4e5f6a7b8"},
		{"subnet", h.Subnet, "subnet-0b1c2d3e4f5a6b7c8"},
		{"security groups", fmt.Sprint(h.SecurityGroups), "[{sg-0c1d2e3f4a5b6c7d8 web-open} {sg-0d2e3f4a5b6c7d8e9 internal}]"},
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

// fromFinding is an instance as a GuardDuty finding describes it: its
// security groups are known before EC2 is asked.
func fromFinding() alert.Instance {
	return alert.Instance{ID: hotInstance, Name: "web-1", Type: "c5.4xlarge",
		SecurityGroups: []alert.SecurityGroup{{ID: "sg-0c1d2e3f4a5b6c7d8", Name: "web-open"}}}
}

// groupFilter is the group-id filter of a DescribeSecurityGroups request.
func groupFilter(t *testing.T, r awstest.Request) []string {
	t.Helper()
	form, err := url.ParseQuery(string(r.Body))
	if err != nil || form.Get("Filter.1.Name") != "group-id" {
		t.Fatalf("DescribeSecurityGroups request %q has no group-id filter", r.Body)
	}
	var ids []string
	for i := 1; form.Has(fmt.Sprintf("Filter.1.Value.%d", i)); i++ {
		ids = append(ids, form.Get(fmt.Sprintf("Filter.1.Value.%d", i)))
	}
	return ids
}

// TestKnownGroupsDoNotWaitForTheInstances: with the groups named by the
// finding, their rules are read even when DescribeInstances never answers
// in time, so the alert still says what is open to the internet; the
// timeout reads as words, and still matches context.DeadlineExceeded.
func TestKnownGroupsDoNotWaitForTheInstances(t *testing.T) {
	srv, in := recordedServer(t)
	srv.Handle(awstest.Action("DescribeInstances"), awstest.Response{Delay: 5 * time.Second, Body: awstest.File(t, "ec2-describe-instances.xml")})
	srv.Handle(awstest.Action("DescribeSecurityGroups"), awstest.Response{Body: awstest.File(t, "ec2-describe-security-groups.xml")})
	in.Timeout = 300 * time.Millisecond
	got, err := in.Describe(context.Background(), "eu-west-1", []alert.Instance{fromFinding()})
	if err == nil || err.Error() != "describe instances: timed out after 0.3 seconds" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want only \"describe instances: timed out after 0.3 seconds\" (matching context.DeadlineExceeded)", err)
	}
	h := got[0]
	if want := "sg-0c1d2e3f4a5b6c7d8 (web-open): tcp 22 from anywhere; sg-0c1d2e3f4a5b6c7d8 (web-open): tcp 443 from anywhere"; strings.Join(h.OpenIngress, "; ") != want {
		t.Errorf("open ingress = %q, want %q", h.OpenIngress, want)
	}
	if h.Name != "web-1" || h.Type != "c5.4xlarge" || h.Missing != "" {
		t.Errorf("what the finding said was lost: %+v", h)
	}
	var groupCalls int
	for _, r := range srv.Requests() {
		if r.Operation() == "DescribeSecurityGroups" {
			groupCalls++
			if ids := groupFilter(t, r); !slices.Equal(ids, []string{"sg-0c1d2e3f4a5b6c7d8"}) {
				t.Errorf("groups asked for = %v, want the finding's", ids)
			}
		}
	}
	if groupCalls != 1 {
		t.Errorf("%d DescribeSecurityGroups calls, want 1", groupCalls)
	}
}

// TestGroupsOnlyEC2NamesAreReadAfterwards: a group the finding did not name
// is read once EC2 has answered, and only that one.
func TestGroupsOnlyEC2NamesAreReadAfterwards(t *testing.T) {
	srv, in := recordedServer(t)
	srv.Handle(awstest.Action("DescribeInstances"), awstest.Response{Body: awstest.File(t, "ec2-describe-instances.xml")})
	srv.Handle(awstest.Action("DescribeSecurityGroups"), awstest.Response{Body: awstest.File(t, "ec2-describe-security-groups.xml")})
	got, err := in.Describe(context.Background(), "eu-west-1", []alert.Instance{fromFinding()})
	if err != nil {
		t.Fatal(err)
	}
	var asked [][]string
	for _, r := range srv.Requests() {
		if r.Operation() == "DescribeSecurityGroups" {
			asked = append(asked, groupFilter(t, r))
		}
	}
	slices.SortFunc(asked, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	if want := [][]string{{"sg-0c1d2e3f4a5b6c7d8"}, {"sg-0d2e3f4a5b6c7d8e9"}}; !reflect.DeepEqual(asked, want) {
		t.Errorf("DescribeSecurityGroups asked for %v, want %v", asked, want)
	}
	if len(got[0].SecurityGroups) != 2 || len(got[0].OpenIngress) != 2 {
		t.Errorf("instance = %+v, want EC2's two groups and the two open rules", got[0])
	}
}

// TestEachCallHasItsOwnTimeout: DescribeInstances and the
// DescribeSecurityGroups that waits for it each get the whole timeout;
// together they take longer than one.
func TestEachCallHasItsOwnTimeout(t *testing.T) {
	srv, in := recordedServer(t)
	srv.Handle(awstest.Action("DescribeInstances"), awstest.Response{Delay: 600 * time.Millisecond, Body: awstest.File(t, "ec2-describe-instances.xml")})
	srv.Handle(awstest.Action("DescribeSecurityGroups"), awstest.Response{Delay: 600 * time.Millisecond, Body: awstest.File(t, "ec2-describe-security-groups.xml")})
	in.Timeout = time.Second
	got, err := in.Describe(context.Background(), "eu-west-1", []alert.Instance{{ID: hotInstance}})
	if err != nil {
		t.Fatalf("Describe: %v; each call must have its own %v", err, in.Timeout)
	}
	if len(got[0].OpenIngress) != 2 {
		t.Errorf("open ingress = %q", got[0].OpenIngress)
	}
}

// TestCallerDeadlineReadsAsWords: when the alert's own budget, not the
// call's timeout, ends a call, the reason says so instead of an SDK dump.
func TestCallerDeadlineReadsAsWords(t *testing.T) {
	srv, in := recordedServer(t)
	srv.Handle(lookupEvents, awstest.Response{Delay: 5 * time.Second, Body: awstest.File(t, "cloudtrail-lookup-empty.json")})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := in.LaunchEvent(ctx, "eu-west-1", hotInstance)
	if err == nil || err.Error() != "lookup events: not finished: the time for the alert's look-ups ran out" {
		t.Errorf("error = %v", err)
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
	if _, err := in.HotInstances(ctx, "eu-west-1", windowStart, windowEnd, fiveMinutes); err == nil || err.Error() != "get metric data: timed out after 0.2 seconds" {
		t.Errorf("HotInstances past its timeout: error = %v, want \"get metric data: timed out after 0.2 seconds\"", err)
	}
}
