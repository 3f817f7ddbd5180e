package wire

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/route"
)

// TestRoutesGetChannelsOfTheirOwn: each route's Slack secret and topic
// become channels named after the route, beside the default ones, so their
// claims are their own.
func TestRoutesGetChannelsOfTheirOwn(t *testing.T) {
	rt := config.Runtime{SlackSecretName: "trailwatch/slack", TopicARN: "arn:aws:sns:eu-west-1:111122223333:alerts",
		Routes: route.Table{
			{Name: "prod", OUs: []string{"ou-ab12-11111111"}, SlackSecretName: "trailwatch/slack-prod", TopicARN: "arn:aws:sns:eu-west-1:111122223333:prod"},
			{Name: "sandbox", OUs: []string{"ou-ab12-22222222"}, MinSeverity: "high"},
		}}
	b, err := base(rt, aws.Config{Region: "eu-west-1"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	names := func(n int, get func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	p := b.Pipeline
	if got := names(len(p.Channels), func(i int) string { return p.Channels[i].Name() }); !slices.Equal(got, []string{"slack", "email"}) {
		t.Errorf("default channels %v", got)
	}
	if p.Routing == nil {
		t.Fatal("no routing")
	}
	prod := p.Routing.Channels["prod"]
	if got := names(len(prod), func(i int) string { return prod[i].Name() }); !slices.Equal(got, []string{"slack:prod", "email:prod"}) {
		t.Errorf("prod channels %v", got)
	}
	if len(p.Routing.Channels["sandbox"]) != 0 {
		t.Errorf("a route without channels of its own got %d", len(p.Routing.Channels["sandbox"]))
	}
}
