package wire

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Environment variables the Lambda runtime sets for the function's
// execution role and region.
const (
	envRegion       = "AWS_REGION"
	envAccessKeyID  = "AWS_ACCESS_KEY_ID"
	envSecretKey    = "AWS_SECRET_ACCESS_KEY"
	envSessionToken = "AWS_SESSION_TOKEN"
	// The SDK's standard endpoint variables: AWS_ENDPOINT_URL for every
	// service, AWS_ENDPOINT_URL_<SERVICE> (the SDK ID in capitals, spaces
	// as underscores: S3_CONTROL, SECRETS_MANAGER, DYNAMODB) for one, and
	// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true to ignore both.
	envEndpointURL    = "AWS_ENDPOINT_URL"
	envIgnoreEndpoint = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// AWSConfig builds the SDK configuration of a Lambda function from its
// environment: the region from AWS_REGION, the execution role's credentials
// from the variables Lambda sets for it, and the endpoints from the SDK's
// standard variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), so the
// real bootstraps run against local stand-ins. It replaces
// config.LoadDefaultConfig, whose shared-file, SSO, web-identity, process
// and instance-metadata providers a function never uses but would link
// (about a megabyte of each bootstrap); LoadDefaultConfig is also what
// reads the endpoint variables, so they are read here the way it reads
// them.
func AWSConfig(getenv func(string) string) (aws.Config, error) {
	region := getenv(envRegion)
	if region == "" {
		return aws.Config{}, fmt.Errorf("%s is not set", envRegion)
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(envCredentials{getenv: getenv}),
	}
	endpoints := envEndpoints{getenv: getenv}
	if ignore, _, _ := endpoints.GetIgnoreConfiguredEndpoints(context.Background()); !ignore {
		if u := getenv(envEndpointURL); u != "" {
			cfg.BaseEndpoint = aws.String(u)
		}
		// Each client asks its configuration sources for its own
		// endpoint (configsources.ResolveServiceBaseEndpoint).
		cfg.ConfigSources = []any{endpoints}
	}
	return cfg, nil
}

// envEndpoints answers the SDK clients' questions about configured
// endpoints from the environment, as config.EnvConfig does.
type envEndpoints struct{ getenv func(string) string }

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SDK ID>.
func (e envEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	u := e.getenv(envEndpointURL + "_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return u, u != "", nil
}

// GetIgnoreConfiguredEndpoints reads AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (e envEndpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	v := e.getenv(envIgnoreEndpoint)
	if v == "" {
		return false, false, nil
	}
	return strings.EqualFold(v, "true"), true, nil
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
