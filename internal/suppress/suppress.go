// Package suppress holds allow-lists: rules that silence a detection for
// named principals (a CI deploy role), accounts or source IP ranges. A
// suppressed finding is logged with the event's ID and the rule's reason,
// never dropped silently, and detections of tampering with the audit trail
// cannot be silenced unless the rule says force.
package suppress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// Rule silences the findings it matches.
type Rule struct {
	// Detections lists detection IDs; "*" means every detection.
	Detections []string `json:"detections"`
	// Principals are patterns ("*" matches any run of characters, "?" one)
	// compared with the caller's ARN, the ARN and name of the role behind a
	// session, and the IAM user name: "arn:aws:iam::111122223333:role/ci-deploy",
	// "ci-deploy", "*:assumed-role/terraform-*".
	Principals []string `json:"principals,omitempty"`
	// Accounts are account IDs the event belongs to.
	Accounts []string `json:"accounts,omitempty"`
	// SourceCIDRs are ranges of the caller's source IP address.
	SourceCIDRs []string `json:"sourceCidrs,omitempty"`
	// Reason says why; it is logged with every suppressed finding.
	Reason string `json:"reason"`
	// Force lets the rule silence protected detections (trail tampering).
	Force bool `json:"force,omitempty"`
}

var accountRe = lazyre.New(`^\d{12}$`)

// Validate checks a rule. known lists the catalog's detection IDs; nil
// skips that check.
func (r Rule) Validate(known []string) error {
	var errs []error
	if len(r.Detections) == 0 {
		errs = append(errs, errors.New(`no detections (use "*" for all)`))
	}
	for _, id := range r.Detections {
		if id != "*" && known != nil && !contains(known, id) {
			errs = append(errs, fmt.Errorf("unknown detection %q", id))
		}
	}
	if len(r.Principals)+len(r.Accounts)+len(r.SourceCIDRs) == 0 {
		errs = append(errs, errors.New("no principals, accounts or sourceCidrs: a rule must say whose events it silences"))
	}
	for _, p := range r.Principals {
		if strings.Trim(p, "*?") == "" {
			errs = append(errs, fmt.Errorf("principal pattern %q matches everyone", p))
		}
	}
	for _, a := range r.Accounts {
		if !accountRe.MatchString(a) {
			errs = append(errs, fmt.Errorf("account %q is not a 12-digit account ID", a))
		}
	}
	for _, c := range r.SourceCIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			errs = append(errs, fmt.Errorf("source CIDR %q: %v", c, err))
		}
	}
	if strings.TrimSpace(r.Reason) == "" {
		errs = append(errs, errors.New("no reason"))
	}
	return errors.Join(errs...)
}

// Validate checks every rule, naming its position.
func Validate(rules []Rule, known []string) error {
	var errs []error
	for i, r := range rules {
		if err := r.Validate(known); err != nil {
			errs = append(errs, fmt.Errorf("suppression %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

// Verdict is the outcome of checking one finding.
type Verdict struct {
	// Rule is the 1-based position of the rule that silences the finding,
	// 0 when none does.
	Rule   int
	Reason string
	// Refused is set when a rule matched a protected detection without
	// force: the finding is kept and the refusal should be logged.
	Refused int
}

// Check decides whether the rules silence finding f of record rec. All the
// criteria a rule gives must hold; within one criterion any value does.
func Check(rules []Rule, f detect.Finding, rec *cloudtrail.Record) Verdict {
	var v Verdict
	for i, r := range rules {
		if !r.matches(f.Detection.ID, rec) {
			continue
		}
		if f.Detection.Protected && !r.Force {
			if v.Refused == 0 {
				v.Refused = i + 1
			}
			continue
		}
		return Verdict{Rule: i + 1, Reason: r.Reason, Refused: v.Refused}
	}
	return v
}

func (r Rule) matches(detection string, rec *cloudtrail.Record) bool {
	if !contains(r.Detections, "*") && !contains(r.Detections, detection) {
		return false
	}
	if len(r.Principals) > 0 && !anyPattern(r.Principals, principalNames(rec)) {
		return false
	}
	if len(r.Accounts) > 0 && !contains(r.Accounts, rec.Account()) {
		return false
	}
	if len(r.SourceCIDRs) > 0 && !inRanges(r.SourceCIDRs, rec.SourceIPAddress) {
		return false
	}
	return true
}

// principalNames are the names a principal pattern is compared with.
func principalNames(rec *cloudtrail.Record) []string {
	id := rec.UserIdentity
	names := []string{id.ARN, id.UserName}
	if sc := id.SessionContext; sc != nil && sc.SessionIssuer != nil {
		names = append(names, sc.SessionIssuer.ARN, sc.SessionIssuer.UserName)
	}
	return names
}

func anyPattern(patterns, names []string) bool {
	for _, p := range patterns {
		for _, n := range names {
			if n != "" && Glob(p, n) {
				return true
			}
		}
	}
	return false
}

func inRanges(cidrs []string, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// Glob reports whether name matches pattern, where "*" matches any run of
// characters (slashes included, unlike path.Match) and "?" one byte. It runs
// in time proportional to len(pattern)*len(name), whatever the name holds.
func Glob(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			// Let the last star swallow one more byte and retry.
			mark++
			p, n = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
