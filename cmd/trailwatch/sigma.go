package main

import (
	"fmt"
	"io"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/sigma"
)

// sigmaFlagUsage describes --sigma for rules and replay.
const sigmaFlagUsage = "folder of Sigma rules (.yml) for CloudTrail to add to the catalog as sigma-<rule id> detections (trailwatch:sigmaRules)"

// catalogWith loads the built-in catalog plus the Sigma rules under dir
// ("" for none). Refused rules are named on stderr, one a line, with their
// file and reason; refused reports whether there were any, so the command
// can end with exitUnreadable after running with the rest.
func catalogWith(dir, command string, stderr io.Writer) (catalog *detect.Catalog, set *sigma.Set, refused bool, err error) {
	set = &sigma.Set{}
	if dir != "" {
		if set, err = sigma.LoadDir(dir); err != nil {
			return nil, nil, false, fmt.Errorf("--sigma: %w", err)
		}
		for _, r := range set.Refused {
			// A rule file's text may hold terminal escapes: Clean keeps
			// them from acting.
			fmt.Fprintf(stderr, "trailwatch %s: --sigma: refused %s\n", command, render.Clean(r.String(), 2000))
		}
	}
	catalog, err = detect.BuiltinWith(set.Detections()...)
	if err != nil {
		return nil, nil, false, fmt.Errorf("catalog: %w", err)
	}
	return catalog, set, len(set.Refused) > 0, nil
}
