//go:build !nosigma

package usercatalog

import (
	"log/slog"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/sigma"
)

// WithSigma reports whether this build decides Sigma rules.
const WithSigma = true

func withRules(dir string, log *slog.Logger) (*detect.Catalog, error) { return sigma.Catalog(dir, log) }
