package s3access

import (
	"strings"
	"testing"
)

func TestBucketStateExposure(t *testing.T) {
	yes, no := true, false
	allOff := &PublicAccessBlock{}
	allOn := &PublicAccessBlock{true, true, true, true}
	restrictOnly := &PublicAccessBlock{RestrictPublicBuckets: true}
	readAll := []ACLGrant{{Group: "AllUsers", Permission: "READ"}}
	for _, tc := range []struct {
		name    string
		state   BucketState
		want    Answer
		reason  string
		warning bool
	}{
		{"public policy, nothing blocks", BucketState{PolicyPublic: &yes, BucketBlock: allOff, AccountBlock: allOff, ACLKnown: true}, Yes, "RestrictPublicBuckets is off", false},
		{"public policy, account restricts", BucketState{PolicyPublic: &yes, BucketBlock: allOff, AccountBlock: restrictOnly, ACLKnown: true}, No, "RestrictPublicBuckets blocks it", false},
		{"public policy, account unknown", BucketState{PolicyPublic: &yes, BucketBlock: allOff, ACLKnown: true}, Unknown, "could not be read", false},
		{"public policy, bucket restricts, account unknown", BucketState{PolicyPublic: &yes, BucketBlock: restrictOnly, ACLKnown: true}, No, "blocks it", false},
		{"public ACL, nothing ignores", BucketState{PolicyPublic: &no, BucketBlock: allOff, AccountBlock: allOff, ACLGrants: readAll, ACLKnown: true}, Yes, "IgnorePublicAcls is off", false},
		{"public ACL, ignored", BucketState{PolicyPublic: &no, BucketBlock: allOn, AccountBlock: allOff, ACLGrants: readAll, ACLKnown: true}, No, "ignore it", false},
		{"private, guard down", BucketState{PolicyPublic: &no, BucketBlock: allOff, AccountBlock: allOff, ACLKnown: true}, No, "not public", true},
		{"private, guard up", BucketState{PolicyPublic: &no, BucketBlock: allOn, AccountBlock: allOn, ACLKnown: true}, No, "not public", false},
		{"nothing known", BucketState{}, Unknown, "could not be read", false},
		{"deleted since", BucketState{Gone: true}, No, "no longer exists", false},
		{"ACL unknown but policy open", BucketState{PolicyPublic: &yes, BucketBlock: allOff, AccountBlock: allOff}, Yes, "ACL could not be read", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.state.Exposure()
			if e.Public != tc.want {
				t.Errorf("Public = %s, want %s (reasons %q)", e.Public, tc.want, e.Reasons)
			}
			if !strings.Contains(strings.Join(e.Reasons, "; "), tc.reason) {
				t.Errorf("reasons %q do not mention %q", e.Reasons, tc.reason)
			}
			if (len(e.Warnings) > 0) != tc.warning {
				t.Errorf("warnings = %q, want some: %v", e.Warnings, tc.warning)
			}
		})
	}
}
