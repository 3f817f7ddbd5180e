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
	`{"items":[{"a":1}],"Item":{"b":2}}`,
	`{"ITEMS":null}`,
	`{"x":1}`,
	`{}`,
	`{"item\u0073":[1]}`,
}

// FuzzEC2Decode holds ec2Decode's one-pass reading to encoding/json's.
func FuzzEC2Decode(f *testing.F) {
	for _, s := range ec2ScanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// ec2Decode decodes as encoding/json does, partly decoded values
		// of broken input included.
		var got, want sgRequest
		if ec2Decode(in, &got) {
			_ = json.Unmarshal(bytes.TrimSpace(in), &want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ec2Decode and encoding/json disagree on %q:\n%+v\n%+v", in, got, want)
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
		// ec2Items reads an object's list member in one pass as
		// encoding/json does.
		if items, members, ok := ec2ItemsMember(in); ok {
			wantItems, wantMembers, wantOK := ec2ItemsMemberJSON(bytes.TrimSpace(in))
			if !wantOK || !bytes.Equal(items, wantItems) || (items == nil) != (wantItems == nil) || members != wantMembers {
				t.Fatalf("ec2ItemsMember(%q) = %q, %d; encoding/json %q, %d, %v", in, items, members, wantItems, wantMembers, wantOK)
			}
		}
	})
}

// A key that matches only case-insensitively is still read, by
// encoding/json.
func TestEC2DecodeFoldedKey(t *testing.T) {
	var rq sgRequest
	if !ec2Decode([]byte(`{"GROUPID":"sg-1"}`), &rq) || ec2Text(rq.GroupID) != "sg-1" {
		t.Errorf("ec2Decode did not fall back to encoding/json: %+v", rq)
	}
}

// FuzzCompactJSON: skipping json.Compact for input without whitespace
// gives what json.Compact gives.
func FuzzCompactJSON(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2]}`, `{"a":"x y"}`, `{"a":"\" "}`, `{"a":"\\"} `, `[1,2]`, `{bad`, "{\"a\":\"\t\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var buf bytes.Buffer
		want := string(raw)
		if json.Compact(&buf, raw) == nil {
			want = buf.String()
		}
		if got := compactJSON(raw); got != want {
			t.Fatalf("compactJSON(%q) = %q, json.Compact %q", raw, got, want)
		}
	})
}
