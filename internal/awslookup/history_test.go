package awslookup_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

// The alerted change the history tests explain:
// events/s3/put-bucket-public-access-block-sso-policy-off.json.
const (
	historyBucket  = "acme-prod-customer-exports"
	alertEventID   = "e5adf2e1-3ddc-797a-d8f8-3f4aae4ceae7"
	lookupTarget   = "CloudTrail_20131101.LookupEvents"
	nextPageToken  = "kbOt5LlZe++mErCebpy2TgaMgmDvF1kYGFcH64JSjIbZFjsuvrSqg66b5YGssKutDYIyII4lrP4IDbeQdiObkp9YAlju3oXd12juy3CIZW8="
	putBucketBlock = "PutBucketPublicAccessBlock"
	delBucketBlock = "DeleteBucketPublicAccessBlock"
	putAcctBlock   = "PutAccountPublicAccessBlock"
	delAcctBlock   = "DeleteAccountPublicAccessBlock"
)

var alertTime = time.Date(2026, 11, 20, 9, 14, 27, 0, time.UTC)

// The earlier changes recorded in testdata/cloudtrail-lookup-*.json.
var (
	// The CLI request leaves RestrictPublicBuckets out: off.
	cliPut = awslookup.PriorBlock{
		Config:  s3access.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true},
		EventID: "3f0c8e52-9a7d-4b61-8d2e-6c1f5a9e0b47",
		Event:   putBucketBlock,
		Time:    time.Date(2026, 11, 3, 16, 2, 51, 0, time.UTC),
		By:      "arn:aws:sts::111122223333:assumed-role/platform-engineer/d.okafor",
	}
	terraformPut = awslookup.PriorBlock{
		Config:  s3access.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true},
		EventID: "a81d4c3e-2b6f-4e07-9f15-7d3c0b2e6a98",
		Event:   putBucketBlock,
		Time:    time.Date(2026, 11, 14, 10, 27, 3, 0, time.UTC),
		By:      "arn:aws:sts::111122223333:assumed-role/terraform-deploy/aws-go-sdk-1762185763412345678",
	}
	consoleDelete = awslookup.PriorBlock{
		EventID: "6b3e0f92-d7a1-4c58-8e24-b0f9a6c3d175",
		Event:   delBucketBlock,
		Time:    time.Date(2026, 11, 10, 8, 41, 19, 0, time.UTC),
		By:      "arn:aws:iam::111122223333:user/ana.lopez",
	}
	recentDelete = awslookup.PriorBlock{
		EventID: "9e5d2b71-4a0c-4f3e-b86d-13c7e0a9f254",
		Event:   delBucketBlock,
		Time:    time.Date(2026, 11, 19, 17, 20, 31, 0, time.UTC),
		By:      "arn:aws:iam::111122223333:user/ana.lopez",
	}
	alertedPut = awslookup.PriorBlock{
		Config:  s3access.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true},
		EventID: alertEventID,
		Event:   putBucketBlock,
		Time:    alertTime,
		By:      "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_1a2b3c4d5e6f7a8b/maria.garcia@example.com",
	}
	accountPut = awslookup.PriorBlock{
		Config:  s3access.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true},
		EventID: "0d6f3b8a-e2c4-4a71-9f50-c8b1d7e3a926",
		Event:   putAcctBlock,
		Time:    time.Date(2026, 11, 21, 7, 10, 5, 0, time.UTC),
		By:      "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_SecurityAdmin_0a1b2c3d4e5f6a7b/sam.okafor@example.com",
	}
)

// lookupRequest is the LookupEvents request body as the SDK sends it.
type lookupRequest struct {
	LookupAttributes []struct {
		AttributeKey   string
		AttributeValue string
	}
	StartTime  *float64
	EndTime    *float64
	MaxResults int
	NextToken  string
}

func decodeLookup(r awstest.Request) (lookupRequest, error) {
	var req lookupRequest
	err := json.Unmarshal(r.Body, &req)
	return req, err
}

// lookupEvents matches the LookupEvents requests for one event name.
func lookupEvents(eventName string) awstest.Matcher {
	return func(r awstest.Request) bool {
		if !awstest.Target(lookupTarget)(r) {
			return false
		}
		req, err := decodeLookup(r)
		return err == nil && len(req.LookupAttributes) == 1 && req.LookupAttributes[0].AttributeValue == eventName
	}
}

func lookupResponse(t *testing.T, file string) awstest.Response {
	t.Helper()
	return awstest.Response{
		Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"},
		Body:   awstest.File(t, file),
	}
}

func cloudTrailError(status int, code, message string) awstest.Response {
	return awstest.Response{
		Status: status,
		Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"},
		Body:   awstest.JSONError(code, message),
	}
}

// putPage answers the bucket-level Put query with one recorded page and the
// Delete query with an empty one.
func putPage(file string) func(t *testing.T) map[string][]awstest.Response {
	return func(t *testing.T) map[string][]awstest.Response {
		return map[string][]awstest.Response{
			putBucketBlock: {lookupResponse(t, file)},
			delBucketBlock: {lookupResponse(t, "cloudtrail-lookup-empty.json")},
		}
	}
}

// oneRequestEach is one first-page request (no token) per bucket query.
var oneRequestEach = map[string][]string{putBucketBlock: {""}, delBucketBlock: {""}}

func TestPreviousPublicAccessBlock(t *testing.T) {
	const accessDenied = "User: arn:aws:sts::111122223333:assumed-role/trailwatch/x is not authorized to perform: cloudtrail:LookupEvents because no identity-based policy allows the cloudtrail:LookupEvents action"
	accountAlertTime := time.Date(2026, 11, 22, 16, 45, 12, 0, time.UTC)

	for _, tc := range []struct {
		name     string
		bucket   string    // default historyBucket; "-" for the account level
		before   time.Time // default alertTime
		exclude  string    // default alertEventID; "-" for none
		timeout  time.Duration
		maxPages int
		// responses answers each event name's query, pages in order.
		responses func(t *testing.T) map[string][]awstest.Response
		want      awslookup.PriorBlock
		wantFound bool
		wantErr   string // substrings, "|"-separated; "" for no error
		// wantTokens is the NextToken each request of each query sent, ""
		// for none: one entry per request.
		wantTokens map[string][]string
	}{
		{
			name:      "previous Put found, flags read as recorded",
			responses: putPage("cloudtrail-lookup-put-bucket.json"),
			want:      cliPut, wantFound: true,
			wantTokens: oneRequestEach,
		},
		{
			name: "previous Delete found, all flags off",
			responses: func(t *testing.T) map[string][]awstest.Response {
				return map[string][]awstest.Response{
					putBucketBlock: {lookupResponse(t, "cloudtrail-lookup-put-bucket.json")},
					delBucketBlock: {lookupResponse(t, "cloudtrail-lookup-delete-bucket.json")},
				}
			},
			want: consoleDelete, wantFound: true,
			wantTokens: oneRequestEach,
		},
		{
			name: "newest of several wins, second page asked with the token",
			responses: func(t *testing.T) map[string][]awstest.Response {
				return map[string][]awstest.Response{
					putBucketBlock: {
						lookupResponse(t, "cloudtrail-lookup-put-bucket-page1.json"),
						lookupResponse(t, "cloudtrail-lookup-put-bucket-page2.json"),
					},
					delBucketBlock: {lookupResponse(t, "cloudtrail-lookup-delete-bucket.json")},
				}
			},
			want: terraformPut, wantFound: true,
			wantTokens: map[string][]string{putBucketBlock: {"", nextPageToken}, delBucketBlock: {""}},
		},
		{
			// Pages come newest first: later pages cannot hold a newer
			// change, so they are not asked for.
			name:      "a match on the first page ends the query",
			responses: putPage("cloudtrail-lookup-put-bucket-more.json"),
			want:      cliPut, wantFound: true,
			wantTokens: oneRequestEach,
		},
		{
			name:      "other bucket's newer event ignored",
			responses: putPage("cloudtrail-lookup-put-bucket-other-bucket.json"),
			want:      cliPut, wantFound: true,
			wantTokens: oneRequestEach,
		},
		{
			name:      "failed newer call ignored",
			responses: putPage("cloudtrail-lookup-put-bucket-failed.json"),
			want:      cliPut, wantFound: true,
			wantTokens: oneRequestEach,
		},
		{
			// before is later than the alerted event, so only its ID
			// keeps it out.
			name:      "excluded event ID ignored",
			before:    alertTime.Add(13 * time.Second),
			responses: putPage("cloudtrail-lookup-put-bucket.json"),
			want:      cliPut, wantFound: true,
			wantTokens: oneRequestEach,
		},
		{
			name:      "same history, nothing excluded: the alerted event itself",
			before:    alertTime.Add(13 * time.Second),
			exclude:   "-",
			responses: putPage("cloudtrail-lookup-put-bucket.json"),
			want:      alertedPut, wantFound: true,
			wantTokens: oneRequestEach,
		},
		{
			// Whole-second times cannot tell whether the other change in
			// that second came before or after the alerted one.
			name:      "change in the same second as before skipped",
			responses: putPage("cloudtrail-lookup-put-bucket-same-second.json"),
			want:      cliPut, wantFound: true,
			wantTokens: oneRequestEach,
		},
		{
			name:       "nothing earlier in 90 days",
			responses:  putPage("cloudtrail-lookup-put-bucket-only-current.json"),
			wantFound:  false,
			wantTokens: oneRequestEach,
		},
		{
			name:    "account level",
			bucket:  "-",
			before:  accountAlertTime,
			exclude: "5c52140a-adf3-fbd7-927e-6c98fed3cfdd",
			responses: func(t *testing.T) map[string][]awstest.Response {
				return map[string][]awstest.Response{
					putAcctBlock: {lookupResponse(t, "cloudtrail-lookup-put-account.json")},
					delAcctBlock: {lookupResponse(t, "cloudtrail-lookup-delete-account.json")},
				}
			},
			want: accountPut, wantFound: true,
			wantTokens: map[string][]string{putAcctBlock: {""}, delAcctBlock: {""}},
		},
		{
			name: "access denied",
			responses: func(t *testing.T) map[string][]awstest.Response {
				denied := cloudTrailError(400, "AccessDeniedException", accessDenied)
				return map[string][]awstest.Response{putBucketBlock: {denied}, delBucketBlock: {denied}}
			},
			wantErr:    "lookup events PutBucketPublicAccessBlock: |api error AccessDeniedException: " + accessDenied,
			wantTokens: oneRequestEach,
		},
		{
			name: "throttled after the SDK's retries",
			responses: func(t *testing.T) map[string][]awstest.Response {
				throttled := cloudTrailError(400, "ThrottlingException", "Rate exceeded")
				return map[string][]awstest.Response{putBucketBlock: {throttled}, delBucketBlock: {throttled}}
			},
			wantErr:    "lookup events PutBucketPublicAccessBlock: |api error ThrottlingException: Rate exceeded",
			wantTokens: map[string][]string{putBucketBlock: {"", "", ""}, delBucketBlock: {"", "", ""}},
		},
		{
			name:    "slow answer times out",
			timeout: 250 * time.Millisecond,
			responses: func(t *testing.T) map[string][]awstest.Response {
				slow := lookupResponse(t, "cloudtrail-lookup-put-bucket.json")
				// The client gives up at the timeout and the server stops
				// waiting when the connection closes.
				slow.Delay = 10 * time.Second
				return map[string][]awstest.Response{
					putBucketBlock: {slow},
					delBucketBlock: {lookupResponse(t, "cloudtrail-lookup-delete-bucket.json")},
				}
			},
			wantErr:    "lookup events PutBucketPublicAccessBlock: timed out after 0.25 seconds",
			wantTokens: oneRequestEach,
		},
		{
			name:     "page limit reached before a match",
			maxPages: 1,
			responses: func(t *testing.T) map[string][]awstest.Response {
				return map[string][]awstest.Response{
					putBucketBlock: {
						lookupResponse(t, "cloudtrail-lookup-put-bucket-page1.json"),
						lookupResponse(t, "cloudtrail-lookup-put-bucket-page2.json"),
					},
					delBucketBlock: {lookupResponse(t, "cloudtrail-lookup-delete-bucket.json")},
				}
			},
			wantErr:    "lookup events PutBucketPublicAccessBlock: page limit (1) reached before a match",
			wantTokens: oneRequestEach,
		},
		{
			// The unread Put pages are older than everything on the first
			// page, and so older than the Delete.
			name:     "page limit reached, a newer Delete still answers",
			maxPages: 1,
			responses: func(t *testing.T) map[string][]awstest.Response {
				return map[string][]awstest.Response{
					putBucketBlock: {lookupResponse(t, "cloudtrail-lookup-put-bucket-page1.json")},
					delBucketBlock: {lookupResponse(t, "cloudtrail-lookup-delete-bucket-recent.json")},
				}
			},
			want: recentDelete, wantFound: true,
			wantTokens: oneRequestEach,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := cmp.Or(tc.bucket, historyBucket)
			if bucket == "-" {
				bucket = ""
			}
			before := tc.before
			if before.IsZero() {
				before = alertTime
			}
			exclude := cmp.Or(tc.exclude, alertEventID)
			if exclude == "-" {
				exclude = ""
			}
			srv := awstest.NewServer(t)
			for name, responses := range tc.responses(t) {
				srv.HandleRead(lookupEvents(name), responses...)
			}
			h := &awslookup.History{
				CloudTrail: cloudtrail.NewFromConfig(srv.Config(clientRegion)),
				Timeout:    tc.timeout,
				MaxPages:   tc.maxPages,
			}

			got, found, err := h.PreviousPublicAccessBlock(context.Background(), bucketRegion, bucket, before, exclude)

			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && !containsAll(gotErr, tc.wantErr) {
				t.Errorf("error %q, want %q", gotErr, tc.wantErr)
			}
			if found != tc.wantFound {
				t.Errorf("found %t, want %t", found, tc.wantFound)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("prior:\ngot  %+v\nwant %+v", got, tc.want)
			}
			checkLookups(t, srv, before, tc.wantTokens)
		})
	}
}

// containsAll reports whether s contains every "|"-separated part of want.
func containsAll(s, want string) bool {
	for part := range strings.SplitSeq(want, "|") {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// checkLookups asserts every request was a LookupEvents for one event name,
// signed for the bucket's region, over the 90 days up to before, and that
// each query sent the tokens in wantTokens.
func checkLookups(t *testing.T, srv *awstest.Server, before time.Time, wantTokens map[string][]string) {
	t.Helper()
	scope := "/" + bucketRegion + "/cloudtrail/aws4_request"
	wantStart := epochSeconds(before.Add(-90 * 24 * time.Hour))
	wantEnd := epochSeconds(before)
	gotTokens := map[string][]string{}
	for i, r := range srv.Requests() {
		if r.Retry {
			continue // the SDK could not read an answer (see awstest.HandleRead)
		}
		if got := r.Header.Get("X-Amz-Target"); got != lookupTarget {
			t.Errorf("request %d: X-Amz-Target %q, want %q", i, got, lookupTarget)
		}
		if got := r.Header.Get("Authorization"); !strings.Contains(got, scope) {
			t.Errorf("request %d: Authorization %q, want credential scope %s", i, got, scope)
		}
		req, err := decodeLookup(r)
		if err != nil {
			t.Errorf("request %d: body %s: %v", i, r.Body, err)
			continue
		}
		if len(req.LookupAttributes) != 1 || req.LookupAttributes[0].AttributeKey != "EventName" {
			t.Errorf("request %d: LookupAttributes %+v, want one EventName attribute", i, req.LookupAttributes)
			continue
		}
		if got := show64(req.StartTime); got != show64(&wantStart) {
			t.Errorf("request %d: StartTime %s, want %s", i, got, show64(&wantStart))
		}
		if got := show64(req.EndTime); got != show64(&wantEnd) {
			t.Errorf("request %d: EndTime %s, want %s", i, got, show64(&wantEnd))
		}
		if req.MaxResults != 50 {
			t.Errorf("request %d: MaxResults %d, want 50", i, req.MaxResults)
		}
		name := req.LookupAttributes[0].AttributeValue
		gotTokens[name] = append(gotTokens[name], req.NextToken)
	}
	if !reflect.DeepEqual(gotTokens, wantTokens) {
		t.Errorf("NextToken sent per event name:\ngot  %q\nwant %q", gotTokens, wantTokens)
	}
}

// epochSeconds is how AWS JSON services write a timestamp: seconds since
// the epoch, milliseconds as the fraction.
func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }

func show64(f *float64) string {
	if f == nil {
		return "absent"
	}
	return fmt.Sprintf("%.3f", *f)
}

func TestPreviousPublicAccessBlockKeepsAPIError(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Target(lookupTarget), cloudTrailError(400, "AccessDeniedException", "not authorized"))
	h := &awslookup.History{CloudTrail: cloudtrail.NewFromConfig(srv.Config(clientRegion))}

	_, _, err := h.PreviousPublicAccessBlock(context.Background(), bucketRegion, historyBucket, alertTime, alertEventID)

	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		t.Errorf("err = %v, want an API error with code AccessDeniedException", err)
	}
}

func TestPreviousPublicAccessBlockWithoutClient(t *testing.T) {
	_, found, err := (&awslookup.History{}).PreviousPublicAccessBlock(context.Background(), bucketRegion, historyBucket, alertTime, alertEventID)
	if err == nil || found {
		t.Errorf("got found %t, error %v; want not found and an error", found, err)
	}
}
