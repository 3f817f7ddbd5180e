package sigma

import (
	"log/slog"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// Catalog is the built-in catalog with the Sigma rules of dir (the layer
// the stack makes of trailwatch:sigmaRules), or the built-in one alone when
// dir is empty. The synth refused or left out the rules that do not load;
// one refused here (a file changed since) is logged and left out, never a
// reason not to start. A missing folder is an error.
func Catalog(dir string, log *slog.Logger) (*detect.Catalog, error) {
	if dir == "" {
		return detect.Builtin()
	}
	set, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, r := range set.Refused {
		log.Warn("sigma rule left out", "rule", r.String())
	}
	return detect.BuiltinWith(set.Detections()...)
}

// Load reads the rules of dir as config.Config.LoadSigma wants them: the
// detections of the rules that load and a line per refused file.
func Load(dir string) ([]*detect.Detection, []string, error) {
	set, err := LoadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	refused := make([]string, len(set.Refused))
	for i, r := range set.Refused {
		refused[i] = r.String()
	}
	return set.Detections(), refused, nil
}
