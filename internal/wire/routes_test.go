package wire

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/route"
	"github.com/trailwatch/trailwatch/internal/sigma"
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

// TestSigmaRulesFromTheLayer: a function given a folder of Sigma rules
// (the layer the stack makes of trailwatch:sigmaRules) decides them beside
// the built-in detections; rules that do not load are left out.
func TestSigmaRulesFromTheLayer(t *testing.T) {
	rt := config.Runtime{TopicARN: "arn:aws:sns:eu-west-1:111122223333:alerts", SigmaRules: filepath.Join("..", "sigma", "testdata", "rules")}
	withSigma := WithCatalog(func(rt config.Runtime, log *slog.Logger) (*detect.Catalog, error) {
		return sigma.Catalog(rt.SigmaRules, log)
	})
	b, err := base(rt, aws.Config{Region: "eu-west-1"}, slog.New(slog.DiscardHandler), withSigma)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := base(rt, aws.Config{Region: "eu-west-1"}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	} else if _, ok := plain.Pipeline.Catalog.Get("sigma-0b6a1c4e-1111-4a6f-9a55-000000000001"); ok {
		t.Error("without WithCatalog the function decides Sigma rules: it links the evaluator")
	}
	d, ok := b.Pipeline.Catalog.Get("sigma-0b6a1c4e-1111-4a6f-9a55-000000000001")
	if !ok || d.Kind != "sigma" {
		t.Fatalf("the Sigma rule is not in the function's catalog (%v, %+v)", ok, d)
	}
	if _, ok := b.Pipeline.Catalog.Get("s3-bucket-public-access-block-disabled"); !ok {
		t.Error("the built-in detections are gone")
	}
	if err := b.Pipeline.Catalog.Compile(); err != nil {
		t.Error(err)
	}
	rt.SigmaRules = filepath.Join(t.TempDir(), "missing")
	if _, err := base(rt, aws.Config{Region: "eu-west-1"}, slog.New(slog.DiscardHandler), withSigma); err == nil {
		t.Error("a missing rules folder must fail the start")
	}
}
