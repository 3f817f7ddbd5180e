// Package stslookup asks STS which account the credentials in use belong
// to. Only the CLI needs this (the Lambda functions learn their account from
// their configuration), so it is its own package and the functions do not
// link the STS client.
package stslookup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailwatch/trailwatch/internal/awslookup"
)

// STSAPI is the part of the STS client CallerAccount uses.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, params *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var _ STSAPI = (*sts.Client)(nil)

// CallerAccount returns the account of the credentials in use (STS
// GetCallerIdentity). A timeout of zero or less means
// awslookup.DefaultTimeout.
func CallerAccount(ctx context.Context, client STSAPI, timeout time.Duration) (string, error) {
	if client == nil {
		return "", errors.New("get caller identity: no STS client")
	}
	timeout = awslookup.OrDefault(timeout, awslookup.DefaultTimeout)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := client.GetCallerIdentity(callCtx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("get caller identity: %w", awslookup.TimeoutError(ctx, callCtx, timeout, err))
	}
	if aws.ToString(out.Account) == "" {
		return "", errors.New("get caller identity: response has no account")
	}
	return *out.Account, nil
}
