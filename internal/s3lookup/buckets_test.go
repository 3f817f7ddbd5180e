package s3lookup_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/s3access"
	"github.com/trailwatch/trailwatch/internal/s3lookup"
)

const (
	testAccount = "111122223333"
	testBucket  = "acme-data"
	// bucketRegion differs from clientRegion so the tests see whether each
	// call was sent to the bucket's region.
	bucketRegion = "eu-west-1"
	clientRegion = "us-east-1"
)

// The four look-ups, as the server tells them apart.
const (
	partPolicyStatus = "policy status"
	partBucketBlock  = "bucket block"
	partAccountBlock = "account block"
	partACL          = "acl"
)

var partMatchers = map[string]awstest.Matcher{
	partPolicyStatus: awstest.REST(http.MethodGet, "/", "policyStatus"),
	partBucketBlock:  awstest.REST(http.MethodGet, "/", "publicAccessBlock"),
	partAccountBlock: awstest.REST(http.MethodGet, "/v20180820/configuration/publicAccessBlock", ""),
	partACL:          awstest.REST(http.MethodGet, "/", "acl"),
}

func recorded(t *testing.T, file string) awstest.Response {
	t.Helper()
	return awstest.Response{Body: awstest.File(t, file)}
}

func s3Error(status int, code, message string) awstest.Response {
	return awstest.Response{Status: status, Body: awstest.S3Error(code, message)}
}

// controlError is an S3 Control error: unlike S3, S3 Control wraps the
// code and message in <ErrorResponse><Error>.
func controlError(status int, code, message string) awstest.Response {
	return awstest.Response{Status: status, Body: awstest.XMLError(code, message)}
}

func TestBucketState(t *testing.T) {
	yes, no := true, false
	allOff := &s3access.PublicAccessBlock{}
	allOn := &s3access.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}

	for _, tc := range []struct {
		name    string
		timeout time.Duration
		// responses answer each part; every case lists all four.
		responses    func(t *testing.T) map[string]awstest.Response
		want         s3access.BucketState
		wantExposure s3access.Answer
	}{
		{
			name: "public policy, Block Public Access off at both levels",
			responses: func(t *testing.T) map[string]awstest.Response {
				return map[string]awstest.Response{
					partPolicyStatus: recorded(t, "s3-policy-status-public.xml"),
					partBucketBlock:  recorded(t, "s3-public-access-block-off.xml"),
					partAccountBlock: recorded(t, "s3control-public-access-block-off.xml"),
					partACL:          recorded(t, "s3-acl-private.xml"),
				}
			},
			want:         s3access.BucketState{PolicyPublic: &yes, BucketBlock: allOff, AccountBlock: allOff, ACLKnown: true},
			wantExposure: s3access.Yes,
		},
		{
			name: "private bucket, Block Public Access on",
			responses: func(t *testing.T) map[string]awstest.Response {
				return map[string]awstest.Response{
					partPolicyStatus: recorded(t, "s3-policy-status-private.xml"),
					partBucketBlock:  recorded(t, "s3-public-access-block-on.xml"),
					partAccountBlock: recorded(t, "s3control-public-access-block-on.xml"),
					partACL:          recorded(t, "s3-acl-private.xml"),
				}
			},
			want:         s3access.BucketState{PolicyPublic: &no, BucketBlock: allOn, AccountBlock: allOn, ACLKnown: true},
			wantExposure: s3access.No,
		},
		{
			name: "no policy and no Block Public Access configured",
			responses: func(t *testing.T) map[string]awstest.Response {
				return map[string]awstest.Response{
					partPolicyStatus: s3Error(404, "NoSuchBucketPolicy", "The bucket policy does not exist"),
					partBucketBlock:  s3Error(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"),
					partAccountBlock: controlError(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"),
					partACL:          recorded(t, "s3-acl-private.xml"),
				}
			},
			want:         s3access.BucketState{PolicyPublic: &no, BucketBlock: allOff, AccountBlock: allOff, ACLKnown: true},
			wantExposure: s3access.No,
		},
		{
			name: "public ACL grants",
			responses: func(t *testing.T) map[string]awstest.Response {
				return map[string]awstest.Response{
					partPolicyStatus: s3Error(404, "NoSuchBucketPolicy", "The bucket policy does not exist"),
					partBucketBlock:  recorded(t, "s3-public-access-block-off.xml"),
					partAccountBlock: recorded(t, "s3control-public-access-block-off.xml"),
					partACL:          recorded(t, "s3-acl-public.xml"),
				}
			},
			want: s3access.BucketState{
				PolicyPublic: &no, BucketBlock: allOff, AccountBlock: allOff, ACLKnown: true,
				ACLGrants: []s3access.ACLGrant{
					{Group: "AuthenticatedUsers", Permission: "WRITE", Via: "bucket ACL"},
					{Group: "AllUsers", Permission: "READ", Via: "bucket ACL"},
				},
			},
			wantExposure: s3access.Yes,
		},
		{
			name: "ACL access denied, the rest still read",
			responses: func(t *testing.T) map[string]awstest.Response {
				return map[string]awstest.Response{
					partPolicyStatus: recorded(t, "s3-policy-status-public.xml"),
					partBucketBlock:  recorded(t, "s3-public-access-block-off.xml"),
					partAccountBlock: recorded(t, "s3control-public-access-block-off.xml"),
					partACL:          s3Error(403, "AccessDenied", "Access Denied"),
				}
			},
			want: s3access.BucketState{
				PolicyPublic: &yes, BucketBlock: allOff, AccountBlock: allOff,
				Missing: []string{"GetBucketAcl: AccessDenied: Access Denied"},
			},
			wantExposure: s3access.Yes,
		},
		{
			name: "two parts denied, Missing sorted by look-up",
			responses: func(t *testing.T) map[string]awstest.Response {
				return map[string]awstest.Response{
					partPolicyStatus: recorded(t, "s3-policy-status-private.xml"),
					partBucketBlock:  recorded(t, "s3-public-access-block-off.xml"),
					partAccountBlock: controlError(403, "AccessDenied", "Access Denied"),
					partACL:          s3Error(403, "AccessDenied", "Access Denied"),
				}
			},
			want: s3access.BucketState{
				PolicyPublic: &no, BucketBlock: allOff,
				Missing: []string{
					"GetBucketAcl: AccessDenied: Access Denied",
					"GetPublicAccessBlock (account): AccessDenied: Access Denied",
				},
			},
			wantExposure: s3access.Unknown,
		},
		{
			name: "throttled after the SDK's retries",
			responses: func(t *testing.T) map[string]awstest.Response {
				return map[string]awstest.Response{
					partPolicyStatus: s3Error(503, "SlowDown", "Please reduce your request rate."),
					partBucketBlock:  recorded(t, "s3-public-access-block-on.xml"),
					partAccountBlock: recorded(t, "s3control-public-access-block-off.xml"),
					partACL:          recorded(t, "s3-acl-private.xml"),
				}
			},
			want: s3access.BucketState{
				BucketBlock: allOn, AccountBlock: allOff, ACLKnown: true,
				Missing: []string{"GetBucketPolicyStatus: SlowDown: Please reduce your request rate."},
			},
			wantExposure: s3access.Unknown,
		},
		{
			name: "bucket deleted since",
			responses: func(t *testing.T) map[string]awstest.Response {
				gone := s3Error(404, "NoSuchBucket", "The specified bucket does not exist")
				return map[string]awstest.Response{
					partPolicyStatus: gone,
					partBucketBlock:  gone,
					partAccountBlock: recorded(t, "s3control-public-access-block-off.xml"),
					partACL:          gone,
				}
			},
			want:         s3access.BucketState{AccountBlock: allOff, Gone: true},
			wantExposure: s3access.No,
		},
		{
			name:    "slow answer times out, the rest still read",
			timeout: 250 * time.Millisecond,
			responses: func(t *testing.T) map[string]awstest.Response {
				slow := recorded(t, "s3-acl-public.xml")
				// The client gives up at the timeout and the server stops
				// waiting when the connection closes, so this does not
				// slow the test down.
				slow.Delay = 10 * time.Second
				return map[string]awstest.Response{
					partPolicyStatus: recorded(t, "s3-policy-status-private.xml"),
					partBucketBlock:  recorded(t, "s3-public-access-block-off.xml"),
					partAccountBlock: recorded(t, "s3control-public-access-block-off.xml"),
					partACL:          slow,
				}
			},
			want: s3access.BucketState{
				PolicyPublic: &no, BucketBlock: allOff, AccountBlock: allOff,
				Missing: []string{"GetBucketAcl: timed out after 0.25 seconds"},
			},
			wantExposure: s3access.Unknown,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.NewServer(t)
			for part, resp := range tc.responses(t) {
				srv.Handle(partMatchers[part], resp)
			}
			cfg := srv.Config(clientRegion)
			b := &s3lookup.Buckets{
				S3:      s3.NewFromConfig(cfg),
				Control: s3control.NewFromConfig(cfg),
				Timeout: tc.timeout,
			}

			got := b.BucketState(context.Background(), testAccount, bucketRegion, testBucket)

			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("BucketState:\ngot  %s\nwant %s", show(got), show(tc.want))
			}
			if e := got.Exposure(); e.Public != tc.wantExposure {
				t.Errorf("Exposure().Public = %s, want %s (reasons %q)", e.Public, tc.wantExposure, e.Reasons)
			}
			checkRouting(t, srv)
		})
	}
}

// checkRouting asserts every look-up was made, signed for the bucket's
// region, and addressed to the bucket or the account.
func checkRouting(t *testing.T, srv *awstest.Server) {
	t.Helper()
	scope := "/" + bucketRegion + "/s3/aws4_request"
	seen := map[string]bool{}
	for _, r := range srv.Requests() {
		part := ""
		for name, m := range partMatchers {
			if m(r) {
				part = name
			}
		}
		seen[part] = true
		if got := r.Header.Get("Authorization"); !strings.Contains(got, scope) {
			t.Errorf("%s: Authorization %q, want credential scope %s", part, got, scope)
		}
		wantHost := testBucket + "."
		if part == partAccountBlock {
			wantHost = testAccount + "."
			if got := r.Header.Get("X-Amz-Account-Id"); got != testAccount {
				t.Errorf("%s: x-amz-account-id %q, want %q", part, got, testAccount)
			}
		}
		if !strings.HasPrefix(r.Host, wantHost) {
			t.Errorf("%s: host %q, want prefix %q", part, r.Host, wantHost)
		}
	}
	for part := range partMatchers {
		if !seen[part] {
			t.Errorf("no %s request; requests: %d", part, len(srv.Requests()))
		}
	}
}

// show prints a BucketState with its pointers followed.
func show(s s3access.BucketState) string {
	b, err := json.Marshal(s)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestBucketStateWithoutClients(t *testing.T) {
	got := (&s3lookup.Buckets{}).BucketState(context.Background(), testAccount, bucketRegion, testBucket)
	want := s3access.BucketState{Missing: []string{
		"GetBucketAcl: no client configured",
		"GetBucketPolicyStatus: no client configured",
		"GetPublicAccessBlock (account): no client configured",
		"GetPublicAccessBlock (bucket): no client configured",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BucketState:\ngot  %s\nwant %s", show(got), show(want))
	}
}
