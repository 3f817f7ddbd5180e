package redrive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/redrive"
)

const (
	queueURL     = "https://sqs.eu-west-1.amazonaws.com/111122223333/Trailwatch-NotificationsDeadLetterQueue32AE6445-Zr4nW8pQ1vXk"
	functionName = "Trailwatch-CloudTrailFunction15067864-kQ3vX9mTz2Lw"
	invokePath   = "/2015-03-31/functions/" + functionName + "/invocations"
)

// The messages recorded in testdata/sqs-receive-*.json.
const (
	// EventBridge could not invoke the function; the body is the rule input.
	msgRuleInput = "7b2d4c1e-5f3a-4e8b-9c6d-0a1b2c3d4e5f"
	// EventBridge dead letter holding the original event.
	msgOriginalEvent = "c41f8e2a-93b7-4d05-a6e1-2f8b7c9d0e13"
	// Lambda on-failure destination record.
	msgDestination = "0e6a1b3c-7d94-4f28-b5e0-9c3d2a1f8b76"
	// "hello", sent by hand.
	msgByHand = "f3a9c7e1-2b4d-4f6a-8e0c-1d3b5a7c9e2f"
	// Destination record whose payload has no detail-type or source.
	msgBrokenPayload = "6d8f0b2d-4c6e-4a8f-b1d3-5e7a9c1e3f50"

	policyEvent = "fb1e38bd-9dc6-8e79-9790-66aaec689aa4" // events/s3/put-bucket-policy-public-read.json
	aclEvent    = "e42c7339-b155-3991-02b0-821954cadba7" // events/s3/put-bucket-acl-canned-public-read-write.json
)

var (
	receive    = awstest.Target("AmazonSQS.ReceiveMessage")
	deleteMsg  = awstest.Target("AmazonSQS.DeleteMessage")
	visibility = awstest.Target("AmazonSQS.ChangeMessageVisibility")
	invoke     = awstest.REST("POST", invokePath, "")
)

// sqsOK answers an SQS JSON-protocol call with a recorded body.
func sqsOK(t *testing.T, name string) awstest.Response {
	t.Helper()
	return awstest.Response{Header: map[string]string{"Content-Type": "application/x-amz-json-1.0"}, Body: awstest.File(t, name)}
}

// Lambda's answers to Invoke with InvocationType Event.
func accepted() awstest.Response {
	return awstest.Response{Status: 202, Header: map[string]string{"X-Amzn-Remapped-Content-Length": "0"}}
}

func throttled(t *testing.T) awstest.Response {
	return awstest.Response{Status: 429, Body: awstest.File(t, "lambda-invoke-throttled.json"), Header: map[string]string{
		"Content-Type": "application/json", "X-Amzn-ErrorType": "TooManyRequestsException", "Retry-After": "1",
	}}
}

func functionNotFound(t *testing.T) awstest.Response {
	return awstest.Response{Status: 404, Body: awstest.File(t, "lambda-invoke-function-not-found.json"), Header: map[string]string{
		"Content-Type": "application/json", "X-Amzn-ErrorType": "ResourceNotFoundException",
	}}
}

func sqsError(status int, queryError, body string) awstest.Response {
	return awstest.Response{Status: status, Body: body, Header: map[string]string{
		"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": queryError,
	}}
}

// line is a result as the tests compare it.
type line struct {
	Message, Event, Detection string
	Outcome                   redrive.Outcome
}

func lines(results []redrive.Result) []line {
	var ls []line
	for _, r := range results {
		ls = append(ls, line{r.Letter.MessageID, r.Letter.EventID(), r.Letter.Invocation.Detection, r.Outcome})
	}
	return ls
}

func catalogIDs(t *testing.T) []string {
	t.Helper()
	c, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range c.All() {
		ids = append(ids, d.ID)
	}
	return ids
}

// recorded reads every recorded ReceiveMessage answer: message ID by
// receipt handle, and each message's body.
func recorded(t *testing.T) (byHandle map[string]string, bodies map[string]string) {
	t.Helper()
	byHandle, bodies = map[string]string{}, map[string]string{}
	files, err := filepath.Glob(filepath.Join("testdata", "sqs-receive-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("recorded receives: %v", err)
	}
	for _, f := range files {
		for _, m := range readMessages(t, f) {
			byHandle[*m.ReceiptHandle] = *m.MessageId
			bodies[*m.MessageId] = *m.Body
		}
	}
	return byHandle, bodies
}

func readMessages(t testing.TB, path string) []types.Message {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Messages []types.Message }
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out.Messages
}

// calls sorts what the server received.
type calls struct {
	receives []sqs.ReceiveMessageInput
	invokes  []awstest.Request
	deleted  []string // message IDs
	released []string // message IDs, sorted
}

func callsOf(t *testing.T, srv *awstest.Server) calls {
	t.Helper()
	byHandle, _ := recorded(t)
	var c calls
	for _, r := range srv.Requests() {
		switch {
		case r.Header.Get("X-Amz-Target") == "AmazonSQS.ReceiveMessage":
			var in sqs.ReceiveMessageInput
			if err := json.Unmarshal(r.Body, &in); err != nil {
				t.Fatalf("receive request %s: %v", r.Body, err)
			}
			c.receives = append(c.receives, in)
		case r.Header.Get("X-Amz-Target") == "AmazonSQS.DeleteMessage":
			var in struct{ QueueUrl, ReceiptHandle string }
			if err := json.Unmarshal(r.Body, &in); err != nil {
				t.Fatalf("delete request %s: %v", r.Body, err)
			}
			if in.QueueUrl != queueURL {
				t.Errorf("delete from %q, want %q", in.QueueUrl, queueURL)
			}
			id, ok := byHandle[in.ReceiptHandle]
			if !ok {
				t.Errorf("delete with a receipt handle no recorded message has: %q", in.ReceiptHandle)
			}
			c.deleted = append(c.deleted, id)
		case r.Header.Get("X-Amz-Target") == "AmazonSQS.ChangeMessageVisibility":
			var in map[string]any
			if err := json.Unmarshal(r.Body, &in); err != nil {
				t.Fatalf("change visibility request %s: %v", r.Body, err)
			}
			if in["QueueUrl"] != queueURL || in["VisibilityTimeout"] != 0.0 {
				t.Errorf("change visibility request %s: want the queue and a visibility timeout of 0", r.Body)
			}
			handle, _ := in["ReceiptHandle"].(string)
			c.released = append(c.released, byHandle[handle])
		case r.Path == invokePath:
			c.invokes = append(c.invokes, r)
		}
	}
	slices.Sort(c.released)
	return c
}

func TestRun(t *testing.T) {
	_, bodies := recorded(t)
	ruleInput := func(detection, msg string) string {
		// The rule input the function would have received.
		payload, err := event.ApplyRuleInputTemplate(event.RuleInputTemplate(detection), []byte(bodies[msg]))
		if err != nil {
			t.Fatal(err)
		}
		return string(payload)
	}
	var destinationPayload struct {
		RequestPayload json.RawMessage `json:"requestPayload"`
	}
	if err := json.Unmarshal([]byte(bodies[msgDestination]), &destinationPayload); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		receives []string // recorded answers in order; the last repeats
		// invoke and delete answer those calls, the last repeating;
		// nil: accepted, deleted.
		invoke []awstest.Response
		delete []awstest.Response
		dryRun bool
		max    int
		want   []line
		// errHas is in the error of every result that is not OK.
		errHas string
		// payloads are the bodies of the invocations, in order.
		payloads []string
		// invokes counts invocation requests, retries included; -1: len(payloads).
		invokes int
		// deleted are the messages whose deletion was asked for.
		deleted []string
		// released are the messages made visible again, sorted.
		released []string
		// maxes are the MaxNumberOfMessages of the receives, in order.
		maxes []int32
	}{
		{
			name:     "eventbridge dead letter with the rule input",
			receives: []string{"sqs-receive-eventbridge.json", "sqs-receive-empty.json"},
			want:     []line{{msgRuleInput, policyEvent, "s3-bucket-policy-public", redrive.Redriven}},
			payloads: []string{bodies[msgRuleInput]},
			invokes:  -1,
			deleted:  []string{msgRuleInput},
			maxes:    []int32{10, 10},
		},
		{
			name:     "eventbridge dead letter with the original event gets its rule's detection back",
			receives: []string{"sqs-receive-eventbridge-original-event.json", "sqs-receive-empty.json"},
			want:     []line{{msgOriginalEvent, aclEvent, "s3-bucket-acl-public", redrive.Redriven}},
			payloads: []string{ruleInput("s3-bucket-acl-public", msgOriginalEvent)},
			invokes:  -1,
			deleted:  []string{msgOriginalEvent},
			maxes:    []int32{10, 10},
		},
		{
			name:     "lambda destination record",
			receives: []string{"sqs-receive-lambda-destination.json", "sqs-receive-empty.json"},
			want:     []line{{msgDestination, aclEvent, "s3-bucket-acl-public", redrive.Redriven}},
			payloads: []string{string(destinationPayload.RequestPayload)},
			invokes:  -1,
			deleted:  []string{msgDestination},
			maxes:    []int32{10, 10},
		},
		{
			name:     "both shapes and an undecodable body in one batch",
			receives: []string{"sqs-receive-mixed.json", "sqs-receive-empty.json"},
			want: []line{
				{msgRuleInput, policyEvent, "s3-bucket-policy-public", redrive.Redriven},
				{msgDestination, aclEvent, "s3-bucket-acl-public", redrive.Redriven},
				{msgByHand, "", "", redrive.Undecodable},
			},
			errHas:   "undecodable payload: malformed event",
			payloads: []string{bodies[msgRuleInput], string(destinationPayload.RequestPayload)},
			invokes:  -1,
			deleted:  []string{msgRuleInput, msgDestination},
			released: []string{msgByHand},
			maxes:    []int32{10, 10},
		},
		{
			// The answer repeats: the second receive returns only messages
			// the run has handled, which ends it.
			name:     "undecodable payloads are reported and kept",
			receives: []string{"sqs-receive-undecodable.json"},
			want: []line{
				{msgByHand, "", "", redrive.Undecodable},
				{msgBrokenPayload, "2c4e6a8b-0d1f-4e3a-9b5c-7d9e1f3a5b7c", "s3-bucket-policy-public", redrive.Undecodable},
			},
			errHas:   "undecodable payload: malformed event",
			released: sorted(msgByHand, msgBrokenPayload),
			maxes:    []int32{10, 10},
		},
		{
			name:     "throttled invocation is retried by the SDK, then the message is kept",
			receives: []string{"sqs-receive-eventbridge.json", "sqs-receive-empty.json"},
			invoke:   []awstest.Response{throttled(t)},
			want:     []line{{msgRuleInput, policyEvent, "s3-bucket-policy-public", redrive.InvokeFailed}},
			errHas:   "TooManyRequestsException",
			invokes:  3, // the standard retryer's attempts
			released: []string{msgRuleInput},
			maxes:    []int32{10, 10},
		},
		{
			name:     "missing function keeps the message",
			receives: []string{"sqs-receive-lambda-destination.json", "sqs-receive-empty.json"},
			invoke:   []awstest.Response{functionNotFound(t)},
			want:     []line{{msgDestination, aclEvent, "s3-bucket-acl-public", redrive.InvokeFailed}},
			errHas:   "ResourceNotFoundException",
			invokes:  1,
			released: []string{msgDestination},
			maxes:    []int32{10, 10},
		},
		{
			name:     "accepted invocation whose message cannot be deleted",
			receives: []string{"sqs-receive-eventbridge.json", "sqs-receive-empty.json"},
			delete: []awstest.Response{sqsError(400, "ReceiptHandleIsInvalid;Sender",
				awstest.JSONError("com.amazonaws.sqs#ReceiptHandleIsInvalid", "The input receipt handle is invalid."))},
			want:     []line{{msgRuleInput, policyEvent, "s3-bucket-policy-public", redrive.DeleteFailed}},
			errHas:   "ReceiptHandleIsInvalid",
			payloads: []string{bodies[msgRuleInput]},
			invokes:  -1,
			deleted:  []string{msgRuleInput},
			maxes:    []int32{10, 10},
		},
		{
			name:     "dry run invokes and deletes nothing",
			receives: []string{"sqs-receive-mixed.json", "sqs-receive-empty.json"},
			dryRun:   true,
			want: []line{
				{msgRuleInput, policyEvent, "s3-bucket-policy-public", redrive.WouldRedrive},
				{msgDestination, aclEvent, "s3-bucket-acl-public", redrive.WouldRedrive},
				{msgByHand, "", "", redrive.Undecodable},
			},
			errHas:   "undecodable payload",
			released: sorted(msgRuleInput, msgDestination, msgByHand),
			maxes:    []int32{10, 10},
		},
		{
			name:     "max stops the run and asks SQS for no more",
			receives: []string{"sqs-receive-eventbridge.json", "sqs-receive-lambda-destination.json", "sqs-receive-mixed.json"},
			max:      2,
			want: []line{
				{msgRuleInput, policyEvent, "s3-bucket-policy-public", redrive.Redriven},
				{msgDestination, aclEvent, "s3-bucket-acl-public", redrive.Redriven},
			},
			payloads: []string{bodies[msgRuleInput], string(destinationPayload.RequestPayload)},
			invokes:  -1,
			deleted:  []string{msgRuleInput, msgDestination},
			maxes:    []int32{2, 1},
		},
		{
			name:     "empty queue",
			receives: []string{"sqs-receive-empty.json"},
			maxes:    []int32{10},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.NewServer(t)
			var answers []awstest.Response
			for _, f := range tc.receives {
				answers = append(answers, sqsOK(t, f))
			}
			srv.Handle(receive, answers...)
			if tc.delete == nil {
				tc.delete = []awstest.Response{sqsOK(t, "sqs-delete-message.json")}
			}
			srv.Handle(deleteMsg, tc.delete...)
			if tc.invoke == nil {
				tc.invoke = []awstest.Response{accepted()}
			}
			srv.Handle(invoke, tc.invoke...)
			srv.Handle(visibility, sqsOK(t, "sqs-change-message-visibility.json"))
			cfg := srv.Config("eu-west-1")
			var out bytes.Buffer
			r := &redrive.Redriver{
				Queue: sqs.NewFromConfig(cfg), QueueURL: queueURL,
				Lambda: lambda.NewFromConfig(cfg), Function: functionName,
				Max: tc.max, DryRun: tc.dryRun, Detections: catalogIDs(t), Out: &out,
			}
			sum, err := r.Run(context.Background())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := lines(sum.Results); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("results:\n got %+v\nwant %+v", got, tc.want)
			}
			for _, res := range sum.Results {
				if res.OK() != (res.Err == nil) {
					t.Errorf("%s: outcome %q with error %v", res.Letter.MessageID, res.Outcome, res.Err)
				}
				if res.Err != nil && !strings.Contains(res.Err.Error(), tc.errHas) {
					t.Errorf("%s: error %q lacks %q", res.Letter.MessageID, res.Err, tc.errHas)
				}
				if res.Outcome == redrive.Undecodable && !errors.Is(res.Err, redrive.ErrUndecodable) {
					t.Errorf("%s: error %v is not ErrUndecodable", res.Letter.MessageID, res.Err)
				}
			}
			if got := strings.Count(out.String(), "\n"); got != len(tc.want) {
				t.Errorf("%d report lines, want %d:\n%s", got, len(tc.want), out.String())
			}

			c := callsOf(t, srv)
			var maxes []int32
			for _, in := range c.receives {
				maxes = append(maxes, in.MaxNumberOfMessages)
				if *in.QueueUrl != queueURL || in.WaitTimeSeconds <= 0 || in.VisibilityTimeout != redrive.VisibilitySeconds ||
					!reflect.DeepEqual(in.MessageAttributeNames, []string{"All"}) {
					t.Errorf("receive request %+v: want the queue, a short wait, the visibility timeout and all message attributes", in)
				}
			}
			if !reflect.DeepEqual(maxes, tc.maxes) {
				t.Errorf("receives asked for %v messages, want %v", maxes, tc.maxes)
			}
			invokes := tc.invokes
			if invokes < 0 {
				invokes = len(tc.payloads)
			}
			if len(c.invokes) != invokes {
				t.Errorf("%d invocations, want %d", len(c.invokes), invokes)
			}
			for i, req := range c.invokes {
				if got := req.Header.Get("X-Amz-Invocation-Type"); got != "Event" {
					t.Errorf("invocation %d: type %q, want Event", i, got)
				}
				if i < len(tc.payloads) && !jsonEqual(t, req.Body, []byte(tc.payloads[i])) {
					t.Errorf("invocation %d payload:\n got %s\nwant %s", i, req.Body, tc.payloads[i])
				}
			}
			if !reflect.DeepEqual(c.deleted, tc.deleted) {
				t.Errorf("deleted %v, want %v", c.deleted, tc.deleted)
			}
			if !reflect.DeepEqual(c.released, tc.released) {
				t.Errorf("made visible again %v, want %v", c.released, tc.released)
			}
			if sum.Unreleased != nil {
				t.Errorf("Unreleased: %v", sum.Unreleased)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Errorf("not JSON: %s", a)
		return false
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Errorf("not JSON: %s", b)
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func TestRunStopsWhenTheQueueCannotBeRead(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(receive, sqsError(400, "AWS.SimpleQueueService.NonExistentQueue;Sender", awstest.File(t, "sqs-queue-does-not-exist.json")))
	cfg := srv.Config("eu-west-1")
	r := &redrive.Redriver{Queue: sqs.NewFromConfig(cfg), QueueURL: queueURL, Lambda: lambda.NewFromConfig(cfg), Function: functionName}
	sum, err := r.Run(context.Background())
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), queueURL) {
		t.Errorf("Run error = %v, want QueueDoesNotExist naming the queue", err)
	}
	if len(sum.Results) != 0 {
		t.Errorf("results %v, want none", sum.Results)
	}
}

// cancelAfterInvoke interrupts the run as soon as Lambda has answered the
// first invocation, as Ctrl-C would.
type cancelAfterInvoke struct {
	redrive.Invoker
	cancel context.CancelFunc
}

func (c cancelAfterInvoke) Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	out, err := c.Invoker.Invoke(ctx, in, optFns...)
	c.cancel()
	return out, err
}

// TestInterruptedRun: an invocation Lambda accepted still has its message
// deleted, and the messages not handled yet are given back.
func TestInterruptedRun(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(receive, sqsOK(t, "sqs-receive-mixed.json"))
	srv.Handle(deleteMsg, sqsOK(t, "sqs-delete-message.json"))
	srv.Handle(visibility, sqsOK(t, "sqs-change-message-visibility.json"))
	srv.Handle(invoke, accepted())
	cfg := srv.Config("eu-west-1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &redrive.Redriver{
		Queue: sqs.NewFromConfig(cfg), QueueURL: queueURL,
		Lambda: cancelAfterInvoke{lambda.NewFromConfig(cfg), cancel}, Function: functionName,
	}
	sum, err := r.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	want := []line{{msgRuleInput, policyEvent, "s3-bucket-policy-public", redrive.Redriven}}
	if got := lines(sum.Results); !reflect.DeepEqual(got, want) {
		t.Errorf("results:\n got %+v\nwant %+v", got, want)
	}
	c := callsOf(t, srv)
	if !reflect.DeepEqual(c.deleted, []string{msgRuleInput}) || !reflect.DeepEqual(c.released, sorted(msgDestination, msgByHand)) {
		t.Errorf("deleted %v and released %v; want the invoked message deleted and the others released", c.deleted, c.released)
	}
}

func TestParse(t *testing.T) {
	byID := map[string]types.Message{}
	files, _ := filepath.Glob(filepath.Join("testdata", "sqs-receive-*.json"))
	for _, f := range files {
		for _, m := range readMessages(t, f) {
			byID[*m.MessageId] = m
		}
	}
	for _, tc := range []struct {
		msg       string
		source    redrive.Source
		event     string
		detection string
		cause     string
		err       string
	}{
		{msgRuleInput, redrive.SourceEventBridge, policyEvent, "s3-bucket-policy-public",
			"NO_PERMISSIONS: EventBridge is not authorized to invoke the Lambda function arn:aws:lambda:eu-west-1:111122223333:function:" + functionName, ""},
		{msgOriginalEvent, redrive.SourceEventBridge, aclEvent, "s3-bucket-acl-public", "THROTTLING: Rate Exceeded.", ""},
		{msgDestination, redrive.SourceLambda, aclEvent, "s3-bucket-acl-public",
			"RetriesExhausted after 3 attempts: deliver: delivery failed: slack: 503 Service Unavailable", ""},
		{msgByHand, redrive.SourceUnknown, "", "", "", "undecodable payload: malformed event: invalid character 'h'"},
		{msgBrokenPayload, redrive.SourceLambda, "2c4e6a8b-0d1f-4e3a-9b5c-7d9e1f3a5b7c", "s3-bucket-policy-public",
			"RetriesExhausted after 3 attempts: RequestId: 9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d Error: Runtime exited with error: signal: killed",
			"undecodable payload: malformed event: envelope has no detail-type or source"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			m, ok := byID[tc.msg]
			if !ok {
				t.Fatalf("no recorded message %s", tc.msg)
			}
			l, err := redrive.Parse(m, catalogIDs(t))
			if got := fmt.Sprint(err); tc.err == "" && err != nil || tc.err != "" && !strings.HasPrefix(got, tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			got := []string{string(l.Source), l.EventID(), l.Invocation.Detection, l.Cause}
			want := []string{string(tc.source), tc.event, tc.detection, tc.cause}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("source, event, detection, cause:\n got %q\nwant %q", got, want)
			}
			if err == nil {
				inv, derr := event.DecodeInvocation(l.Payload)
				if derr != nil || inv.Detection != tc.detection {
					t.Errorf("payload decodes to detection %q, %v; want %q", inv.Detection, derr, tc.detection)
				}
			}
		})
	}
}

// TestParseWithoutTheCatalog: with no known detections, an original event
// is redriven as it is, a bare event the function evaluates against every
// detection.
func TestParseWithoutTheCatalog(t *testing.T) {
	m := readMessages(t, filepath.Join("testdata", "sqs-receive-eventbridge-original-event.json"))[0]
	l, err := redrive.Parse(m, nil)
	if err != nil || l.Invocation.Detection != "" || string(l.Payload) != *m.Body {
		t.Errorf("Parse = detection %q, payload changed %v, err %v; want the body as it is", l.Invocation.Detection, string(l.Payload) != *m.Body, err)
	}
}

func TestResultString(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  redrive.Result
		want string
	}{
		{"redriven", redrive.Result{Letter: redrive.Letter{MessageID: "m1"}, Outcome: redrive.Redriven}, "m1 - - redriven"},
		{"would redrive says why the message is there",
			redrive.Result{Letter: redrive.Letter{MessageID: "m1", Source: redrive.SourceEventBridge, Cause: "NO_PERMISSIONS: denied"}, Outcome: redrive.WouldRedrive},
			"m1 - - would redrive (eventbridge: NO_PERMISSIONS: denied)"},
		{"kept", redrive.Result{Letter: redrive.Letter{MessageID: "m1"}, Outcome: redrive.InvokeFailed, Err: errors.New("invoke f: boom")},
			"m1 - - kept, invoke failed: invoke f: boom"},
		{"not deleted", redrive.Result{Letter: redrive.Letter{MessageID: "m1"}, Outcome: redrive.DeleteFailed, Err: errors.New("delete message: gone")},
			"m1 - - invoked, not deleted (the next run invokes it again): delete message: gone"},
		{"undecodable", redrive.Result{Letter: redrive.Letter{MessageID: "m1"}, Outcome: redrive.Undecodable, Err: fmt.Errorf("%w: malformed event", redrive.ErrUndecodable)},
			"m1 - - kept, undecodable payload: malformed event"},
		{"control characters from the message are escaped",
			redrive.Result{Letter: redrive.Letter{MessageID: "m1\x1b[2J", Invocation: event.Invocation{Detection: "a b\u202e"}}, Outcome: redrive.Undecodable, Err: errors.New("bad\nline")},
			`m1\x1b[2J - "a b\u202e" kept, undecodable: bad\nline`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.res.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQueueRegion(t *testing.T) {
	for _, tc := range []struct {
		url, want, err string
	}{
		{queueURL, "eu-west-1", ""},
		{"https://sqs.us-gov-west-1.amazonaws.com/111122223333/q", "us-gov-west-1", ""},
		{"https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q", "cn-north-1", ""},
		{"https://vpce-0a1b2c3d4e5f-abcdefgh.sqs.ap-southeast-2.vpce.amazonaws.com/111122223333/q", "ap-southeast-2", ""},
		{"https://eu-central-1.queue.amazonaws.com/111122223333/q", "eu-central-1", ""},
		{"https://queue.amazonaws.com/111122223333/q", "us-east-1", ""},
		{"http://localhost:4566/000000000000/q", "", ""},
		{"sqs.eu-west-1.amazonaws.com/111122223333/q", "", "want https://"},
		{"https://sqs.eu-west-1.amazonaws.com/q", "", "path must be /ACCOUNT/NAME"},
		{"https://sqs.eu-west-1.amazonaws.com/1111/q", "", "12-digit account ID"},
		{"arn:aws:sqs:eu-west-1:111122223333:q", "", "want https://"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := redrive.QueueRegion(tc.url)
			if got != tc.want || (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("QueueRegion = %q, %v; want %q, error containing %q", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestFunctionRegion(t *testing.T) {
	for in, want := range map[string]string{
		functionName: "",
		"arn:aws:lambda:eu-west-1:111122223333:function:" + functionName:             "eu-west-1",
		"arn:aws:lambda:eu-west-1:111122223333:function:" + functionName + ":live":   "eu-west-1",
		"arn:aws-cn:lambda:cn-north-1:111122223333:function:" + functionName:         "cn-north-1",
		"111122223333:function:" + functionName:                                      "",
		"arn:aws:sqs:eu-west-1:111122223333:Trailwatch-NotificationsDeadLetterQueue": "",
	} {
		if got := redrive.FunctionRegion(in); got != want {
			t.Errorf("FunctionRegion(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: any message either parses into a payload the function
// decodes, or is refused with ErrUndecodable.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sqs-receive-*.json"))
	for _, file := range files {
		for _, m := range readMessages(f, file) {
			f.Add(*m.Body, "arn:aws:events:eu-west-1:111122223333:rule/Trailwatch-s3-bucket-acl-public")
		}
	}
	ids := []string{"s3-bucket-acl-public", "s3-bucket-policy-public"}
	f.Fuzz(func(t *testing.T, body, rule string) {
		id := "m"
		m := types.Message{MessageId: &id, Body: &body, MessageAttributes: map[string]types.MessageAttributeValue{
			"RULE_ARN": {DataType: ptr("String"), StringValue: &rule},
		}}
		l, err := redrive.Parse(m, ids)
		if err != nil {
			if !errors.Is(err, redrive.ErrUndecodable) {
				t.Fatalf("error %v is not ErrUndecodable", err)
			}
			return
		}
		if _, err := event.DecodeInvocation(l.Payload); err != nil {
			t.Fatalf("accepted payload does not decode: %v", err)
		}
	})
}

func ptr(s string) *string { return &s }

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
