package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/awstest"
)

const (
	dlqURL     = "https://sqs.eu-west-1.amazonaws.com/111122223333/Trailwatch-NotificationsDeadLetterQueue32AE6445-Zr4nW8pQ1vXk"
	dlqFunc    = "Trailwatch-CloudTrailFunction15067864-kQ3vX9mTz2Lw"
	dlqFuncARN = "arn:aws:lambda:eu-west-1:111122223333:function:" + dlqFunc
)

// localDLQ is a local SQS and Lambda whose queue holds the recorded mixed
// batch (an EventBridge dead letter, a Lambda on-failure record, a message
// sent by hand) and then nothing; invoke answers Invoke. The loader records
// the regions it is asked for.
func localDLQ(t *testing.T, invoke awstest.Response) (*awstest.Server, awsLoader, *[]string) {
	t.Helper()
	srv := awstest.NewServer(t)
	sqsJSON := func(name string) awstest.Response {
		return awstest.Response{Header: map[string]string{"Content-Type": "application/x-amz-json-1.0"}, Body: awstest.Recorded(t, "redrive", name)}
	}
	// SQS delivers at least once: the second receive returns the same
	// batch again (which the run must not handle twice), then the queue is
	// empty. It also keeps the test whole if the SDK retries a receive.
	srv.Handle(awstest.Target("AmazonSQS.ReceiveMessage"), sqsJSON("sqs-receive-mixed.json"), sqsJSON("sqs-receive-mixed.json"), sqsJSON("sqs-receive-empty.json"))
	srv.Handle(awstest.Target("AmazonSQS.DeleteMessage"), sqsJSON("sqs-delete-message.json"))
	srv.Handle(awstest.Target("AmazonSQS.ChangeMessageVisibility"), sqsJSON("sqs-change-message-visibility.json"))
	srv.Handle(awstest.REST("POST", "/invocations", ""), invoke)
	var regions []string
	load := func(_ context.Context, region string) (aws.Config, error) {
		regions = append(regions, region)
		return srv.Config(region), nil
	}
	return srv, load, &regions
}

var invokeAccepted = awstest.Response{Status: 202, Header: map[string]string{"X-Amzn-Remapped-Content-Length": "0"}}

// countRequests counts the requests for an operation: an X-Amz-Target, or
// "Invoke" for Lambda invocations of any function.
func countRequests(srv *awstest.Server, op string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Operation() == op || op == "Invoke" && r.Method == "POST" && strings.HasSuffix(r.Path, "/invocations") {
			n++
		}
	}
	return n
}

func TestRedrive(t *testing.T) {
	notFound := awstest.Response{Status: 404, Body: awstest.Recorded(t, "redrive", "lambda-invoke-function-not-found.json"),
		Header: map[string]string{"Content-Type": "application/json", "X-Amzn-ErrorType": "ResourceNotFoundException"}}
	for _, tc := range []struct {
		name    string
		args    []string
		invoke  awstest.Response
		code    int
		out     []string // lines of stdout, in order, each a prefix
		errHas  []string
		invokes int
		deletes int
	}{
		{
			name:   "redrives both shapes and keeps the undecodable message",
			args:   []string{"--queue-url", dlqURL, "--function", dlqFunc},
			invoke: invokeAccepted,
			code:   exitUnreadable,
			out: []string{
				"7b2d4c1e-5f3a-4e8b-9c6d-0a1b2c3d4e5f fb1e38bd-9dc6-8e79-9790-66aaec689aa4 s3-bucket-policy-public redriven",
				"0e6a1b3c-7d94-4f28-b5e0-9c3d2a1f8b76 e42c7339-b155-3991-02b0-821954cadba7 s3-bucket-acl-public redriven",
				"f3a9c7e1-2b4d-4f6a-8e0c-1d3b5a7c9e2f - - kept, undecodable payload: malformed event: invalid character 'h'",
			},
			errHas:  []string{"3 messages: 2 redriven, 1 kept (1 undecodable, 0 invoke failed)\n"},
			invokes: 2,
			deletes: 2,
		},
		{
			name:   "a missing function keeps every message and fails the run",
			args:   []string{"--function", dlqFuncARN, "--queue-url", dlqURL},
			invoke: notFound,
			code:   exitDelivery,
			out: []string{
				"7b2d4c1e-5f3a-4e8b-9c6d-0a1b2c3d4e5f fb1e38bd-9dc6-8e79-9790-66aaec689aa4 s3-bucket-policy-public kept, invoke failed: invoke " + dlqFuncARN,
				"0e6a1b3c-7d94-4f28-b5e0-9c3d2a1f8b76 e42c7339-b155-3991-02b0-821954cadba7 s3-bucket-acl-public kept, invoke failed:",
				"f3a9c7e1-2b4d-4f6a-8e0c-1d3b5a7c9e2f - - kept, undecodable payload:",
			},
			errHas:  []string{"3 messages: 0 redriven, 3 kept (1 undecodable, 2 invoke failed)"},
			invokes: 2,
		},
		{
			name: "dry run",
			args: []string{"--dry-run", "--queue-url", dlqURL, "--function", dlqFunc},
			code: exitUnreadable,
			out: []string{
				"7b2d4c1e-5f3a-4e8b-9c6d-0a1b2c3d4e5f fb1e38bd-9dc6-8e79-9790-66aaec689aa4 s3-bucket-policy-public would redrive (eventbridge: NO_PERMISSIONS: EventBridge is not authorized",
				"0e6a1b3c-7d94-4f28-b5e0-9c3d2a1f8b76 e42c7339-b155-3991-02b0-821954cadba7 s3-bucket-acl-public would redrive (lambda: RetriesExhausted after 3 attempts: deliver: delivery failed: slack: 503",
				"f3a9c7e1-2b4d-4f6a-8e0c-1d3b5a7c9e2f - - kept, undecodable payload:",
			},
			errHas: []string{"dry run, 3 messages: 2 would be redriven, 1 undecodable; nothing was invoked or deleted"},
		},
		{
			name:    "max",
			args:    []string{"--queue-url", dlqURL, "--function", dlqFunc, "--max", "1"},
			invoke:  invokeAccepted,
			code:    exitOK,
			out:     []string{"7b2d4c1e-5f3a-4e8b-9c6d-0a1b2c3d4e5f fb1e38bd-9dc6-8e79-9790-66aaec689aa4 s3-bucket-policy-public redriven"},
			errHas:  []string{"1 message: 1 redriven, 0 kept (0 undecodable, 0 invoke failed)\n"},
			invokes: 1,
			deletes: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, load, regions := localDLQ(t, tc.invoke)
			code, out, errOut := runCLI(t, load, append([]string{"redrive"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(tc.out) {
				t.Errorf("stdout has %d lines, want %d:\n%s", len(lines), len(tc.out), out)
			}
			for i := range min(len(lines), len(tc.out)) {
				if !strings.HasPrefix(lines[i], tc.out[i]) {
					t.Errorf("line %d:\n got %s\nwant %s...", i+1, lines[i], tc.out[i])
				}
			}
			for _, w := range tc.errHas {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if got := countRequests(srv, "Invoke"); got != tc.invokes {
				t.Errorf("%d invocations, want %d", got, tc.invokes)
			}
			if got := countRequests(srv, "AmazonSQS.DeleteMessage"); got != tc.deletes {
				t.Errorf("%d deletes, want %d", got, tc.deletes)
			}
			if !slices.Equal(*regions, []string{"eu-west-1"}) {
				t.Errorf("AWS configuration loaded for regions %q, want the queue's, eu-west-1", *regions)
			}
			for _, r := range srv.Requests() {
				if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/eu-west-1/sqs/") && !strings.Contains(auth, "/eu-west-1/lambda/") {
					t.Errorf("%s signed for %q, want eu-west-1", r.Operation(), auth)
				}
			}
		})
	}
}

// TestRedriveFunctionRegion: a function ARN names its region, which wins
// over the queue's.
func TestRedriveFunctionRegion(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Target("AmazonSQS.ReceiveMessage"), awstest.Response{Body: awstest.Recorded(t, "redrive", "sqs-receive-eventbridge.json")},
		awstest.Response{Body: awstest.Recorded(t, "redrive", "sqs-receive-empty.json")})
	srv.Handle(awstest.Target("AmazonSQS.DeleteMessage"), awstest.Response{Body: awstest.Recorded(t, "redrive", "sqs-delete-message.json")})
	srv.Handle(awstest.REST("POST", "/invocations", ""), invokeAccepted)
	load := func(_ context.Context, region string) (aws.Config, error) { return srv.Config(region), nil }
	arn := "arn:aws:lambda:us-east-1:111122223333:function:" + dlqFunc
	code, _, errOut := runCLI(t, load, "redrive", "--queue-url", dlqURL, "--function", arn)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, r := range srv.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/invocations") {
			if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/us-east-1/lambda/") {
				t.Errorf("invocation signed for %q, want the function's region, us-east-1", auth)
			}
		}
	}
}

func TestRedriveEmptyQueue(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Target("AmazonSQS.ReceiveMessage"), awstest.Response{Body: awstest.Recorded(t, "redrive", "sqs-receive-empty.json")})
	load := func(_ context.Context, region string) (aws.Config, error) { return srv.Config(region), nil }
	code, out, errOut := runCLI(t, load, "redrive", "--queue-url", dlqURL, "--function", dlqFunc)
	if code != exitOK || out != "" || !strings.Contains(errOut, "no messages in the queue") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, nothing, and a word that the queue is empty", code, out, errOut)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want one receive", n)
	}
}

func TestRedriveQueueMissing(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Target("AmazonSQS.ReceiveMessage"), awstest.Response{
		Status: 400, Body: awstest.Recorded(t, "redrive", "sqs-queue-does-not-exist.json"),
		Header: map[string]string{"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"},
	})
	load := func(_ context.Context, region string) (aws.Config, error) { return srv.Config(region), nil }
	code, _, errOut := runCLI(t, load, "redrive", "--queue-url", dlqURL, "--function", dlqFunc)
	if code != exitDelivery || !strings.Contains(errOut, "receive from "+dlqURL) || !strings.Contains(errOut, "does not exist") {
		t.Errorf("exit %d, stderr %q; want %d naming the queue and the error", code, errOut, exitDelivery)
	}
	if strings.Contains(errOut, "no messages in the queue") {
		t.Errorf("an unreadable queue is not an empty one:\n%s", errOut)
	}
}

func TestRedriveUsage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		errHas string
	}{
		{"no queue", []string{"--function", dlqFunc}, "--queue-url and --function are required"},
		{"no function", []string{"--queue-url", dlqURL}, "--queue-url and --function are required"},
		{"queue ARN instead of URL", []string{"--queue-url", "arn:aws:sqs:eu-west-1:111122223333:q", "--function", dlqFunc}, "want https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"},
		{"negative max", []string{"--queue-url", dlqURL, "--function", dlqFunc, "--max", "-1"}, "--max -1"},
		{"positional argument", []string{"--queue-url", dlqURL, "--function", dlqFunc, "extra"}, "unexpected arguments"},
		{"no credentials", []string{"--queue-url", dlqURL, "--function", dlqFunc}, "needs AWS credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, noAWS, append([]string{"redrive"}, tc.args...)...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, tc.errHas) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errOut, exitUsage, tc.errHas)
			}
		})
	}
}
