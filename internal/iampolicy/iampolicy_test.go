package iampolicy

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"not json", `{"Statement":`},
		{"array", `[1,2]`},
		{"no statement", `{"Version":"2012-10-17"}`},
		{"statement is a number", `{"Statement":5}`},
		{"principal is a number", `{"Statement":[{"Effect":"Allow","Principal":5}]}`},
		{"principal string not star", `{"Statement":[{"Effect":"Allow","Principal":"arn:aws:iam::1:root"}]}`},
		{"action is an object", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":{"a":1}}]}`},
		{"condition value is an object", `{"Statement":[{"Effect":"Allow","Principal":"*","Condition":{"StringEquals":{"k":{"x":1}}}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.in))
			if !errors.Is(err, ErrNotPolicy) {
				t.Fatalf("Parse(%s) = %+v, %v; want ErrNotPolicy", tc.in, p, err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Id":"x","Statement":{"Sid":7,"Effect":"Allow",
		"Principal":{"AWS":["arn:aws:iam::111122223333:root","*"],"Service":"ec2.amazonaws.com"},
		"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":true},"NumericLessThan":{"aws:MultiFactorAuthAge":[3600]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	st := p.Statements[0]
	want := Statement{
		Sid: "7", Effect: "Allow",
		Principal: &Principal{IDs: map[string][]string{"AWS": {"arn:aws:iam::111122223333:root", "*"}, "Service": {"ec2.amazonaws.com"}}},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string][]string{"Bool": {"aws:MultiFactorAuthPresent": {"true"}}, "NumericLessThan": {"aws:MultiFactorAuthAge": {"3600"}}},
	}
	st.Raw = nil
	if !reflect.DeepEqual(st, want) {
		t.Errorf("statement =\n%+v\nwant\n%+v", st, want)
	}
	if !st.Principal.Anyone() {
		t.Error("a principal list holding \"*\" must count as everyone")
	}
	if p.Version != "2012-10-17" || p.ID != "x" {
		t.Errorf("version %q id %q", p.Version, p.ID)
	}
}

func TestStringOrList(t *testing.T) {
	for in, want := range map[string][]string{`"a"`: {"a"}, `["a","b"]`: {"a", "b"}, `null`: nil, ``: nil} {
		got, err := StringOrList([]byte(in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("StringOrList(%s) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := StringOrList([]byte(`{"a":1}`)); err == nil {
		t.Error("an object was accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"<!channel>","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`))
	f.Add([]byte(`"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\"]},\"Condition\":{\"Bool\":{\"k\":[true,1,null]}}}}"`))
	f.Add([]byte(`{"Statement":[{"Sid":7,"NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"NotAction":["a"],"NotResource":"r"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrNotPolicy) {
				t.Fatalf("error %v does not wrap ErrNotPolicy", err)
			}
			return
		}
		if len(p.Statements) == 0 {
			t.Fatal("a policy without statements was accepted")
		}
		for _, st := range p.Statements {
			st.Principal.Anyone()
			st.NotPrincipal.Anyone()
			if !json.Valid(st.Raw) {
				t.Fatalf("statement Raw is not JSON: %q", st.Raw)
			}
		}
	})
}

// FuzzScanPolicy holds the one-pass reader to encoding/json's: whatever
// scanPolicy accepts, parse accepts and reads the same.
func FuzzScanPolicy(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Sid":"<!channel>","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		`"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\"]},\"Condition\":{\"Bool\":{\"k\":[true,1,null]}}}}"`,
		`{"Statement":[{"Sid":7,"NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"NotAction":["a"],"NotResource":"r"}]}`,
		`{"Statement":{"Sid":null,"Action":[],"Condition":{},"Principal":{"AWS":[null]}}}`,
		`{"Statement":[{"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1","n":1.50}},"Condition":{}}]}`,
		`{"statement":[{}]}`,
		`{"Statement":[null]}`,
		`{"Statement":[{"Sid":{"a":1},"Principal":"x"}]}`,
		`"\"{\\\"Statement\\\":{}}\""`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := scanPolicy(data)
		if !ok {
			return
		}
		want, err := parse(data)
		if err != nil {
			t.Fatalf("scanPolicy accepted %q, which parse rejects: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scanPolicy and parse disagree on %q:\n scan %+v\n json %+v", data, got, want)
		}
	})
}

// The recorded policies are read in one pass.
func TestScanPolicyReadsRecordedPolicies(t *testing.T) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]},"Bool":{"aws:SecureTransport":false}}}]}`,
		`"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}}"`,
	} {
		got, ok := scanPolicy([]byte(s))
		want, err := parse([]byte(s))
		if !ok || err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: scan %+v (ok %v), parse %+v (%v)", s, got, ok, want, err)
		}
	}
}
