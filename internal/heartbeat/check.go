package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Store is the part of the state table the check uses.
type Store interface {
	Heartbeats(ctx context.Context) (map[string]state.Heartbeat, error)
	ExpectHeartbeat(ctx context.Context, account, region string) (time.Time, error)
	MarkSilenceAlerted(ctx context.Context, account, region, episode string) error
}

// Sender delivers an alert under a key, once per channel
// (pipeline.Pipeline).
type Sender interface {
	SendAlert(ctx context.Context, a alert.Alert, key string) ([]string, error)
}

var _ Store = (*state.Dynamo)(nil)

// Silent is one account and region whose heartbeat stopped, or never came.
type Silent struct {
	Account Account
	Region  string
	// LastSeen is zero when no heartbeat ever came.
	LastSeen time.Time
	// Since is when the silence started counting: the last heartbeat, or
	// the later of the first expectation and the account's joining.
	Since time.Time
	// ExpectedSince is the first expectation of the pair's heartbeats.
	ExpectedSince time.Time
	// Episode names this silence: the same for every check until a
	// heartbeat comes, so each silence is alerted once; a pair that
	// recovers and goes silent again is a new episode.
	Episode string
}

// Decide reports whether the pair is silent at now: no heartbeat for more
// than SilentAfter periods since the last one, or, never heard from, since
// it was first expected and since the account joined the organization
// (whichever is later). A pair first expected now is never silent yet, so
// the first check after trailwatch is deployed, a region is added or an
// account moves into a targeted OU waits two periods for the new stack
// instances.
func Decide(now time.Time, period time.Duration, a Account, region string, hb state.Heartbeat) (Silent, bool) {
	if period <= 0 {
		period = DefaultPeriod
	}
	limit := SilentAfter * period
	s := Silent{Account: a, Region: region, LastSeen: hb.LastSeen, ExpectedSince: hb.ExpectedSince}
	if !hb.LastSeen.IsZero() {
		s.Since = hb.LastSeen
		s.Episode = "silent#" + a.ID + "#" + region + "#" + strconv.FormatInt(hb.LastSeen.Unix(), 10)
	} else {
		if hb.ExpectedSince.IsZero() {
			return Silent{}, false
		}
		s.Since = hb.ExpectedSince
		if a.Joined.After(s.Since) {
			s.Since = a.Joined
		}
		s.Episode = "silent#" + a.ID + "#" + region + "#never#" + strconv.FormatInt(hb.ExpectedSince.Unix(), 10)
	}
	if now.Sub(s.Since) <= limit {
		return Silent{}, false
	}
	return s, true
}

// Check is the scheduled heartbeat check.
type Check struct {
	Organizations OrganizationsAPI
	// Targets are the OU IDs or the root ID (trailwatch:organizationTargets).
	Targets []string
	// Regions are the member regions (trailwatch:memberRegions).
	Regions []string
	// Period is how often members send a heartbeat; zero is DefaultPeriod.
	Period time.Duration
	// Skip are accounts without member stacks: the home account. The
	// management account is found in Organizations and skipped too.
	Skip    []string
	Store   Store
	Catalog *detect.Catalog
	Sender  Sender
	Now     func() time.Time
	Log     *slog.Logger
}

// Result says what a check did.
type Result struct {
	// Expected is how many account and region pairs were checked.
	Expected int
	// Silent lists the silences found, alerted before or now.
	Silent []Silent
	// Alerted is how many were alerted by this run.
	Alerted int
}

// Run lists the accounts, decides every pair and alerts each new silence.
// A silence is marked alerted only once every channel has it; a failed
// delivery is returned (the invocation fails, Lambda retries and then the
// dead-letter queue keeps it, and the function's error alarm fires), and
// the next check tries again under the same claims.
func (c *Check) Run(ctx context.Context) (Result, error) {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	var res Result
	if len(c.Targets) == 0 || len(c.Regions) == 0 {
		return res, errors.New("heartbeat check: no targets or no member regions configured")
	}
	skip := slices.Clone(c.Skip)
	mgmt, err := ManagementAccount(ctx, c.Organizations)
	if err != nil {
		log.Error("heartbeat check: Organizations refused describe-organization; is this account the delegated administrator?", "error", err)
		return res, fmt.Errorf("heartbeat check: %w", err)
	}
	skip = append(skip, mgmt)
	accounts, err := ListAccounts(ctx, c.Organizations, c.Targets)
	if err != nil {
		// AccessDenied (the account is no longer a delegated administrator,
		// an SCP) or throttling beyond the SDK's retries: no account can be
		// judged, so nothing is alerted. The error fails the invocation,
		// which the function's error alarm reports through the topic.
		log.Error("heartbeat check: cannot list the organization's accounts; silent members cannot be found until this is fixed", "targets", c.Targets, "error", err)
		return res, fmt.Errorf("heartbeat check: %w", err)
	}
	beats, err := c.Store.Heartbeats(ctx)
	if err != nil {
		return res, fmt.Errorf("heartbeat check: %w", err)
	}
	var errs []error
	for _, a := range accounts {
		if slices.Contains(skip, a.ID) {
			continue
		}
		for _, region := range c.Regions {
			res.Expected++
			hb := beats[state.HeartbeatKey(a.ID, region)]
			if hb.ExpectedSince.IsZero() {
				since, err := c.Store.ExpectHeartbeat(ctx, a.ID, region)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				hb.ExpectedSince = since
			}
			s, silent := Decide(now(), c.Period, a, region, hb)
			if !silent {
				continue
			}
			res.Silent = append(res.Silent, s)
			if hb.Alerted == s.Episode {
				continue
			}
			if err := c.alert(ctx, now(), s); err != nil {
				errs = append(errs, err)
				continue
			}
			res.Alerted++
			log.Warn("member silent: alerted", "account", a.ID, "region", region, "last_seen", s.LastSeen, "since", s.Since)
		}
	}
	log.Info("heartbeat check", "accounts", len(accounts), "pairs", res.Expected, "silent", len(res.Silent), "alerted", res.Alerted)
	return res, errors.Join(errs...)
}

// alert decides the silence's report with the catalog and sends the alert.
func (c *Check) alert(ctx context.Context, now time.Time, s Silent) error {
	ev, err := Report(s, c.period(), now)
	if err != nil {
		return err
	}
	findings, err := c.Catalog.Evaluate(ev)
	if err != nil {
		return fmt.Errorf("decide silence of %s in %s: %w", s.Account.ID, s.Region, err)
	}
	if len(findings) == 0 {
		return fmt.Errorf("decide silence of %s in %s: the catalog reported nothing (is trailwatch-member-silent in it?)", s.Account.ID, s.Region)
	}
	a := Alert(ev, findings, now)
	if _, err := c.Sender.SendAlert(ctx, a, s.Episode); err != nil {
		return fmt.Errorf("alert silence of %s in %s: %w", s.Account.ID, s.Region, err)
	}
	return c.Store.MarkSilenceAlerted(ctx, s.Account.ID, s.Region, s.Episode)
}

func (c *Check) period() time.Duration {
	if c.Period <= 0 {
		return DefaultPeriod
	}
	return c.Period
}

// Report is the event the check decides for a silence: a silence report
// (detect.SilenceSource) of the silent account and region, whose ID is the
// silence's episode.
func Report(s Silent, period time.Duration, now time.Time) (*event.Event, error) {
	d := detect.Silence{
		Account: s.Account.ID, AccountName: s.Account.Name, Region: s.Region,
		ExpectedSince: s.ExpectedSince.UTC(), PeriodMinutes: int(period / time.Minute), CheckedAt: now.UTC(),
	}
	if !s.LastSeen.IsZero() {
		t := s.LastSeen.UTC()
		d.LastSeen = &t
	}
	if !s.Account.Joined.IsZero() {
		t := s.Account.Joined.UTC()
		d.Joined = &t
	}
	detail, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("silence report: %w", err)
	}
	b, err := json.Marshal(event.Envelope{
		Version: "0", ID: s.Episode, DetailType: detect.SilenceDetailType, Source: detect.SilenceSource,
		Account: s.Account.ID, Region: s.Region, Time: now.UTC(), Resources: []string{}, Detail: detail,
	})
	if err != nil {
		return nil, fmt.Errorf("silence report: %w", err)
	}
	ev, err := event.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("silence report: %w", err)
	}
	return ev, nil
}

// Alert is the alert of a decided silence report: there is no caller to
// name, so Who says it is trailwatch's own check; Where is the silent
// account and region.
func Alert(ev *event.Event, findings []detect.Finding, now time.Time) alert.Alert {
	f := findings[0]
	return alert.Alert{
		EventID:    ev.Envelope.ID,
		EnvelopeID: ev.Envelope.ID,
		Severity:   f.Severity,
		Title:      f.Headline,
		Primary:    f,
		Others:     findings[1:],
		Who:        alert.Who{Kind: "trailwatch", Name: "heartbeat check", Detail: "no caller: the absence of heartbeats is the finding"},
		What: alert.What{
			Action:   "trailwatch:MemberHeartbeat",
			Outcome:  "missing",
			Resource: f.Resource,
			Changes:  f.Changes,
			Evidence: f.Evidence,
		},
		When:    alert.When{EventTime: ev.Envelope.Time, ProcessedAt: now.UTC()},
		Where:   alert.Where{AccountID: ev.Envelope.Account, Region: ev.Envelope.Region},
		Runbook: f.Detection.Runbook,
	}
}
