package s3access

import (
	"fmt"
	"strings"
)

// BucketState is what S3 says about a bucket right now. A nil pointer (or
// ACLKnown false) means that part could not be read; Missing says why.
type BucketState struct {
	// PolicyPublic is GetBucketPolicyStatus's IsPublic (false when the
	// bucket has no policy).
	PolicyPublic *bool
	// BucketBlock is the bucket's Block Public Access configuration (all off
	// when none is configured).
	BucketBlock *PublicAccessBlock
	// AccountBlock is the account's Block Public Access configuration.
	AccountBlock *PublicAccessBlock
	// ACLGrants are the bucket ACL's grants to AllUsers or AuthenticatedUsers.
	ACLGrants []ACLGrant
	ACLKnown  bool
	// Gone is set when S3 answered NoSuchBucket: the bucket no longer exists.
	Gone bool
	// Missing lists the parts that could not be read, each with its reason.
	Missing []string
}

// Answer is a yes/no/unknown verdict.
type Answer string

// Answers.
const (
	Yes     Answer = "yes"
	No      Answer = "no"
	Unknown Answer = "unknown"
)

// Exposure answers "is the bucket public right now?" and explains why.
type Exposure struct {
	Public  Answer
	Reasons []string
	// Warnings are true statements worth knowing even when the bucket is
	// not public, e.g. that nothing would block a public policy.
	Warnings []string
}

// flag is a Block Public Access setting that may be unknown.
type flag struct{ on, known bool }

func effective(bucket, account *PublicAccessBlock, pick func(PublicAccessBlock) bool) flag {
	switch {
	case bucket != nil && pick(*bucket), account != nil && pick(*account):
		return flag{on: true, known: true}
	case bucket != nil && account != nil:
		return flag{on: false, known: true}
	}
	return flag{}
}

// Exposure combines policy status, ACL grants and both levels of Block
// Public Access the way S3 does: a public policy is blocked by
// RestrictPublicBuckets, public ACL grants are ignored under IgnorePublicAcls,
// and a setting on at either level wins.
func (s BucketState) Exposure() Exposure {
	restrict := effective(s.BucketBlock, s.AccountBlock, func(p PublicAccessBlock) bool { return p.RestrictPublicBuckets })
	ignore := effective(s.BucketBlock, s.AccountBlock, func(p PublicAccessBlock) bool { return p.IgnorePublicAcls })
	blockPolicy := effective(s.BucketBlock, s.AccountBlock, func(p PublicAccessBlock) bool { return p.BlockPublicPolicy })

	var e Exposure
	if s.Gone {
		return Exposure{Public: No, Reasons: []string{"the bucket no longer exists"}}
	}
	open, unknown := false, false

	switch {
	case s.PolicyPublic == nil:
		unknown = true
		e.Reasons = append(e.Reasons, "policy status could not be read")
	case *s.PolicyPublic && restrict.known && restrict.on:
		e.Reasons = append(e.Reasons, "the bucket policy is public, but RestrictPublicBuckets blocks it")
	case *s.PolicyPublic && restrict.known:
		open = true
		e.Reasons = append(e.Reasons, "the bucket policy is public and RestrictPublicBuckets is off at bucket and account level")
	case *s.PolicyPublic:
		unknown = true
		e.Reasons = append(e.Reasons, "the bucket policy is public; whether RestrictPublicBuckets blocks it could not be read")
	default:
		e.Reasons = append(e.Reasons, "the bucket policy is not public")
	}

	switch {
	case !s.ACLKnown:
		unknown = true
		e.Reasons = append(e.Reasons, "the bucket ACL could not be read")
	case len(s.ACLGrants) == 0:
		e.Reasons = append(e.Reasons, "the bucket ACL grants nothing to AllUsers or AuthenticatedUsers")
	case ignore.known && ignore.on:
		e.Reasons = append(e.Reasons, fmt.Sprintf("the ACL grants %s, but IgnorePublicAcls makes S3 ignore it", grantList(s.ACLGrants)))
	case ignore.known:
		open = true
		e.Reasons = append(e.Reasons, fmt.Sprintf("the ACL grants %s and IgnorePublicAcls is off", grantList(s.ACLGrants)))
	default:
		unknown = true
		e.Reasons = append(e.Reasons, fmt.Sprintf("the ACL grants %s; whether IgnorePublicAcls applies could not be read", grantList(s.ACLGrants)))
	}

	switch {
	case open:
		e.Public = Yes
	case unknown:
		e.Public = Unknown
	default:
		e.Public = No
	}
	if e.Public != Yes && blockPolicy.known && !blockPolicy.on && restrict.known && !restrict.on {
		e.Warnings = append(e.Warnings, "nothing blocks a public bucket policy: BlockPublicPolicy and RestrictPublicBuckets are off at bucket and account level")
	}
	return e
}

func grantList(gs []ACLGrant) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.Group + " " + g.Permission
	}
	return strings.Join(parts, ", ")
}
