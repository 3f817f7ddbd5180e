// Package usercatalog loads a function's catalog: the built-in detections
// and the user's Sigma rules (trailwatch:sigmaRules, the stack's layer).
//
// It comes in two builds. The default one links the Sigma evaluator
// (internal/sigma, sigma-go); the one built with -tags nosigma does not,
// and refuses a function configured with Sigma rules. sigma-go's package
// initialization (its condition grammar, gval, YAML) is 0.5 to 0.9 ms of
// every cold start (GODEBUG=inittrace=1), which a deployment without Sigma
// rules, the default, need not pay: scripts/build-functions builds the
// cloudtrail and digest functions both ways, and the stack deploys the
// build with the evaluator only when trailwatch:sigmaRules is set
// (infra, docs/performance.md).
package usercatalog

import (
	"errors"
	"log/slog"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
)

// Load returns the built-in catalog with the user's Sigma rules added
// (rt.SigmaRules, none when empty). The build without the evaluator
// refuses rules, so that a function deployed with them fails its start
// instead of leaving them undecided.
func Load(rt config.Runtime, log *slog.Logger) (*detect.Catalog, error) {
	if rt.SigmaRules == "" {
		return detect.Builtin()
	}
	if !WithSigma {
		return nil, errors.New(config.EnvSigmaRules + " is set, but this bootstrap was built without the Sigma evaluator " +
			"(-tags nosigma): deploy the build with it (scripts/build-functions makes both; the stack picks it when " +
			config.KeySigmaRules + " is set)")
	}
	return withRules(rt.SigmaRules, log)
}
