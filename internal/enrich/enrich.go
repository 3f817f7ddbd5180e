// Package enrich turns an event and its findings into an alert that answers
// who, what, when and where. Facts in the event are read directly; facts
// that need AWS (the account alias, whether a bucket is public right now)
// come through small interfaces, each call under a timeout. When a look-up
// fails or is not possible, the alert still goes out and says what could
// not be checked.
package enrich

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/budget"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

// AliasLookup returns an account's alias ("" when it has none).
type AliasLookup interface {
	AccountAlias(ctx context.Context, account string) (string, error)
}

// BucketInspector reads what S3 says about a bucket now.
type BucketInspector interface {
	BucketState(ctx context.Context, account, region, bucket string) s3access.BucketState
}

// History finds the Block Public Access settings a change replaced, in
// CloudTrail's event history (bucket "" means the account's settings).
type History interface {
	PreviousPublicAccessBlock(ctx context.Context, region, bucket string, before time.Time, excludeEventID string) (awslookup.PriorBlock, bool, error)
}

// Lookups are the AWS look-ups of one account; a nil field is a look-up
// the function does not make.
type Lookups struct {
	Aliases AliasLookup
	Buckets BucketInspector
	History History
	// Instances looks up EC2 instances for alarm and GuardDuty alerts.
	Instances InstanceInspector
}

// AccountLookups gives the look-ups of an account other than the home
// one: organization mode's look-up role in each member account
// (internal/crossaccount). The error says why there are none.
type AccountLookups interface {
	For(ctx context.Context, account string) (Lookups, error)
}

// Directory places an account in the organization (internal/orglookup):
// its name, and its OUs from the root down. With an error, what could be
// read is still returned.
type Directory interface {
	Place(ctx context.Context, account string) (name string, path []alert.OU, err error)
}

// Enricher builds alerts. The zero value works offline: nothing is looked up
// and the alert says so.
type Enricher struct {
	// Lookups run with the function's own credentials, in HomeAccount.
	Lookups
	// HomeAccount is the account whose credentials Lookups use. Events of
	// other accounts are looked up through Accounts, or not at all (the
	// answer would be about the wrong account, or AccessDenied). Empty:
	// look up every account with Lookups.
	HomeAccount string
	// Accounts gives the look-ups of other accounts; nil: none.
	Accounts AccountLookups
	// Directory names the event's account and its OU path; nil outside
	// organization mode.
	Directory Directory
	// Offline, when set, says why AWS look-ups are skipped ("no AWS
	// credentials").
	Offline string
	// Timeout bounds all look-ups for one alert; default 5 s.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Replay marks alerts built from recorded events: no delay is computed.
	Replay bool
}

// Alert builds the alert for an event with at least one finding; findings
// must be sorted most severe first (detect.Catalog.Evaluate does that).
func (e *Enricher) Alert(ctx context.Context, ev *event.Event, findings []detect.Finding) (alert.Alert, error) {
	if len(findings) == 0 {
		return alert.Alert{}, fmt.Errorf("enrich: event %s has no findings", ev.ID())
	}
	rec := ev.CloudTrail
	if rec == nil {
		if ev.Alarm != nil || ev.GuardDuty != nil {
			return e.computeAlert(ctx, ev, findings), nil
		}
		return alert.Alert{}, fmt.Errorf("enrich: event %s carries no CloudTrail record, alarm or finding", ev.ID())
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	primary := findings[0]
	a := alert.Alert{
		EventID:      rec.EventID,
		EnvelopeID:   ev.Envelope.ID,
		Severity:     primary.Severity,
		Title:        primary.Headline,
		SeverityNote: primary.SeverityNote,
		Primary:      primary,
		Others:       findings[1:],
		Who:          Principal(rec),
		What: alert.What{
			Action:   Action(rec),
			Outcome:  "succeeded",
			Failed:   rec.Failed(),
			Resource: primary.Resource,
			Changes:  primary.Changes,
			Evidence: primary.Evidence,
		},
		When: alert.When{EventTime: rec.EventTime, ProcessedAt: now().UTC(), Replayed: e.Replay},
		Where: alert.Where{
			AccountID:   rec.Account(),
			Region:      rec.AWSRegion,
			SourceIP:    rec.SourceIPAddress,
			SourceNote:  sourceNote(rec.SourceIPAddress, rec.VPCEndpointID),
			VPCEndpoint: rec.VPCEndpointID,
		},
		Runbook: primary.Detection.Runbook,
	}
	if rec.Failed() {
		a.What.Outcome = "failed: " + rec.ErrorCode
		if rec.ErrorMessage != "" {
			a.What.Outcome += ": " + rec.ErrorMessage
		}
	}
	if !e.Replay {
		a.When.Delay = a.When.ProcessedAt.Sub(rec.EventTime).Round(time.Second)
	}
	a.Links = e.signIn(rec.AWSRegion, a.Where.AccountID, links(rec.AWSRegion, rec.EventID, primary.Resource, a.Who))
	e.lookUp(ctx, &a, primary)
	return a, nil
}

// lookUp fills the facts that need AWS, concurrently, under one deadline.
func (e *Enricher) lookUp(ctx context.Context, a *alert.Alert, primary detect.Finding) {
	if e.Offline != "" {
		skipAll(a, primary, "not checked ("+e.Offline+")")
		return
	}
	ctx, cancel := e.deadline(ctx)
	defer cancel()
	defer e.place(ctx, a)()
	l, skip := e.lookupsFor(ctx, a.Where.AccountID)
	if skip != "" {
		skipAll(a, primary, skip)
		return
	}
	e.lookUpWith(ctx, a, primary, l)
}

// skipAll says, for each look-up the alert would have had, why it did not
// run.
func skipAll(a *alert.Alert, primary detect.Finding, skip string) {
	a.Unchecked = append(a.Unchecked, "account alias: "+skip)
	if primary.Resource.Type == "S3 bucket" && primary.Resource.Name != "" {
		a.Unchecked = append(a.Unchecked, "whether the bucket is public now: "+skip)
	}
	if wantsPrevious(a, primary) {
		a.Unchecked = append(a.Unchecked, "previous Block Public Access settings: "+skip)
	}
}

// lookUpWith runs the CloudTrail alert's look-ups with the account's l.
func (e *Enricher) lookUpWith(ctx context.Context, a *alert.Alert, primary detect.Finding, l Lookups) {
	bucket := primary.Resource.Type == "S3 bucket" && primary.Resource.Name != ""
	var wg sync.WaitGroup
	setAlias := lookUpAlias(ctx, &wg, a, l.Aliases)
	var state s3access.BucketState
	if bucket && l.Buckets != nil {
		wg.Go(func() {
			state = l.Buckets.BucketState(ctx, a.Where.AccountID, primary.Resource.Region, primary.Resource.Name)
		})
	}
	var prior previous
	if wantsPrevious(a, primary) {
		wg.Go(func() { prior = lookUpPrevious(ctx, a, primary, l.History) })
	}
	wg.Wait()
	prior.apply(a)

	setAlias()
	if !bucket {
		return
	}
	if l.Buckets == nil {
		a.Unchecked = append(a.Unchecked, "whether the bucket is public now: no S3 client configured")
		return
	}
	exp := state.Exposure()
	a.Exposure = &alert.Exposure{Public: string(exp.Public), Reasons: exp.Reasons, Warnings: exp.Warnings}
	for _, m := range state.Missing {
		a.Unchecked = append(a.Unchecked, "bucket state: "+m)
	}
	if exp.Public == s3access.Yes && !primary.Attempt && a.Severity == detect.SeverityHigh {
		a.Severity = detect.SeverityCritical
		a.SeverityNote = "raised from high: the bucket is public right now"
	}
}

// deadline bounds all look-ups for one alert.
func (e *Enricher) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return context.WithTimeoutCause(ctx, timeout, &budget.Timeout{After: timeout, Of: "the alert's look-ups"})
}

// lookUpAlias starts the account alias look-up on wg; the function it
// returns records the outcome once wg is done.
func lookUpAlias(ctx context.Context, wg *sync.WaitGroup, a *alert.Alert, aliases AliasLookup) func() {
	var alias string
	var err error
	if aliases != nil {
		wg.Go(func() { alias, err = aliases.AccountAlias(ctx, a.Where.AccountID) })
	}
	return func() { setAlias(a, aliases == nil, alias, err) }
}

// setAlias records the account alias, or why it is unknown.
func setAlias(a *alert.Alert, noClient bool, alias string, err error) {
	switch {
	case noClient:
		a.Unchecked = append(a.Unchecked, "account alias: no IAM client configured")
	case err != nil:
		a.Unchecked = append(a.Unchecked, "account alias: "+err.Error())
	default:
		a.Where.AccountAlias = alias
	}
}

// previous is the outcome of the history look-up.
type previous struct {
	asked bool
	prior awslookup.PriorBlock
	found bool
	err   error
}

// wantsPrevious reports whether the alert shows Block Public Access
// settings whose previous values the event does not record.
func wantsPrevious(a *alert.Alert, f detect.Finding) bool {
	if f.Attempt {
		return false
	}
	for _, c := range f.Changes {
		if c.Before == detect.NotRecorded {
			return true
		}
	}
	return false
}

func lookUpPrevious(ctx context.Context, a *alert.Alert, f detect.Finding, history History) previous {
	if history == nil {
		return previous{asked: true, err: errors.New("no CloudTrail client configured")}
	}
	bucket := ""
	if f.Resource.Type == "S3 bucket" {
		bucket = f.Resource.Name
	}
	p, found, err := history.PreviousPublicAccessBlock(ctx, a.Where.Region, bucket, a.When.EventTime, a.EventID)
	return previous{asked: true, prior: p, found: found, err: err}
}

// apply fills in the previous values, or says why they stay unknown.
func (p previous) apply(a *alert.Alert) {
	switch {
	case !p.asked:
		return
	case p.err != nil:
		a.Unchecked = append(a.Unchecked, "previous Block Public Access settings: "+p.err.Error())
		return
	case !p.found:
		a.Unchecked = append(a.Unchecked, "previous Block Public Access settings: no change in the last 90 days of CloudTrail event history")
		return
	}
	before := map[string]bool{}
	for _, s := range p.prior.Config.Settings() {
		before[s.Name] = s.On
	}
	changes := make([]detect.Change, len(a.What.Changes))
	copy(changes, a.What.Changes)
	for i, c := range changes {
		if on, ok := before[c.Setting]; ok && c.Before == detect.NotRecorded {
			changes[i].Before = fmt.Sprint(on)
		}
	}
	a.What.Changes = changes
	a.What.Evidence = append(append([]detect.Evidence(nil), a.What.Evidence...), detect.Evidence{
		Label: "Previous settings",
		Text:  fmt.Sprintf("set by %s at %s by %s (event %s)", p.prior.Event, p.prior.Time.UTC().Format(time.RFC3339), p.prior.By, p.prior.EventID),
	})
}

// lookupsFor returns the look-ups of account, or why there are none.
// Another account's come from Accounts (an AssumeRole at most, under ctx).
func (e *Enricher) lookupsFor(ctx context.Context, account string) (Lookups, string) {
	switch {
	case e.Offline != "":
		return Lookups{}, "not checked (" + e.Offline + ")"
	case !e.otherAccount(account):
		return e.Lookups, ""
	case e.Accounts == nil:
		return Lookups{}, fmt.Sprintf("not checked (the event is from account %s; trailwatch's credentials are for account %s)", account, e.HomeAccount)
	}
	l, err := e.Accounts.For(ctx, account)
	if err != nil {
		return Lookups{}, "not checked (" + err.Error() + ")"
	}
	return l, ""
}

// otherAccount reports whether account is not the one of the function's
// credentials.
func (e *Enricher) otherAccount(account string) bool {
	return e.HomeAccount != "" && account != "" && account != e.HomeAccount
}

// place starts the organization look-up of the alert's account; the
// function it returns waits for it and records the outcome. Without a
// Directory (outside organization mode) it does nothing.
func (e *Enricher) place(ctx context.Context, a *alert.Alert) func() {
	if e.Directory == nil || e.Offline != "" || a.Where.AccountID == "" {
		return func() {}
	}
	done := make(chan struct{})
	var name string
	var path []alert.OU
	var err error
	go func() {
		defer close(done)
		name, path, err = e.Directory.Place(ctx, a.Where.AccountID)
	}()
	return func() {
		<-done
		a.Where.AccountName, a.Where.OUPath = name, path
		if err != nil {
			a.Unchecked = append(a.Unchecked, "account name and OU path: "+err.Error())
		}
	}
}

// signIn puts first, for an event of another account, the link that signs
// in to that account: the other links open in whichever account the
// reader's console session is in.
func (e *Enricher) signIn(region, account string, links []alert.Link) []alert.Link {
	if !e.otherAccount(account) || !isAccountID(account) || !isRegion(region) {
		return links
	}
	host := "signin.aws.amazon.com"
	switch detect.Partition(region) {
	case "aws-cn":
		host = "signin.amazonaws.cn"
	case "aws-us-gov":
		host = "signin.amazonaws-us-gov.com"
	}
	return append([]alert.Link{{Label: "Sign in to account " + account + " first", URL: "https://" + account + "." + host + "/console"}}, links...)
}

// sourceNote explains a source address that is not a plain public IP.
func sourceNote(src, vpce string) string {
	addr, err := netip.ParseAddr(src)
	switch {
	case src == "":
		return ""
	case err != nil && (strings.HasSuffix(src, ".amazonaws.com") || src == "AWS Internal"):
		return "AWS service or internal caller"
	case err != nil:
		return "not an IP address"
	case vpce != "":
		return "through VPC endpoint " + vpce
	case addr.IsPrivate() || addr.IsLoopback():
		return "private address"
	}
	return ""
}

// consoleHost is the console's host name in the region's partition.
func consoleHost(region string) string {
	switch detect.Partition(region) {
	case "aws-cn":
		return "console.amazonaws.cn"
	case "aws-us-gov":
		return "console.amazonaws-us-gov.com"
	}
	return "console.aws.amazon.com"
}

// links builds console links from values that are checked against AWS's own
// naming rules first, so attacker-chosen text never becomes part of a URL.
func links(region, eventID string, res detect.Resource, who alert.Who) []alert.Link {
	if !isRegion(region) {
		return nil
	}
	host := consoleHost(region)
	out := make([]alert.Link, 0, 3)
	if isEventID(eventID) {
		out = append(out, alert.Link{Label: "CloudTrail event", URL: "https://" + region + "." + host + "/cloudtrailv2/home?region=" + region + "#/events/" + eventID})
	}
	switch {
	case res.Type == "S3 bucket" && isBucketName(res.Name):
		out = append(out, alert.Link{Label: "Bucket permissions", URL: "https://s3." + host + "/s3/buckets/" + url.PathEscape(res.Name) + "?region=" + region + "&tab=permissions"})
	case res.Type == "AWS account":
		out = append(out, alert.Link{Label: "Account Block Public Access", URL: "https://s3." + host + "/s3/settings?region=" + region})
	}
	if role := strings.TrimPrefix(who.Detail, "role "); who.Kind == "assumed role" && role != who.Detail {
		if name, _, _ := strings.Cut(role, ","); isIAMName(name) {
			out = append(out, alert.Link{Label: "Role", URL: "https://" + host + "/iam/home#/roles/details/" + url.PathEscape(name)})
		}
	}
	if who.Kind == "IAM user" && isIAMName(who.Name) {
		out = append(out, alert.Link{Label: "IAM user", URL: "https://" + host + "/iam/home#/users/details/" + url.PathEscape(who.Name)})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
