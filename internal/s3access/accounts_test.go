package s3access_test

import (
	"slices"
	"testing"

	"github.com/trailwatch/trailwatch/internal/s3access"
)

func TestOtherAccounts(t *testing.T) {
	const own = "111122223333"
	for _, tt := range []struct {
		name, policy string
		want         [][]string // accounts per reported statement
		access       []s3access.Access
	}{
		{"account root ARN", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"s3:GetObject","Resource":"*"}}`,
			[][]string{{"193672423079"}}, []s3access.Access{s3access.AccessRead}},
		{"bare ID, STS ARN and own account", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["999988887777","arn:aws-us-gov:sts::444455556666:assumed-role/r/s","arn:aws:iam::111122223333:role/x"]},"Action":["s3:PutObject"],"Resource":"*"}]}`,
			[][]string{{"999988887777", "444455556666"}}, []s3access.Access{s3access.AccessWrite}},
		{"own account only", `{"Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:root"]},"Action":"s3:*","Resource":"*"}}`, nil, nil},
		{"deny", `{"Statement":{"Effect":"Deny","Principal":{"AWS":"999988887777"},"Action":"s3:*","Resource":"*"}}`, nil, nil},
		{"everyone is public, not an account", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}`, nil, nil},
		{"service and federated principals", `{"Statement":{"Effect":"Allow","Principal":{"Service":"999988887777","Federated":"arn:aws:iam::999988887777:saml-provider/x"},"Action":"s3:GetObject","Resource":"*"}}`, nil, nil},
		{"look-alikes", `{"Statement":{"Effect":"Allow","Principal":{"AWS":["99998888777","arn:aws:s3:::999988887777","arn:aws:iam:us-east-1:999988887777:root","arn:evil:iam::999988887777:root"]},"Action":"s3:GetObject","Resource":"*"}}`, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s3access.ParsePolicy([]byte(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			got := s3access.OtherAccounts(p, own)
			if len(got) != len(tt.want) {
				t.Fatalf("%d statements, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, g := range got {
				if !slices.Equal(g.Accounts, tt.want[i]) || g.Access != tt.access[i] {
					t.Errorf("statement %d: %v %s, want %v %s", i, g.Accounts, g.Access, tt.want[i], tt.access[i])
				}
			}
		})
	}
}
