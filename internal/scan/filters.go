package scan

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// Filters are what a scan looks at, as text: the CLI's flags, and the
// "filters" of a distributed scan's execution input (the JSON names), so
// the local and the distributed scan read them with one implementation.
type Filters struct {
	// Since and Until: RFC 3339, a date (2026-09-01) or an age (90d, 36h;
	// only when Options is given a time to count back from).
	Since string `json:"since"`
	Until string `json:"until"`
	// Principal is a caller ARN pattern; * matches any run of characters.
	Principal   string   `json:"principal"`
	MinSeverity string   `json:"minSeverity"`
	Detections  []string `json:"detections"`
	Accounts    []string `json:"accounts"`
	Regions     []string `json:"regions"`
}

// FilterError names the filter that was refused, both as the CLI's flag
// and as the execution input's field.
type FilterError struct {
	Flag, Field string
	Err         error
}

// errOrder is the reason when since does not come before until.
var errOrder = errors.New("must come before until")

func (e *FilterError) Error() string {
	if e.Err == errOrder {
		return "since must come before until"
	}
	return e.Field + ": " + e.Err.Error()
}

// FlagText is the error in the CLI's terms: --since rather than since.
func (e *FilterError) FlagText() string {
	if e.Err == errOrder {
		return "--since must come before --until"
	}
	return e.Flag + ": " + e.Err.Error()
}

// Unwrap returns the reason.
func (e *FilterError) Unwrap() error { return e.Err }

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// Options reads the filters into a scan's options (Since, Until,
// Principal or Filter, MinSeverity) and the listing's pruning. now is what
// ages count back from; the zero time refuses ages, so that the children
// of a distributed scan, which start at different times, agree on the
// range. Detections are checked against a catalog by DetectionSet.
//
// With accounts or regions, records are filtered by them too (Filter):
// local files are not laid out by account and region, and an S3 key's
// layout is only a hint of what its records hold.
func (f Filters) Options(now time.Time) (Options, Prune, error) {
	var o Options
	var err error
	if o.Since, err = ParseWhen(f.Since, now); err != nil {
		return Options{}, Prune{}, &FilterError{"--since", "since", err}
	}
	if o.Until, err = ParseWhen(f.Until, now); err != nil {
		return Options{}, Prune{}, &FilterError{"--until", "until", err}
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
		return Options{}, Prune{}, &FilterError{"--since", "since", errOrder}
	}
	if f.Principal != "" {
		re, err := GlobRegexp(f.Principal)
		if err != nil {
			return Options{}, Prune{}, &FilterError{"--principal", "principal", err}
		}
		o.Principal = re.MatchString
	}
	if f.MinSeverity != "" {
		if o.MinSeverity, err = detect.ParseSeverity(f.MinSeverity); err != nil {
			return Options{}, Prune{}, &FilterError{"--min-severity", "minSeverity", err}
		}
	}
	prune := Prune{Since: o.Since, Until: o.Until, Accounts: f.Accounts, Regions: f.Regions}
	for _, a := range f.Accounts {
		if !accountID.MatchString(a) {
			return Options{}, Prune{}, &FilterError{"--accounts", "accounts", fmt.Errorf("%q is not an AWS account ID", a)}
		}
	}
	for _, r := range f.Regions {
		if !regionSegment.MatchString(r) {
			return Options{}, Prune{}, &FilterError{"--regions", "regions", fmt.Errorf("%q is not a region name", r)}
		}
	}
	if len(f.Accounts) > 0 || len(f.Regions) > 0 {
		keep := o.Principal
		o.Principal = nil
		accounts, regions := slices.Clone(f.Accounts), slices.Clone(f.Regions)
		o.Filter = func(account, region, arn string) bool {
			return (len(accounts) == 0 || slices.Contains(accounts, account)) &&
				(len(regions) == 0 || slices.Contains(regions, region)) && (keep == nil || keep(arn))
		}
	}
	return o, prune, nil
}

// DetectionSet is Options.Detections for the filters' detections, each of
// which must be in catalog; nil when none are named (every detection).
func (f Filters) DetectionSet(catalog *detect.Catalog) (map[string]bool, error) {
	if len(f.Detections) == 0 {
		return nil, nil
	}
	set := map[string]bool{}
	for _, id := range f.Detections {
		if _, ok := catalog.Get(id); !ok {
			return nil, &FilterError{"--detections", "detections", fmt.Errorf("%q is not a detection (trailwatch rules lists them)", id)}
		}
		set[id] = true
	}
	return set, nil
}

// ParseWhen reads RFC 3339, a date, or (when now is set) an age before
// now ("90d", "36h"). An empty string is the zero time.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if now.IsZero() {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-09-01T00:00:00Z) nor a date (2026-09-01)", s)
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days).UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-09-01T00:00:00Z), a date (2026-09-01) nor an age (90d, 36h)", s)
}

// GlobRegexp compiles a pattern where * matches any run of characters.
func GlobRegexp(p string) (*regexp.Regexp, error) {
	parts := strings.Split(p, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.Compile("^" + strings.Join(parts, ".*") + "$")
}
