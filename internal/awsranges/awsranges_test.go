package awsranges

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestShippedRanges loads ranges.txt and checks addresses whose owner is
// known (checked against the source data with Python's ipaddress module
// when the data was taken).
func TestShippedRanges(t *testing.T) {
	set, info := Shipped()
	if strings.HasPrefix(info.Source, "unreadable") {
		t.Fatalf("ranges.txt: %s", info.Source)
	}
	if info.CreateDate == "" && info.SyncToken == "" {
		t.Errorf("ranges.txt records neither createDate nor syncToken: %+v", info)
	}
	v4, v6 := set.Len()
	if v4 < 500 || v6 < 500 {
		t.Errorf("ranges.txt has %d IPv4 and %d IPv6 prefixes, want hundreds of each", v4, v6)
	}
	tests := []struct {
		addr string
		aws  bool
	}{
		{"52.95.110.1", true},  // AMAZON, us-east-1
		{"3.5.140.1", true},    // S3, ap-northeast-2
		{"54.239.0.1", true},   // AMAZON
		{"13.32.0.1", true},    // CLOUDFRONT
		{"18.208.0.1", true},   // EC2, us-east-1
		{"35.180.0.1", true},   // EC2, eu-west-3
		{"2600:1f18::1", true}, // EC2, us-east-1
		{"2a05:d018::1", true}, // EC2, eu-west-1
		{"::ffff:18.208.0.1", true},
		{"8.8.8.8", false},              // Google DNS
		{"1.1.1.1", false},              // Cloudflare
		{"34.80.0.1", false},            // Google Cloud
		{"20.1.0.1", false},             // Microsoft
		{"198.51.100.44", false},        // TEST-NET-2
		{"203.0.113.5", false},          // TEST-NET-3
		{"10.0.0.1", false},             // private
		{"2001:4860:4860::8888", false}, // Google DNS
		{"2001:db8::1", false},          // documentation
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			in, ok := set.Lookup(tt.addr)
			if !ok || in != tt.aws {
				t.Errorf("Lookup(%q) = %v, %v; want %v, true", tt.addr, in, ok, tt.aws)
			}
		})
	}
}

func TestShippedFileIsWhatWriteProduces(t *testing.T) {
	set, info := Shipped()
	var buf bytes.Buffer
	if err := set.Write(&buf, info); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), shipped) {
		t.Error("ranges.txt is not in the merged form refresh writes: regenerate it with go run ./internal/awsranges/refresh")
	}
}

func TestLookupNotAnAddress(t *testing.T) {
	set, _ := Shipped()
	for _, s := range []string{"ec2.amazonaws.com", "AWS Internal", "", "52.95.110.1/32", "999.1.1.1"} {
		if in, ok := set.Lookup(s); ok || in {
			t.Errorf("Lookup(%q) = %v, %v; want false, false", s, in, ok)
		}
	}
	var none *Set
	if none.Contains(netip.MustParseAddr("52.95.110.1")) {
		t.Error("a nil set contains an address")
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name     string
		in, want []string
	}{
		{"inside another", []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32"}, []string{"10.0.0.0/8"}},
		{"halves join", []string{"10.0.1.0/24", "10.0.0.0/24"}, []string{"10.0.0.0/23"}},
		{"quarters join twice", []string{"10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/25"}, []string{"10.0.0.0/24"}},
		{"neighbours of other parents stay", []string{"10.0.1.0/24", "10.0.2.0/24"}, []string{"10.0.1.0/24", "10.0.2.0/24"}},
		{"host bits masked", []string{"10.0.0.7/24"}, []string{"10.0.0.0/24"}},
		{"families apart", []string{"2600:1f18::/33", "2600:1f18:8000::/33", "3.0.0.0/9"}, []string{"3.0.0.0/9", "2600:1f18::/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []netip.Prefix
			for _, s := range tt.in {
				ps = append(ps, netip.MustParsePrefix(s))
			}
			var got []string
			for _, p := range New(ps).Prefixes() {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("New(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestContainsAgreesWithLinearScan holds the binary search to a plain scan
// of the unmerged prefixes.
func TestContainsAgreesWithLinearScan(t *testing.T) {
	raw := []netip.Prefix{
		netip.MustParsePrefix("3.0.0.0/15"), netip.MustParsePrefix("3.2.0.0/24"),
		netip.MustParsePrefix("3.2.2.0/23"), netip.MustParsePrefix("52.95.110.0/24"),
		netip.MustParsePrefix("52.95.111.0/24"), netip.MustParsePrefix("2600:1f18::/32"),
	}
	set := New(slices.Clone(raw))
	for _, s := range []string{"2.255.255.255", "3.0.0.0", "3.1.255.255", "3.2.0.255", "3.2.1.0", "3.2.2.0", "3.2.3.255",
		"3.2.4.0", "52.95.109.255", "52.95.110.0", "52.95.111.255", "52.95.112.0", "2600:1f18::", "2600:1f17:ffff::1", "2600:1f19::"} {
		a := netip.MustParseAddr(s)
		want := slices.ContainsFunc(raw, func(p netip.Prefix) bool { return p.Contains(a) })
		if got := set.Contains(a); got != want {
			t.Errorf("Contains(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	set, info, err := Parse(strings.NewReader("# a comment\n# syncToken: 1757117862\n# createDate: 2026-09-06-00-17-42\n# source: test\n\n52.95.110.0/24\n2600:1f18::/32\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Info{SyncToken: "1757117862", CreateDate: "2026-09-06-00-17-42", Source: "test"}); info != want {
		t.Errorf("info = %+v, want %+v", info, want)
	}
	if v4, v6 := set.Len(); v4 != 1 || v6 != 1 {
		t.Errorf("Len = %d, %d; want 1, 1", v4, v6)
	}
	for _, bad := range []string{"", "# only comments\n", "52.95.110.0/24\nnot a prefix\n", "52.95.110.1\n"} {
		if _, _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", bad)
		}
	}
}

const samplePublished = `{
  "syncToken": "1757117862",
  "createDate": "2026-09-06-00-17-42",
  "prefixes": [
    {"ip_prefix": "3.4.12.4/32", "region": "eu-west-1", "service": "AMAZON", "network_border_group": "eu-west-1"},
    {"ip_prefix": "52.95.110.0/24", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
    {"ip_prefix": "52.95.110.0/24", "region": "us-east-1", "service": "ROUTE53", "network_border_group": "us-east-1"}
  ],
  "ipv6_prefixes": [
    {"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"},
    {"ipv6_prefix": "2600:1f18:8000::/33", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"}
  ]
}`

func TestFromPublished(t *testing.T) {
	set, info, err := FromPublished([]byte(samplePublished))
	if err != nil {
		t.Fatal(err)
	}
	if info.SyncToken != "1757117862" || info.CreateDate != "2026-09-06-00-17-42" || info.Source != URL {
		t.Errorf("info = %+v", info)
	}
	var got []string
	for _, p := range set.Prefixes() {
		got = append(got, p.String())
	}
	if want := []string{"3.4.12.4/32", "52.95.110.0/24", "2600:1f18::/32"}; !slices.Equal(got, want) {
		t.Errorf("prefixes = %v, want %v", got, want)
	}
	for name, bad := range map[string]string{
		"not json":      `{"prefixes": [`,
		"no ipv6":       `{"prefixes": [{"ip_prefix": "3.4.12.4/32"}], "ipv6_prefixes": []}`,
		"bad prefix":    `{"prefixes": [{"ip_prefix": "3.4.12/32"}], "ipv6_prefixes": [{"ipv6_prefix": "2600:1f18::/33"}]}`,
		"wrong family":  `{"prefixes": [{"ip_prefix": "2600:1f18::/33"}], "ipv6_prefixes": [{"ipv6_prefix": "2600:1f18::/33"}]}`,
		"empty":         `{}`,
		"ipv4 as ipv6s": `{"prefixes": [{"ip_prefix": "3.4.12.4/32"}], "ipv6_prefixes": [{"ipv6_prefix": "3.4.12.4/32"}]}`,
	} {
		if _, _, err := FromPublished([]byte(bad)); err == nil {
			t.Errorf("%s: FromPublished succeeded, want an error", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("# syncToken: 1\n52.95.110.0/24\n2600:1f18::/32\n"))
	f.Add([]byte(samplePublished))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, info, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What Write produces, Parse reads back to the same set.
		var buf bytes.Buffer
		if err := set.Write(&buf, info); err != nil {
			t.Fatal(err)
		}
		again, _, err := Parse(&buf)
		if err != nil {
			t.Fatalf("Parse of Write's output: %v", err)
		}
		if !slices.Equal(set.Prefixes(), again.Prefixes()) {
			t.Errorf("round trip changed the set")
		}
		_, _, _ = FromPublished(data)
	})
}

func BenchmarkLookup(b *testing.B) {
	set, _ := Shipped()
	for b.Loop() {
		set.Lookup("198.51.100.44")
		set.Lookup("52.95.110.1")
	}
}
