package usercatalog_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/usercatalog"
)

// TestLoad, in either build (.ci/run also runs it with -tags nosigma):
// without rules, the built-in catalog; with rules, the default build adds
// them and the build without the evaluator refuses them by name, so that
// a function given rules never skips them silently.
func TestLoad(t *testing.T) {
	builtin, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	c, err := usercatalog.Load(config.Runtime{}, log)
	if err != nil || len(c.All()) != len(builtin.All()) {
		t.Fatalf("Load without rules = %v; want the built-in catalog", err)
	}
	c, err = usercatalog.Load(config.Runtime{SigmaRules: "../sigma/testdata/rules"}, log)
	if !usercatalog.WithSigma {
		if err == nil || !strings.Contains(err.Error(), config.EnvSigmaRules) || !strings.Contains(err.Error(), "nosigma") {
			t.Errorf("Load with rules, without the evaluator = %v; want a refusal naming %s and the build", err, config.EnvSigmaRules)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, d := range c.All() {
		if strings.HasPrefix(d.ID, "sigma-") {
			added++
		}
	}
	if added == 0 || len(c.All()) != len(builtin.All())+added {
		t.Errorf("%d detections with %d Sigma ones; want the %d built-in ones and at least one Sigma rule", len(c.All()), added, len(builtin.All()))
	}
}
