package awslookup_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/awstest"
)

func TestAccountAlias(t *testing.T) {
	type call struct {
		advance   time.Duration // move the clock before the call
		wantAlias string
		wantErr   string // substring; "" for no error
	}
	for _, tc := range []struct {
		name      string
		responses func(t *testing.T) []awstest.Response
		timeout   time.Duration
		calls     []call
		// wantRequests counts ListAccountAliases requests after all calls.
		wantRequests int
	}{
		{
			name: "alias",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{recorded(t, "iam-list-account-aliases.xml")}
			},
			calls:        []call{{wantAlias: "acme-prod"}},
			wantRequests: 1,
		},
		{
			name: "no alias",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{recorded(t, "iam-list-account-aliases-none.xml")}
			},
			calls:        []call{{wantAlias: ""}},
			wantRequests: 1,
		},
		{
			name: "second call served from cache",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{recorded(t, "iam-list-account-aliases.xml")}
			},
			calls:        []call{{wantAlias: "acme-prod"}, {advance: 59 * time.Minute, wantAlias: "acme-prod"}},
			wantRequests: 1,
		},
		{
			name: "no alias is cached too",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{recorded(t, "iam-list-account-aliases-none.xml")}
			},
			calls:        []call{{wantAlias: ""}, {wantAlias: ""}},
			wantRequests: 1,
		},
		{
			name: "asked again after the TTL",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{recorded(t, "iam-list-account-aliases-none.xml"), recorded(t, "iam-list-account-aliases.xml")}
			},
			calls:        []call{{wantAlias: ""}, {advance: time.Hour, wantAlias: "acme-prod"}, {advance: time.Minute, wantAlias: "acme-prod"}},
			wantRequests: 2,
		},
		{
			name: "errors are not cached",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{
					{Status: 403, Body: awstest.XMLError("AccessDenied", "User: arn:aws:sts::111122223333:assumed-role/trailwatch/x is not authorized to perform: iam:ListAccountAliases")},
					recorded(t, "iam-list-account-aliases.xml"),
				}
			},
			calls:        []call{{wantErr: "api error AccessDenied"}, {wantAlias: "acme-prod"}},
			wantRequests: 2,
		},
		{
			name:    "timeout",
			timeout: 250 * time.Millisecond,
			responses: func(t *testing.T) []awstest.Response {
				slow := recorded(t, "iam-list-account-aliases.xml")
				slow.Delay = 10 * time.Second
				return []awstest.Response{slow}
			},
			calls:        []call{{wantErr: "list account aliases: timed out after 0.25 seconds"}},
			wantRequests: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.NewServer(t)
			srv.Handle(awstest.Action("ListAccountAliases"), tc.responses(t)...)
			now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			a := &awslookup.Aliases{
				IAM:     iam.NewFromConfig(srv.Config(clientRegion)),
				Timeout: tc.timeout,
				Now:     func() time.Time { return now },
			}
			for i, c := range tc.calls {
				now = now.Add(c.advance)
				alias, err := a.AccountAlias(context.Background(), testAccount)
				gotErr := ""
				if err != nil {
					gotErr = err.Error()
				}
				if c.wantErr == "" && err != nil || c.wantErr != "" && !strings.Contains(gotErr, c.wantErr) {
					t.Errorf("call %d: error %q, want %q", i+1, gotErr, c.wantErr)
				}
				if alias != c.wantAlias {
					t.Errorf("call %d: alias %q, want %q", i+1, alias, c.wantAlias)
				}
			}
			if got := len(srv.Requests()); got != tc.wantRequests {
				t.Errorf("%d ListAccountAliases requests, want %d", got, tc.wantRequests)
			}
		})
	}
}

func TestAccountAliasErrorKeepsAPIError(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Action("ListAccountAliases"), awstest.Response{Status: 403, Body: awstest.XMLError("AccessDenied", "not authorized")})
	a := &awslookup.Aliases{IAM: iam.NewFromConfig(srv.Config(clientRegion))}

	_, err := a.AccountAlias(context.Background(), testAccount)

	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("err = %v, want an API error with code AccessDenied", err)
	}
}

// TestAccountAliasConcurrent lets the race detector see the cache used from
// several goroutines.
func TestAccountAliasConcurrent(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Action("ListAccountAliases"), recorded(t, "iam-list-account-aliases.xml"))
	a := &awslookup.Aliases{IAM: iam.NewFromConfig(srv.Config(clientRegion))}

	const n = 8
	aliases := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { aliases[i], errs[i] = a.AccountAlias(context.Background(), testAccount) })
	}
	wg.Wait()

	for i := range n {
		if aliases[i] != "acme-prod" || errs[i] != nil {
			t.Errorf("goroutine %d: got %q, %v; want acme-prod, nil", i, aliases[i], errs[i])
		}
	}
	// Concurrent misses may each ask IAM; afterwards the cache answers.
	before := len(srv.Requests())
	if alias, err := a.AccountAlias(context.Background(), testAccount); alias != "acme-prod" || err != nil {
		t.Errorf("after the goroutines: got %q, %v; want acme-prod, nil", alias, err)
	}
	if got := len(srv.Requests()); got != before {
		t.Errorf("%d requests after a cached call, want %d", got, before)
	}
}
