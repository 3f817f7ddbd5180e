//go:build nosigma

package usercatalog

import (
	"errors"
	"log/slog"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// WithSigma reports whether this build decides Sigma rules.
const WithSigma = false

// withRules is never reached in this build: Load refuses rules first.
func withRules(string, *slog.Logger) (*detect.Catalog, error) {
	return nil, errors.New("no Sigma evaluator in this build")
}
