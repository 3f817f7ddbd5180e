package awslookup_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/budget"
)

const (
	testAccount = "111122223333"
	// bucketRegion differs from clientRegion so the tests see whether each
	// call was sent to the bucket's region.
	bucketRegion = "eu-west-1"
	clientRegion = "us-east-1"
)

func recorded(t *testing.T, file string) awstest.Response {
	t.Helper()
	return awstest.Response{Body: awstest.File(t, file)}
}

func TestDescribe(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	canceled, cancelParent := context.WithCancel(context.Background())
	cancelParent()
	// A parent out of its share of the invocation's time (internal/budget),
	// and one at a plain deadline (the invocation's own).
	budgeted, cancelBudgeted := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second),
		&budget.Timeout{After: 800 * time.Millisecond, Of: "the invocation's time before sending"})
	defer cancelBudgeted()
	inParentBudget, cancelCall := context.WithTimeout(budgeted, 3*time.Second)
	defer cancelCall()
	inParentDeadline, cancelCall2 := context.WithTimeout(expired, 3*time.Second)
	defer cancelCall2()
	sdkDeadline := fmt.Errorf("operation error IAM: ListAccountAliases, https response error StatusCode: 0, RequestID: , canceled, %w", context.DeadlineExceeded)
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}
	for _, tc := range []struct {
		name     string
		err      error
		want     string
		wantCode string
	}{
		{name: "code and message", err: denied, want: "AccessDenied: Access Denied", wantCode: "AccessDenied"},
		{name: "code only", err: &smithy.GenericAPIError{Code: "Throttling"}, want: "Throttling", wantCode: "Throttling"},
		{name: "message repeats code", err: &smithy.GenericAPIError{Code: "Throttling", Message: "Throttling"}, want: "Throttling", wantCode: "Throttling"},
		{name: "no code", err: errors.New("dial tcp: connection refused"), want: "dial tcp: connection refused"},
		{
			name:     "own deadline",
			err:      awslookup.TimeoutError(context.Background(), expired, 3*time.Second, denied),
			want:     "timed out after 3 seconds",
			wantCode: "AccessDenied",
		},
		{
			name: "parent's share of the budget",
			err:  awslookup.TimeoutError(budgeted, inParentBudget, 3*time.Second, sdkDeadline),
			want: "timed out after 0.8 seconds (the invocation's time before sending)",
		},
		{
			name: "parent's deadline",
			err:  awslookup.TimeoutError(expired, inParentDeadline, 3*time.Second, sdkDeadline),
			want: "timed out at the invocation's deadline",
		},
		{name: "a deadline not named", err: sdkDeadline, want: "timed out"},
		{
			name:     "caller's context ended",
			err:      awslookup.TimeoutError(canceled, expired, 3*time.Second, denied),
			want:     "AccessDenied: Access Denied",
			wantCode: "AccessDenied",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := awslookup.Describe(tc.err); got != tc.want {
				t.Errorf("Describe() = %q, want %q", got, tc.want)
			}
			if got := awslookup.ErrorCode(tc.err); got != tc.wantCode {
				t.Errorf("ErrorCode() = %q, want %q", got, tc.wantCode)
			}
		})
	}
}

func TestTimeoutErrorKeepsDeadline(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	err := awslookup.TimeoutError(context.Background(), expired, time.Second, context.DeadlineExceeded)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false, want true", err)
	}
}

func TestOrDefault(t *testing.T) {
	for _, tc := range []struct{ d, want time.Duration }{
		{d: 0, want: time.Minute},
		{d: -time.Second, want: time.Minute},
		{d: time.Second, want: time.Second},
	} {
		if got := awslookup.OrDefault(tc.d, time.Minute); got != tc.want {
			t.Errorf("OrDefault(%s, 1m) = %s, want %s", tc.d, got, tc.want)
		}
	}
}
