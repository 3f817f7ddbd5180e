// Package awsranges tells whether an IP address belongs to AWS: the IPv4
// and IPv6 prefixes AWS publishes at https://ip-ranges.amazonaws.com/ip-ranges.json
// (every service and region), shipped with trailwatch as data (ranges.txt,
// embedded) because the functions must not depend on the network to decide.
//
// ranges.txt holds the prefixes only, merged (a prefix inside another is
// left out, two halves of one prefix become that prefix), one per line,
// after "# key: value" lines naming where and when the data was taken
// (syncToken, createDate, source). Refresh it with
//
//	go run ./internal/awsranges/refresh
//
// which fetches the official file and rewrites ranges.txt.
package awsranges

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// URL is where AWS publishes its ranges.
const URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"

//go:embed ranges.txt
var shipped []byte

// Info says which publication of the ranges a Set holds.
type Info struct {
	// SyncToken is the publication time in Unix seconds, as ip-ranges.json
	// names it; empty when the data did not come with one.
	SyncToken string
	// CreateDate is the publication's date ("2026-09-05-23-13-09", UTC).
	CreateDate string
	// Source says where the data was taken from.
	Source string
}

// Set is an immutable set of IP prefixes.
//
// It is written here on net/netip rather than taken from a library:
// go4.org/netipx (whose IPSet does this) is not served by the module proxy
// this project builds with; a sorted list of disjoint prefixes with a
// binary search is all the look-up needs.
type Set struct {
	v4, v6 []netip.Prefix // sorted by address, disjoint
}

// loadShipped parses ranges.txt once, on first use (about 10,000
// prefixes: a millisecond, spent only by functions that look one up).
var loadShipped = sync.OnceValues(func() (*Set, Info) {
	s, info, err := Parse(bytes.NewReader(shipped))
	if err != nil {
		// The package's tests parse ranges.txt; a Set that holds nothing
		// makes every address look outside AWS, which fails loud, not open.
		info.Source = "unreadable: " + err.Error()
		return &Set{}, info
	}
	return s, info
})

// Shipped returns the ranges shipped with trailwatch and which publication
// they are.
func Shipped() (*Set, Info) { return loadShipped() }

// New builds a set of the prefixes, merged.
func New(prefixes []netip.Prefix) *Set {
	var v4, v6 []netip.Prefix
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return &Set{v4: merge(v4), v6: merge(v6)}
}

// merge sorts the prefixes of one family and returns the smallest list of
// disjoint prefixes that covers the same addresses.
func merge(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits() // the wider first
	})
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Contains(p.Addr()) {
			continue // sorted: a prefix that starts inside the last one ends inside it
		}
		out = append(out, p)
		// Two halves of one prefix become that prefix, repeatedly.
		for len(out) >= 2 {
			a, b := out[len(out)-2], out[len(out)-1]
			if a.Bits() != b.Bits() || a.Bits() == 0 {
				break
			}
			parent := netip.PrefixFrom(a.Addr(), a.Bits()-1).Masked()
			if parent.Addr() != a.Addr() || !parent.Contains(b.Addr()) {
				break
			}
			out = append(out[:len(out)-2], parent)
		}
	}
	return out
}

// Contains reports whether the address is in the set. An IPv4 address
// written as IPv6 (::ffff:192.0.2.1) is looked up as IPv4; a zone is
// ignored.
func (s *Set) Contains(a netip.Addr) bool {
	if s == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	list := s.v6
	if a.Is4() {
		list = s.v4
	}
	// The first prefix starting after a; the one before it is the only
	// one that can hold a, the prefixes being disjoint.
	i, _ := slices.BinarySearchFunc(list, a, func(p netip.Prefix, a netip.Addr) int {
		if p.Addr().Compare(a) <= 0 {
			return -1
		}
		return 1
	})
	return i > 0 && list[i-1].Contains(a)
}

// Lookup parses an address and reports whether it is in the set; ok is
// false when the text is not an IP address (CloudTrail writes an AWS
// service's name, "ec2.amazonaws.com", or "AWS Internal" there).
func (s *Set) Lookup(text string) (in, ok bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(text))
	if err != nil {
		return false, false
	}
	return s.Contains(a), true
}

// Len is the number of IPv4 and of IPv6 prefixes after merging.
func (s *Set) Len() (v4, v6 int) { return len(s.v4), len(s.v6) }

// Prefixes returns the set's prefixes, IPv4 first, each family sorted.
func (s *Set) Prefixes() []netip.Prefix {
	return append(slices.Clip(slices.Clone(s.v4)), s.v6...)
}

// Parse reads the format of ranges.txt: "# key: value" lines (syncToken,
// createDate, source; other comments are ignored) and one prefix a line.
func Parse(r io.Reader) (*Set, Info, error) {
	var (
		info     Info
		prefixes []netip.Prefix
	)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if c, ok := strings.CutPrefix(line, "#"); ok {
			key, value, _ := strings.Cut(strings.TrimSpace(c), ":")
			value = strings.TrimSpace(value)
			switch key {
			case "syncToken":
				info.SyncToken = value
			case "createDate":
				info.CreateDate = value
			case "source":
				info.Source = value
			}
			continue
		}
		p, err := netip.ParsePrefix(line)
		if err != nil {
			return nil, Info{}, fmt.Errorf("aws ranges line %d: %w", n, err)
		}
		prefixes = append(prefixes, p)
	}
	if err := sc.Err(); err != nil {
		return nil, Info{}, fmt.Errorf("read aws ranges: %w", err)
	}
	if len(prefixes) == 0 {
		return nil, Info{}, errors.New("aws ranges: no prefixes")
	}
	return New(prefixes), info, nil
}

// Write writes the set in the format Parse reads.
func (s *Set) Write(w io.Writer, info Info) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# AWS IP address ranges (IPv4 and IPv6 prefixes of every service and region), merged.")
	fmt.Fprintln(bw, "# Generated by: go run ./internal/awsranges/refresh (fetches "+URL+")")
	for _, kv := range [][2]string{{"syncToken", info.SyncToken}, {"createDate", info.CreateDate}, {"source", info.Source}} {
		if kv[1] != "" {
			fmt.Fprintf(bw, "# %s: %s\n", kv[0], oneLine(kv[1]))
		}
	}
	for _, p := range s.Prefixes() {
		fmt.Fprintln(bw, p.String())
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write aws ranges: %w", err)
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Published is the shape of ip-ranges.json (the fields trailwatch uses).
type Published struct {
	SyncToken  string `json:"syncToken"`
	CreateDate string `json:"createDate"`
	Prefixes   []struct {
		IPPrefix string `json:"ip_prefix"`
	} `json:"prefixes"`
	IPv6Prefixes []struct {
		IPv6Prefix string `json:"ipv6_prefix"`
	} `json:"ipv6_prefixes"`
}

// FromPublished reads ip-ranges.json. It fails on a prefix that does not
// parse, or when either family is missing: a truncated download must not
// replace good data.
func FromPublished(data []byte) (*Set, Info, error) {
	var pub Published
	if err := json.Unmarshal(data, &pub); err != nil {
		return nil, Info{}, fmt.Errorf("decode ip-ranges.json: %w", err)
	}
	if len(pub.Prefixes) == 0 || len(pub.IPv6Prefixes) == 0 {
		return nil, Info{}, fmt.Errorf("ip-ranges.json has %d IPv4 and %d IPv6 prefixes: want both", len(pub.Prefixes), len(pub.IPv6Prefixes))
	}
	prefixes := make([]netip.Prefix, 0, len(pub.Prefixes)+len(pub.IPv6Prefixes))
	add := func(text string, want6 bool) error {
		p, err := netip.ParsePrefix(text)
		if err != nil {
			return fmt.Errorf("ip-ranges.json prefix: %w", err)
		}
		if p.Addr().Is6() != want6 {
			return fmt.Errorf("ip-ranges.json prefix %s in the wrong list", text)
		}
		prefixes = append(prefixes, p)
		return nil
	}
	for _, p := range pub.Prefixes {
		if err := add(p.IPPrefix, false); err != nil {
			return nil, Info{}, err
		}
	}
	for _, p := range pub.IPv6Prefixes {
		if err := add(p.IPv6Prefix, true); err != nil {
			return nil, Info{}, err
		}
	}
	return New(prefixes), Info{SyncToken: pub.SyncToken, CreateDate: pub.CreateDate, Source: URL}, nil
}
