package crossaccount

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
)

// Enricher is an alerting function's enricher: build makes one account's
// look-ups from an AWS configuration. The function's own account (home)
// uses cfg; in organization mode (rt.LookupRole set) every other account's
// look-ups run with the credentials of its look-up role. This is the only
// place that links the STS client into the functions that look up.
func Enricher(rt config.Runtime, cfg aws.Config, home string, build func(aws.Config) enrich.Lookups) *enrich.Enricher {
	e := &enrich.Enricher{Lookups: build(cfg), HomeAccount: home}
	if rt.LookupRole != "" && home != "" {
		e.Accounts = &Accounts[enrich.Lookups]{
			Home:      cfg,
			STS:       sts.NewFromConfig(cfg),
			Role:      rt.LookupRole,
			Partition: detect.Partition(cfg.Region),
			Build:     build,
		}
	}
	return e
}
