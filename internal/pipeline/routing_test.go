package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/route"
	"github.com/trailwatch/trailwatch/internal/state"
)

// directory is an organization of a few accounts.
type directory map[string][]string

func (d directory) OUPath(_ context.Context, account string) ([]string, error) {
	if p, ok := d[account]; ok {
		return p, nil
	}
	return nil, errors.New("account not in the organization")
}

const (
	prodOU    = "ou-ab12-11111111"
	sandboxOU = "ou-ab12-22222222"
)

// TestRouting: an alert goes to the channels of the most specific route of
// its account, or to the default channels; a route's minimum severity holds
// back what is below it; each route's channel has claims of its own.
func TestRouting(t *testing.T) {
	table := route.Table{
		{Name: "prod", OUs: []string{prodOU}, MinSeverity: "medium", SlackSecretName: "trailwatch/slack-prod"},
		{Name: "sandbox", OUs: []string{sandboxOU}, MinSeverity: "critical"},
		{Name: "payments", Accounts: []string{"444455556666"}, Emails: []string{"payments-sec@example.com"}},
	}
	dir := directory{
		"111111111111": {"r-ab12", prodOU},
		"222222222222": {"r-ab12", sandboxOU},
		"444455556666": {"r-ab12", prodOU},
	}
	for _, tc := range []struct {
		name    string
		account string
		want    []string // channels that got the alert
		below   bool
	}{
		{"production OU to its own Slack", "111111111111", []string{"slack:prod"}, false},
		{"an account route beats its OU", "444455556666", []string{"email:payments"}, false},
		{"sandbox only from critical", "222222222222", nil, true},
		{"outside every route: default channels", "999999999999", []string{"email", "slack"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slack, email := &recorder{name: "slack"}, &recorder{name: "email"}
			prod, payments := &recorder{name: "slack:prod"}, &recorder{name: "email:payments"}
			p := newPipeline(t, slack, email)
			ledger := state.NewMemory()
			p.Ledger = ledger
			p.Routing = &pipeline.Routing{Table: table, Directory: dir,
				Channels: map[string][]pipeline.Channel{"prod": {prod}, "payments": {payments}}}
			ev := decode(t, "s3/put-bucket-policy-public-read.json") // high
			ev.Envelope.Account = tc.account
			res, err := p.Process(context.Background(), ev, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range []*recorder{slack, email, prod, payments} {
				if len(r.sent) > 0 {
					got = append(got, r.name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) || res.BelowRoute != tc.below {
				t.Errorf("sent to %v (below route %v), want %v (%v)", got, res.BelowRoute, tc.want, tc.below)
			}
			slices.Sort(res.Delivered)
			if !slices.Equal(res.Delivered, tc.want) {
				t.Errorf("Delivered = %v, want %v", res.Delivered, tc.want)
			}
			// A second delivery of the event finds each channel's own claim.
			again, err := p.Process(context.Background(), ev, "")
			if err != nil || len(again.Delivered) != 0 || len(again.AlreadyDelivered) != len(tc.want) {
				t.Errorf("redelivery: %+v, %v; want every channel already delivered", again, err)
			}
		})
	}
}

// TestRoutingWithoutThePath: when the directory cannot place the account,
// account routes still apply and the rest goes to the default channels.
func TestRoutingWithoutThePath(t *testing.T) {
	slack, prod, payments := &recorder{name: "slack"}, &recorder{name: "slack:prod"}, &recorder{name: "email:payments"}
	p := newPipeline(t, slack)
	p.Routing = &pipeline.Routing{
		Table:     route.Table{{Name: "prod", OUs: []string{prodOU}, SlackSecretName: "s"}, {Name: "payments", Accounts: []string{"444455556666"}, Emails: []string{"a@example.com"}}},
		Channels:  map[string][]pipeline.Channel{"prod": {prod}, "payments": {payments}},
		Directory: directory{},
		Timeout:   time.Second,
	}
	for account, want := range map[string]*recorder{"111111111111": slack, "444455556666": payments} {
		ev := decode(t, "s3/put-bucket-acl-canned-public-read-write.json")
		ev.Envelope.Account = account
		ev.CloudTrail.EventID += account
		if _, err := p.Process(context.Background(), ev, ""); err != nil {
			t.Fatal(err)
		}
		if len(want.sent) != 1 {
			t.Errorf("account %s: %s got %d alerts, want 1", account, want.name, len(want.sent))
		}
	}
	if len(prod.sent) != 0 {
		t.Errorf("an OU route matched an account the directory could not place")
	}
}

// TestDigestRouted: a storm's digest goes where its alerts went.
func TestDigestRouted(t *testing.T) {
	slack, prod := &recorder{name: "slack"}, &recorder{name: "slack:prod"}
	p := newPipeline(t, slack)
	p.Routing = &pipeline.Routing{
		Table:     route.Table{{Name: "prod", OUs: []string{prodOU}, MinSeverity: "high", SlackSecretName: "s"}},
		Channels:  map[string][]pipeline.Channel{"prod": {prod}},
		Directory: directory{"111111111111": {"r-ab12", prodOU}},
	}
	for _, tc := range []struct {
		sev  detect.Severity
		want int
	}{{detect.SeverityHigh, 1}, {detect.SeverityLow, 1}} {
		d := alert.Digest{AccountID: "111111111111", Severity: tc.sev, Repeats: 3}
		sent, err := p.SendDigest(context.Background(), d, "storm#x#"+tc.sev.String())
		if err != nil {
			t.Fatal(err)
		}
		if tc.sev == detect.SeverityHigh && !slices.Equal(sent, []string{"slack:prod"}) {
			t.Errorf("high digest sent to %v, want slack:prod", sent)
		}
		if tc.sev == detect.SeverityLow && len(sent) != 0 {
			t.Errorf("low digest sent to %v: below the route's minimum", sent)
		}
	}
	if len(prod.digests) != 1 || len(slack.digests) != 0 {
		t.Errorf("prod got %d digests, default %d; want 1 and 0", len(prod.digests), len(slack.digests))
	}
}
