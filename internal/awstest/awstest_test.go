package awstest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
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

// TestHandleReadAnswersARetryAlike: a HandleRead route answers a request
// identical to one it answered with success as it did then, and marks it
// Retry; other requests take the next response, and Handle routes always
// do.
func TestHandleReadAnswersARetryAlike(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.HandleRead(awstest.Target("svc.Read"), awstest.Response{Body: "page 1"}, awstest.Response{Body: "page 2"})
	srv.Handle(awstest.Target("svc.Write"), awstest.Response{Body: "first"}, awstest.Response{Body: "second"})
	client := srv.Config("eu-west-1").HTTPClient.(*http.Client)
	post := func(target, body string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", target)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	got := []string{
		post("svc.Read", `{"token":""}`), post("svc.Read", `{"token":""}`), post("svc.Read", `{"token":"2"}`),
		post("svc.Write", `{"x":1}`), post("svc.Write", `{"x":1}`),
	}
	want := []string{"page 1", "page 1", "page 2", "first", "second"}
	if !slices.Equal(got, want) {
		t.Errorf("answers %q, want %q", got, want)
	}
	var retries []bool
	for _, r := range srv.Requests() {
		retries = append(retries, r.Retry)
	}
	if want := []bool{false, true, false, false, false}; !slices.Equal(retries, want) {
		t.Errorf("Retry %v, want %v", retries, want)
	}
}
