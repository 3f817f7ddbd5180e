package s3access

import (
	"testing"
)

type policyCase struct {
	name       string
	policy     string
	public     bool
	access     Access
	restricted string // condition key that restricts, when not public
}

var policyCases = []policyCase{
	{
		name:   "principal star reads objects",
		policy: `{"Version":"2012-10-17","Statement":[{"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "AWS star as a list among accounts",
		policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]},"Action":["s3:GetObject"],"Resource":"*"}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "AWS star as a string writes",
		policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}}`,
		public: true, access: AccessWrite,
	},
	{
		name:   "s3 star is everything",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`,
		public: true, access: AccessAll,
	},
	{
		name:   "wildcard action classified by coverage",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*Object","Resource":"*"}]}`,
		public: true, access: AccessWrite,
	},
	{
		name:   "get star is read",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"*"}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "metadata only is still public",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetBucketLocation","Resource":"*"}]}`,
		public: true, access: AccessMetadata,
	},
	{
		name:   "policy change grant",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"*"}]}`,
		public: true, access: AccessPermissions,
	},
	{
		name:   "NotAction with Allow and star",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"s3:DeleteBucket","Resource":"*"}]}`,
		public: true, access: AccessAll,
	},
	{
		name:   "NotPrincipal with Allow",
		policy: `{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"*"}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "condition that does not narrow: secure transport",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "referer is spoofable and does not narrow",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:Referer":"https://example.com/*"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "StringNotEquals org leaves everyone else in",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc123def4"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "IfExists passes for anonymous callers",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-abc123def4"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "ForAllValues passes when the key is absent",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:PrincipalOrgPaths":"o-abc123def4/r-ab12/"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "source IP of the whole internet",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "source IP wider than /8",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","0.0.0.0/1"]}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "org ID with a wildcard value",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:PrincipalOrgID":"o-*"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "policy variable is not a fixed value",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:       "org restricted",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123def4"}}}]}`,
		restricted: "aws:PrincipalOrgID",
	},
	{
		name:       "org paths with a wildcard below a fixed org",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-abc123def4/r-ab12/ou-ab12-11111111/*"}}}]}`,
		restricted: "aws:PrincipalOrgPaths",
	},
	{
		name:       "condition key case does not matter",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"AWS:PRINCIPALACCOUNT":"111122223333"}}}]}`,
		restricted: "aws:PrincipalAccount",
	},
	{
		name:       "VPC endpoint",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":["vpce-1a2b3c4d"]}}}]}`,
		restricted: "aws:SourceVpce",
	},
	{
		name:       "VPC",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-111bbb22"}}}]}`,
		restricted: "aws:SourceVpc",
	},
	{
		name:       "narrow source IP",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/48","198.51.100.7"]}}}]}`,
		restricted: "aws:SourceIp",
	},
	{
		name:       "source ARN with account fixed",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:111122223333:trail/*"}}}]}`,
		restricted: "aws:SourceArn",
	},
	{
		name:       "one narrowing condition among others is enough",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:SourceAccount":"111122223333"}}}]}`,
		restricted: "aws:SourceAccount",
	},
	{
		name:       "fixed KMS key for server-side encryption",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*","Condition":{"StringEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}}]}`,
		restricted: "s3:x-amz-server-side-encryption-aws-kms-key-id",
	},
	{
		name:       "every session of one role",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:userid":"AROAEXAMPLEROLEID123:*"}}}]}`,
		restricted: "aws:userid",
	},
	{
		name:   "userid wildcard that is not one role",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"aws:userid":"*"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:       "source IP of exactly /8 is narrow enough",
		policy:     `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
		restricted: "aws:SourceIp",
	},
	{
		name:   "source IP of /7 is public",
		policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/7"}}}]}`,
		public: true, access: AccessRead,
	},
	{
		name:   "deny star never exposes",
		policy: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
	},
	{
		name:   "named account only",
		policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/reader"},"Action":"s3:GetObject","Resource":"*"}]}`,
	},
	{
		name:   "service principal only",
		policy: `{"Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"*"}]}`,
	},
	{
		name:   "policy given as a JSON string",
		policy: `"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}"`,
		public: true, access: AccessRead,
	},
	{
		name:   "effect is case-sensitive like IAM",
		policy: `{"Statement":[{"Effect":"allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`,
	},
}

func TestAnalyzePolicy(t *testing.T) {
	for _, tc := range policyCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tc.policy))
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			v := AnalyzePolicy(p)
			if got := v.IsPublic(); got != tc.public {
				t.Fatalf("IsPublic() = %v, want %v (verdict %+v)", got, tc.public, v)
			}
			if got := v.MaxAccess(); tc.public && got != tc.access {
				t.Errorf("MaxAccess() = %v, want %v", got, tc.access)
			}
			gotRestricted := ""
			if len(v.Restricted) > 0 {
				gotRestricted = v.Restricted[0].By
			}
			if gotRestricted != tc.restricted {
				t.Errorf("restricted by %q, want %q", gotRestricted, tc.restricted)
			}
		})
	}
}

func TestAnalyzePolicyReportsStatementPosition(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"Statement":[
		{"Sid":"Logs","Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"*"},
		{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	v := AnalyzePolicy(p)
	if len(v.Public) != 1 {
		t.Fatalf("got %d public statements, want 1", len(v.Public))
	}
	if got := v.Public[0]; got.Index != 2 || got.Statement.Sid != "Open" || got.Why == "" {
		t.Errorf("got index %d sid %q why %q, want index 2 sid Open and a reason", got.Index, got.Statement.Sid, got.Why)
	}
}

func BenchmarkAnalyzePolicy(b *testing.B) {
	for b.Loop() {
		for _, tc := range policyCases {
			p, err := ParsePolicy([]byte(tc.policy))
			if err != nil {
				b.Fatal(err)
			}
			_ = AnalyzePolicy(p)
		}
	}
}

func FuzzAnalyzePolicy(f *testing.F) {
	for _, tc := range policyCases {
		f.Add(tc.policy)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePolicy([]byte(in))
		if err != nil {
			return
		}
		v := AnalyzePolicy(p)
		for _, s := range v.Public {
			if s.Statement.Effect != "Allow" {
				t.Fatalf("statement with effect %q reported public", s.Statement.Effect)
			}
			if s.Access < AccessMetadata || s.Access > AccessAll {
				t.Fatalf("access %d out of range", s.Access)
			}
		}
	})
}
