package wire

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Environment variables the Lambda runtime sets for the function's
// execution role and region.
const (
	envRegion       = "AWS_REGION"
	envAccessKeyID  = "AWS_ACCESS_KEY_ID"
	envSecretKey    = "AWS_SECRET_ACCESS_KEY"
	envSessionToken = "AWS_SESSION_TOKEN"
)

// AWSConfig builds the SDK configuration of a Lambda function from its
// environment: the region from AWS_REGION, the execution role's credentials
// from the variables Lambda sets for it. It replaces config.LoadDefaultConfig,
// whose shared-file, SSO, web-identity, process and instance-metadata
// providers a function never uses but would link (about a megabyte of each
// bootstrap).
func AWSConfig(getenv func(string) string) (aws.Config, error) {
	region := getenv(envRegion)
	if region == "" {
		return aws.Config{}, fmt.Errorf("%s is not set", envRegion)
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(envCredentials{getenv: getenv}),
	}, nil
}

// envCredentials reads the execution role's credentials from the
// environment on every Retrieve, as the SDK's own environment provider does.
type envCredentials struct{ getenv func(string) string }

// Retrieve implements aws.CredentialsProvider.
func (e envCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	c := aws.Credentials{
		AccessKeyID:     e.getenv(envAccessKeyID),
		SecretAccessKey: e.getenv(envSecretKey),
		SessionToken:    e.getenv(envSessionToken),
		Source:          "EnvConfigCredentials",
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, errors.New("no AWS credentials in the environment: " + envAccessKeyID + " and " + envSecretKey + " must be set")
	}
	return c, nil
}

var _ aws.CredentialsProvider = envCredentials{}
