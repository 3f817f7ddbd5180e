package s3access

import (
	"reflect"
	"testing"
)

type aclCase struct {
	name   string
	params string
	canned string
	public []ACLGrant
}

var aclCases = []aclCase{
	{
		name:   "single grant object to AllUsers",
		params: `{"bucketName":"b","AccessControlPolicy":{"AccessControlList":{"Grant":{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/global/AllUsers"},"Permission":"READ"}}}}`,
		public: []ACLGrant{{Group: "AllUsers", Permission: "READ", Via: "grant in the request body"}},
	},
	{
		name: "grant list with owner and AuthenticatedUsers write",
		params: `{"bucketName":"b","AccessControlPolicy":{"AccessControlList":{"Grant":[
			{"Grantee":{"xsi:type":"CanonicalUser","ID":"abc"},"Permission":"FULL_CONTROL"},
			{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},"Permission":"WRITE"}]},"Owner":{"ID":"abc"}}}`,
		public: []ACLGrant{{Group: "AuthenticatedUsers", Permission: "WRITE", Via: "grant in the request body"}},
	},
	{
		name:   "canned public-read as a list",
		params: `{"bucketName":"b","acl":[""],"x-amz-acl":["public-read"]}`,
		canned: "public-read",
		public: []ACLGrant{{Group: "AllUsers", Permission: "READ", Via: "canned ACL public-read"}},
	},
	{
		name:   "canned public-read-write as a string",
		params: `{"bucketName":"b","x-amz-acl":"public-read-write"}`,
		canned: "public-read-write",
		public: []ACLGrant{
			{Group: "AllUsers", Permission: "WRITE", Via: "canned ACL public-read-write"},
			{Group: "AllUsers", Permission: "READ", Via: "canned ACL public-read-write"},
		},
	},
	{
		name:   "canned authenticated-read",
		params: `{"bucketName":"b","x-amz-acl":["authenticated-read"]}`,
		canned: "authenticated-read",
		public: []ACLGrant{{Group: "AuthenticatedUsers", Permission: "READ", Via: "canned ACL authenticated-read"}},
	},
	{
		name:   "grant header",
		params: `{"bucketName":"b","x-amz-grant-read":"id=\"abc\", uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""}`,
		public: []ACLGrant{{Group: "AllUsers", Permission: "READ", Via: "x-amz-grant-read header"}},
	},
	{
		name:   "canned private",
		params: `{"bucketName":"b","x-amz-acl":["private"]}`,
		canned: "private",
	},
	{
		name:   "log delivery group is not public",
		params: `{"bucketName":"b","AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/s3/LogDelivery"},"Permission":"WRITE"}]}}}`,
	},
	{
		name:   "owner only",
		params: `{"bucketName":"b","AccessControlPolicy":{"AccessControlList":{"Grant":{"Grantee":{"xsi:type":"CanonicalUser","ID":"abc"},"Permission":"FULL_CONTROL"}}}}`,
	},
}

func TestAnalyzeACL(t *testing.T) {
	for _, tc := range aclCases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := AnalyzeACL([]byte(tc.params))
			if err != nil {
				t.Fatalf("AnalyzeACL: %v", err)
			}
			if v.CannedACL != tc.canned {
				t.Errorf("CannedACL = %q, want %q", v.CannedACL, tc.canned)
			}
			if !reflect.DeepEqual(v.Public, tc.public) {
				t.Errorf("Public =\n%+v\nwant\n%+v", v.Public, tc.public)
			}
			if v.IsPublic() != (len(tc.public) > 0) {
				t.Errorf("IsPublic() = %v with %d grants", v.IsPublic(), len(tc.public))
			}
		})
	}
}

func TestAnalyzeACLRejects(t *testing.T) {
	for _, in := range []string{`[]`, `{"x-amz-acl":{"a":1}}`, `{"AccessControlPolicy":{"AccessControlList":{"Grant":7}}}`, `{"AccessControlPolicy":"x"}`} {
		if v, err := AnalyzeACL([]byte(in)); err == nil {
			t.Errorf("AnalyzeACL(%s) = %+v, nil; want an error", in, v)
		}
	}
}

func TestParsePublicAccessBlock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params string
		want   PublicAccessBlock
		ok     bool
	}{
		{
			name:   "console shape",
			params: `{"publicAccessBlock":[""],"PublicAccessBlockConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","RestrictPublicBuckets":true,"BlockPublicPolicy":false,"BlockPublicAcls":false,"IgnorePublicAcls":true},"bucketName":"b"}`,
			want:   PublicAccessBlock{IgnorePublicAcls: true, RestrictPublicBuckets: true},
			ok:     true,
		},
		{
			name:   "strings and missing flags default to off",
			params: `{"PublicAccessBlockConfiguration":{"BlockPublicAcls":"true"}}`,
			want:   PublicAccessBlock{BlockPublicAcls: true},
			ok:     true,
		},
		{
			name:   "all on",
			params: `{"PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}}`,
			want:   PublicAccessBlock{true, true, true, true},
			ok:     true,
		},
		{
			name:   "no configuration",
			params: `{"bucketName":"b"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ParsePublicAccessBlock([]byte(tc.params))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if _, _, err := ParsePublicAccessBlock([]byte(`{"PublicAccessBlockConfiguration":{"BlockPublicAcls":"maybe"}}`)); err == nil {
		t.Error("a non-boolean flag was accepted")
	}
	if got := (PublicAccessBlock{BlockPublicAcls: true, RestrictPublicBuckets: true}).Off(); !reflect.DeepEqual(got, []string{"IgnorePublicAcls", "BlockPublicPolicy"}) {
		t.Errorf("Off() = %v", got)
	}
}

func FuzzAnalyzeACL(f *testing.F) {
	for _, tc := range aclCases {
		f.Add(tc.params)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := AnalyzeACL([]byte(in))
		if err != nil {
			return
		}
		for _, g := range v.Public {
			if g.Group != "AllUsers" && g.Group != "AuthenticatedUsers" {
				t.Fatalf("public grant to %q", g.Group)
			}
		}
		_, _, _ = ParsePublicAccessBlock([]byte(in))
	})
}
