package awstest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/awstest"
)

// TestRealClientsReachTheServer proves the set-up the other packages rely
// on: a query-protocol client and a virtual-hosted S3 client both reach the
// server, and recorded errors come back as typed API errors.
func TestRealClientsReachTheServer(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Action("ListAccountAliases"), awstest.Response{Body: `<ListAccountAliasesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListAccountAliasesResult><IsTruncated>false</IsTruncated><AccountAliases><member>acme-prod</member></AccountAliases></ListAccountAliasesResult>
  <ResponseMetadata><RequestId>c5a076e9-f1b0-11df-8fbe-45274EXAMPLE</RequestId></ResponseMetadata>
</ListAccountAliasesResponse>`})
	srv.Handle(awstest.REST("GET", "/", "policyStatus"), awstest.Response{Status: 404, Body: awstest.S3Error("NoSuchBucket", "The specified bucket does not exist")})

	cfg := srv.Config("eu-west-1")
	out, err := iam.NewFromConfig(cfg).ListAccountAliases(context.Background(), &iam.ListAccountAliasesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AccountAliases) != 1 || out.AccountAliases[0] != "acme-prod" {
		t.Errorf("aliases = %v", out.AccountAliases)
	}

	_, err = s3.NewFromConfig(cfg).GetBucketPolicyStatus(context.Background(), &s3.GetBucketPolicyStatusInput{Bucket: aws.String("acme-data")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchBucket" {
		t.Fatalf("err = %v, want NoSuchBucket", err)
	}
	reqs := srv.Requests()
	if got := reqs[len(reqs)-1].Host; got != "acme-data."+srv.URL()[len("http://"):] {
		t.Errorf("S3 request went to host %q, want the bucket's virtual host", got)
	}
}
