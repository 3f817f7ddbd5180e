package s3access_test

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/s3access"
)

// A policy with Principal "*" is public unless a condition pins it to fixed
// values of keys that identify an organization, account, network or source.
func ExampleAnalyzePolicy() {
	for _, doc := range []string{
		`{"Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		`{"Statement":[{"Sid":"Org","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
			"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}`,
	} {
		p, err := s3access.ParsePolicy([]byte(doc))
		if err != nil {
			panic(err)
		}
		v := s3access.AnalyzePolicy(p)
		if v.IsPublic() {
			fmt.Printf("public: statement %d lets everyone %s\n", v.Public[0].Index, v.MaxAccess())
		} else {
			fmt.Printf("not public: restricted by %s\n", v.Restricted[0].By)
		}
	}
	// Output:
	// public: statement 1 lets everyone read objects
	// not public: restricted by aws:PrincipalOrgID
}
