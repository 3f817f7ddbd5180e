//go:build ec2lookup

package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/ec2lookup"
	"github.com/trailwatch/trailwatch/internal/enrich"
)

// instanceLookups looks instances up through EC2, CloudWatch and
// CloudTrail, as the deployed instance function does.
func instanceLookups(cfg aws.Config) enrich.InstanceInspector { return ec2lookup.New(cfg) }
