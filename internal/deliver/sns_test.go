package deliver_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/deliver"
)

const topicARN = "arn:aws:sns:us-east-1:111122223333:trailwatch-alerts"

var email = deliver.Email{
	Subject: "[trailwatch] HIGH: S3 bucket policy made public",
	Body:    "Bucket example-bucket was made public by arn:aws:iam::111122223333:user/alice.\n",
	Attributes: map[string]string{
		"severity":  "HIGH",
		"detection": "s3_bucket_policy_public",
	},
}

func snsResponse(t *testing.T, status int, file string) awstest.Response {
	return awstest.Response{Status: status, Header: map[string]string{"Content-Type": "text/xml"}, Body: awstest.File(t, file)}
}

func TestSNSPublish(t *testing.T) {
	for _, tc := range []struct {
		name         string
		email        deliver.Email
		responses    func(t *testing.T) []awstest.Response
		timeout      time.Duration
		wantErr      string // substring; "" for published
		wantAs       func(error) bool
		wantRequests int
	}{
		{
			name:  "published",
			email: email,
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{snsResponse(t, 200, "sns-publish.xml")}
			},
			wantRequests: 1,
		},
		{
			name:  "published without attributes",
			email: deliver.Email{Subject: email.Subject, Body: email.Body},
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{snsResponse(t, 200, "sns-publish.xml")}
			},
			wantRequests: 1,
		},
		{
			name:  "throttled once, then published by the SDK's retryer",
			email: email,
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{snsResponse(t, 429, "sns-throttled.xml"), snsResponse(t, 200, "sns-publish.xml")}
			},
			wantRequests: 2,
		},
		{
			name:  "AuthorizationError",
			email: email,
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{snsResponse(t, 403, "sns-authorization-error.xml")}
			},
			wantErr: "sns: publish to " + topicARN + ": operation error SNS: Publish, https response error StatusCode: 403",
			wantAs: func(err error) bool {
				var target *types.AuthorizationErrorException
				return errors.As(err, &target)
			},
			wantRequests: 1,
		},
		{
			name:  "NotFound",
			email: email,
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{snsResponse(t, 404, "sns-not-found.xml")}
			},
			wantErr: "NotFound: Topic does not exist",
			wantAs: func(err error) bool {
				var target *types.NotFoundException
				return errors.As(err, &target)
			},
			wantRequests: 1,
		},
		{
			name:  "answer without a MessageId",
			email: email,
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{{Header: map[string]string{"Content-Type": "text/xml"}, Body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult/></PublishResponse>`}}
			},
			wantErr:      "sns: publish to " + topicARN + ": response carries no MessageId",
			wantRequests: 1,
		},
		{
			name:    "timeout",
			email:   email,
			timeout: 50 * time.Millisecond,
			responses: func(t *testing.T) []awstest.Response {
				slow := snsResponse(t, 200, "sns-publish.xml")
				slow.Delay = time.Minute
				return []awstest.Response{slow}
			},
			wantErr: "sns: publish to " + topicARN + ": timed out after 0.05 seconds",
			wantAs: func(err error) bool {
				return errors.Is(err, context.DeadlineExceeded)
			},
			wantRequests: 1,
		},
		{
			name:    "control character in subject: rejected before any request",
			email:   deliver.Email{Subject: "alert\r\nBcc: someone", Body: "body"},
			wantErr: "sns: publish to " + topicARN + ": invalid email: subject byte 5 is 0x0d: only printable ASCII is allowed",
		},
		{
			name:    "empty subject: rejected before any request",
			email:   deliver.Email{Body: "body"},
			wantErr: "invalid email: subject is empty",
		},
		{
			name:    "body too large: rejected before any request",
			email:   deliver.Email{Subject: "s", Body: strings.Repeat("a", deliver.MaxMessage+1)},
			wantErr: "invalid email: message and attributes are 262145 bytes, at most 262144 allowed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.NewServer(t)
			if tc.responses != nil {
				srv.Handle(awstest.Action("Publish"), tc.responses(t)...)
			}
			p := &deliver.SNS{Client: sns.NewFromConfig(srv.Config(region)), TopicARN: topicARN, Timeout: tc.timeout}

			err := p.Publish(context.Background(), tc.email)

			checkErr(t, err, tc.wantErr)
			if err != nil && tc.wantAs != nil && !tc.wantAs(err) {
				t.Errorf("error %v, want it to match the AWS error", err)
			}
			reqs := srv.Requests()
			if len(reqs) != tc.wantRequests {
				t.Fatalf("%d requests, want %d", len(reqs), tc.wantRequests)
			}
			for i, r := range reqs {
				form, err := url.ParseQuery(string(r.Body))
				if err != nil {
					t.Fatalf("request %d: body %q: %v", i+1, r.Body, err)
				}
				for key, want := range map[string]string{
					"Action":   "Publish",
					"Version":  "2010-03-31",
					"TopicArn": topicARN,
					"Subject":  tc.email.Subject,
					"Message":  tc.email.Body,
				} {
					if got := form.Get(key); got != want {
						t.Errorf("request %d: %s %q, want %q", i+1, key, got, want)
					}
				}
				if got, want := messageAttributes(form), tc.email.Attributes; !maps.Equal(got, want) {
					t.Errorf("request %d: attributes %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

// messageAttributes reads the query protocol's map encoding
// (MessageAttributes.entry.N.Name, .Value.DataType, .Value.StringValue),
// keeping only String attributes (a different type is reported as such).
func messageAttributes(form url.Values) map[string]string {
	var out map[string]string
	for n := 1; ; n++ {
		prefix := fmt.Sprintf("MessageAttributes.entry.%d.", n)
		name := form.Get(prefix + "Name")
		if name == "" {
			return out
		}
		if out == nil {
			out = map[string]string{}
		}
		if typ := form.Get(prefix + "Value.DataType"); typ != "String" {
			out[name] = "DataType " + typ
			continue
		}
		out[name] = form.Get(prefix + "Value.StringValue")
	}
}

func TestEmailValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		email   deliver.Email
		wantErr string // substring; "" for valid
	}{
		{name: "typical", email: email},
		{name: "one-character subject", email: deliver.Email{Subject: "x", Body: "b"}},
		{name: "99-character subject", email: deliver.Email{Subject: strings.Repeat("s", 99), Body: "b"}},
		{name: "100-character subject", email: deliver.Email{Subject: strings.Repeat("s", 100), Body: "b"}, wantErr: "subject is 100 bytes, at most 99 allowed"},
		{name: "empty subject", email: deliver.Email{Body: "b"}, wantErr: "subject is empty"},
		{name: "newline in subject", email: deliver.Email{Subject: "a\nb", Body: "b"}, wantErr: "subject byte 1 is 0x0a"},
		{name: "tab in subject", email: deliver.Email{Subject: "a\tb", Body: "b"}, wantErr: "subject byte 1 is 0x09"},
		{name: "DEL in subject", email: deliver.Email{Subject: "a\x7f", Body: "b"}, wantErr: "subject byte 1 is 0x7f"},
		{name: "non-ASCII subject", email: deliver.Email{Subject: "café", Body: "b"}, wantErr: "subject byte 3 is 0xc3"},
		{name: "empty body", email: deliver.Email{Subject: "s"}, wantErr: "body is empty"},
		{name: "invalid UTF-8 body", email: deliver.Email{Subject: "s", Body: "\xff"}, wantErr: "body is not valid UTF-8"},
		{name: "UTF-8 body", email: deliver.Email{Subject: "s", Body: "Zugriff verweigert für café"}},
		{name: "body at the limit", email: deliver.Email{Subject: "s", Body: strings.Repeat("a", deliver.MaxMessage)}},
		{
			name:  "body and attributes at the limit",
			email: deliver.Email{Subject: "s", Body: strings.Repeat("a", deliver.MaxMessage-8), Attributes: map[string]string{"k": "v"}}, // k + String + v
		},
		{
			name:    "body and attributes over the limit",
			email:   deliver.Email{Subject: "s", Body: strings.Repeat("a", deliver.MaxMessage-7), Attributes: map[string]string{"k": "v"}},
			wantErr: "message and attributes are 262145 bytes, at most 262144 allowed",
		},
		{name: "empty attribute value", email: deliver.Email{Subject: "s", Body: "b", Attributes: map[string]string{"severity": ""}}, wantErr: `message attribute "severity" is empty`},
		{name: "reserved attribute prefix", email: deliver.Email{Subject: "s", Body: "b", Attributes: map[string]string{"AWS.SNS.x": "v"}}, wantErr: "prefix reserved for AWS"},
		{name: "attribute name with space", email: deliver.Email{Subject: "s", Body: "b", Attributes: map[string]string{"a b": "v"}}, wantErr: "may hold only letters"},
		{name: "attribute name with doubled period", email: deliver.Email{Subject: "s", Body: "b", Attributes: map[string]string{"a..b": "v"}}, wantErr: "doubled period"},
		{
			name:    "too many attributes",
			email:   deliver.Email{Subject: "s", Body: "b", Attributes: map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8", "i": "9", "j": "10", "k": "11"}},
			wantErr: "11 message attributes, at most 10 allowed",
		},
		{
			name:    "every problem at once",
			email:   deliver.Email{Subject: "", Body: ""},
			wantErr: "subject is empty\nbody is empty",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.email.Validate(), tc.wantErr)
		})
	}
}
