package stslookup_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/stslookup"
)

const testAccount = "111122223333" // the account in sts-get-caller-identity.xml

func recorded(t *testing.T, file string) awstest.Response {
	t.Helper()
	return awstest.Response{Body: awstest.File(t, file)}
}

func TestCallerAccount(t *testing.T) {
	for _, tc := range []struct {
		name        string
		response    func(t *testing.T) awstest.Response
		timeout     time.Duration
		wantAccount string
		wantErr     string // substring; "" for no error
	}{
		{
			name:        "account of the credentials",
			response:    func(t *testing.T) awstest.Response { return recorded(t, "sts-get-caller-identity.xml") },
			wantAccount: testAccount,
		},
		{
			name: "expired credentials",
			response: func(t *testing.T) awstest.Response {
				return awstest.Response{Status: 403, Body: awstest.XMLError("ExpiredToken", "The security token included in the request is expired")}
			},
			wantErr: "api error ExpiredToken: The security token included in the request is expired",
		},
		{
			name:    "timeout",
			timeout: 250 * time.Millisecond,
			response: func(t *testing.T) awstest.Response {
				slow := recorded(t, "sts-get-caller-identity.xml")
				slow.Delay = 10 * time.Second
				return slow
			},
			wantErr: "get caller identity: timed out after 0.25 seconds",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.NewServer(t)
			srv.Handle(awstest.Action("GetCallerIdentity"), tc.response(t))
			client := sts.NewFromConfig(srv.Config("us-east-1"))

			account, err := stslookup.CallerAccount(context.Background(), client, tc.timeout)

			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && !strings.Contains(gotErr, tc.wantErr) {
				t.Errorf("error %q, want %q", gotErr, tc.wantErr)
			}
			if account != tc.wantAccount {
				t.Errorf("account %q, want %q", account, tc.wantAccount)
			}
		})
	}
}
