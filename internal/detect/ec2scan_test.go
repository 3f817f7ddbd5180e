package detect

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

var ec2ScanSeeds = []string{
	`{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`,
	`{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-1","SecurityGroupRule":{"SecurityGroupRuleId":"sgr-1","SecurityGroupRule":{"IpProtocol":"-1","CidrIpv4":"0.0.0.0/0"}}}}`,
	`{"groupid":"sg-1"}`,
	`{"groupId":null,"groupId":"sg-2","x":[1,{}]}`,
	`{"GroupId":"exact or folded"}`,
	`{"groupId":1,"vpcId":}`,
	`[{"a":1},{"b":2}]`,
	`[]`,
	`[1,]`,
}

// FuzzEC2Decode holds ec2Decode's one-pass reading to encoding/json's.
func FuzzEC2Decode(f *testing.F) {
	for _, s := range ec2ScanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var got sgRequest
		if scanRawFields(in, &got) {
			var want sgRequest
			if err := json.Unmarshal(in, &want); err != nil {
				t.Fatalf("scanRawFields read %q, which encoding/json rejects: %v", in, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("scanRawFields and encoding/json disagree on %q:\n%+v\n%+v", in, got, want)
			}
		}
		// ec2Items trims Unicode space first, as it always did.
		if trimmed := bytes.TrimSpace(in); len(trimmed) > 0 && trimmed[0] == '[' {
			var want []json.RawMessage
			if json.Unmarshal(trimmed, &want) != nil {
				want = nil
			}
			if got := ec2Items(in); !reflect.DeepEqual(got, want) {
				t.Fatalf("ec2Items(%q) = %q, encoding/json %q", in, got, want)
			}
		}
	})
}

// A struct that is not all raw fields, or a key that matches only
// case-insensitively, goes to encoding/json.
func TestScanRawFieldsLeavesWhatItCannotRead(t *testing.T) {
	var rq sgRequest
	if scanRawFields([]byte(`{"GROUPID":"sg-1"}`), &rq) {
		t.Error("a case-insensitive key was read")
	}
	var mixed struct {
		A json.RawMessage `json:"a"`
		B string          `json:"b"`
	}
	if scanRawFields([]byte(`{"a":1}`), &mixed) {
		t.Error("a struct with a string field was read")
	}
	if !ec2Decode([]byte(`{"GROUPID":"sg-1"}`), &rq) || ec2Text(rq.GroupID) != "sg-1" {
		t.Errorf("ec2Decode did not fall back to encoding/json: %+v", rq)
	}
}
