// Package s3lookup reads what S3 says about a bucket right now: whether its
// policy is public, its ACL's public grants, and its own and the account's
// Block Public Access settings (the latter through S3 Control). It is its
// own package so that only the functions that alert on buckets link the S3
// and S3 Control clients. Like the other look-ups it never fails an alert:
// what cannot be read is explained instead (see awslookup.Describe).
package s3lookup

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

// S3API is the part of the S3 client Buckets uses.
type S3API interface {
	GetBucketPolicyStatus(ctx context.Context, params *s3.GetBucketPolicyStatusInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyStatusOutput, error)
	GetPublicAccessBlock(ctx context.Context, params *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketAcl(ctx context.Context, params *s3.GetBucketAclInput, optFns ...func(*s3.Options)) (*s3.GetBucketAclOutput, error)
}

// S3ControlAPI is the part of the S3 Control client Buckets uses.
type S3ControlAPI interface {
	GetPublicAccessBlock(ctx context.Context, params *s3control.GetPublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error)
}

var (
	_ S3API        = (*s3.Client)(nil)
	_ S3ControlAPI = (*s3control.Client)(nil)
)

// Names of the look-ups as they appear in BucketState.Missing. Missing is
// sorted, so these also fix its order.
const (
	opPolicyStatus = "GetBucketPolicyStatus"
	opBucketBlock  = "GetPublicAccessBlock (bucket)"
	opAccountBlock = "GetPublicAccessBlock (account)"
	opACL          = "GetBucketAcl"
)

// Buckets reads what S3 says about a bucket now.
type Buckets struct {
	S3      S3API        // GetBucketPolicyStatus, GetPublicAccessBlock, GetBucketAcl
	Control S3ControlAPI // GetPublicAccessBlock (account level)
	// Timeout bounds each call; zero means awslookup.DefaultTimeout.
	Timeout time.Duration
}

// outcome is how one look-up ended.
type outcome struct {
	gone    bool   // S3 answered NoSuchBucket
	missing string // why the part is unknown; "" when read or gone
}

// BucketState never fails as a whole: parts that cannot be read stay nil
// (ACLKnown false) and are explained in Missing, one line per look-up such
// as "GetBucketAcl: AccessDenied: Access Denied", sorted by look-up. A
// NoSuchBucket answer sets Gone instead. The four calls run concurrently,
// each under Timeout; S3 calls go to region, the account-level Block Public
// Access is read for account through S3 Control in the same region.
func (b *Buckets) BucketState(ctx context.Context, account, region, bucket string) s3access.BucketState {
	var (
		st       s3access.BucketState
		outcomes [4]outcome
		wg       sync.WaitGroup
	)
	// Each goroutine writes only its own fields; wg.Wait orders the reads.
	wg.Go(func() {
		outcomes[0] = b.run(ctx, opPolicyStatus, b.S3 == nil, func(ctx context.Context) (err error) {
			st.PolicyPublic, err = b.policyPublic(ctx, region, bucket)
			return err
		})
	})
	wg.Go(func() {
		outcomes[1] = b.run(ctx, opBucketBlock, b.S3 == nil, func(ctx context.Context) (err error) {
			st.BucketBlock, err = b.bucketBlock(ctx, region, bucket)
			return err
		})
	})
	wg.Go(func() {
		outcomes[2] = b.run(ctx, opAccountBlock, b.Control == nil, func(ctx context.Context) (err error) {
			st.AccountBlock, err = b.accountBlock(ctx, region, account)
			return err
		})
	})
	wg.Go(func() {
		outcomes[3] = b.run(ctx, opACL, b.S3 == nil, func(ctx context.Context) (err error) {
			st.ACLGrants, err = b.publicGrants(ctx, region, bucket)
			st.ACLKnown = err == nil
			return err
		})
	})
	wg.Wait()

	for _, o := range outcomes {
		st.Gone = st.Gone || o.gone
		if o.missing != "" {
			st.Missing = append(st.Missing, o.missing)
		}
	}
	sort.Strings(st.Missing)
	return st
}

// run makes one look-up under the per-call timeout and classifies how it
// ended.
func (b *Buckets) run(ctx context.Context, op string, noClient bool, call func(context.Context) error) outcome {
	if noClient {
		return outcome{missing: op + ": no client configured"}
	}
	timeout := awslookup.OrDefault(b.Timeout, awslookup.DefaultTimeout)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := call(callCtx)
	switch {
	case err == nil:
		return outcome{}
	case awslookup.ErrorCode(err) == "NoSuchBucket":
		return outcome{gone: true}
	}
	return outcome{missing: op + ": " + awslookup.Describe(awslookup.TimeoutError(ctx, callCtx, timeout, err))}
}

// inRegion sends an S3 call to the bucket's region; S3 rejects requests
// signed for another region.
func inRegion(region string) func(*s3.Options) {
	return func(o *s3.Options) {
		if region != "" {
			o.Region = region
		}
	}
}

func (b *Buckets) policyPublic(ctx context.Context, region, bucket string) (*bool, error) {
	out, err := b.S3.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(bucket)}, inRegion(region))
	if awslookup.ErrorCode(err) == "NoSuchBucketPolicy" {
		return aws.Bool(false), nil
	}
	if err != nil {
		return nil, err
	}
	// IsPublic decides "public right now"; never guess it from an empty answer.
	if out.PolicyStatus == nil || out.PolicyStatus.IsPublic == nil {
		return nil, errors.New("response has no IsPublic")
	}
	return aws.Bool(*out.PolicyStatus.IsPublic), nil
}

func (b *Buckets) bucketBlock(ctx context.Context, region, bucket string) (*s3access.PublicAccessBlock, error) {
	out, err := b.S3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)}, inRegion(region))
	if err != nil {
		return noneConfigured(err)
	}
	c := out.PublicAccessBlockConfiguration
	if c == nil {
		return nil, errNoBlock
	}
	return block(c.BlockPublicAcls, c.IgnorePublicAcls, c.BlockPublicPolicy, c.RestrictPublicBuckets), nil
}

func (b *Buckets) accountBlock(ctx context.Context, region, account string) (*s3access.PublicAccessBlock, error) {
	out, err := b.Control.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(account)},
		func(o *s3control.Options) {
			if region != "" {
				o.Region = region
			}
		})
	if err != nil {
		return noneConfigured(err)
	}
	c := out.PublicAccessBlockConfiguration
	if c == nil {
		return nil, errNoBlock
	}
	return block(c.BlockPublicAcls, c.IgnorePublicAcls, c.BlockPublicPolicy, c.RestrictPublicBuckets), nil
}

var errNoBlock = errors.New("response has no PublicAccessBlockConfiguration")

// noneConfigured reads a failed GetPublicAccessBlock (bucket or account):
// NoSuchPublicAccessBlockConfiguration is an answer, nothing configured,
// which is all four settings off.
func noneConfigured(err error) (*s3access.PublicAccessBlock, error) {
	if awslookup.ErrorCode(err) == "NoSuchPublicAccessBlockConfiguration" {
		return &s3access.PublicAccessBlock{}, nil
	}
	return nil, err
}

// block converts either SDK's configuration; an absent flag is off, as in
// S3's model.
func block(blockAcls, ignoreAcls, blockPolicy, restrict *bool) *s3access.PublicAccessBlock {
	return &s3access.PublicAccessBlock{
		BlockPublicAcls:       aws.ToBool(blockAcls),
		IgnorePublicAcls:      aws.ToBool(ignoreAcls),
		BlockPublicPolicy:     aws.ToBool(blockPolicy),
		RestrictPublicBuckets: aws.ToBool(restrict),
	}
}

// publicGrants returns the bucket ACL's grants to AllUsers or
// AuthenticatedUsers, most access first like s3access.AnalyzeACL.
func (b *Buckets) publicGrants(ctx context.Context, region, bucket string) ([]s3access.ACLGrant, error) {
	out, err := b.S3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket)}, inRegion(region))
	if err != nil {
		return nil, err
	}
	var grants []s3access.ACLGrant
	for _, g := range out.Grants {
		if g.Grantee == nil {
			continue
		}
		// Only Group grantees carry a URI; the URI names the group.
		var group string
		switch aws.ToString(g.Grantee.URI) {
		case s3access.AllUsersURI:
			group = "AllUsers"
		case s3access.AuthenticatedUsersURI:
			group = "AuthenticatedUsers"
		default:
			continue
		}
		grants = append(grants, s3access.ACLGrant{Group: group, Permission: string(g.Permission), Via: "bucket ACL"})
	}
	sort.SliceStable(grants, func(i, j int) bool { return grants[i].Access() > grants[j].Access() })
	return grants, nil
}
