//go:build !ec2lookup

package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/enrich"
)

// instanceLookups is nil in the default build: the EC2 and CloudWatch
// clients double the CLI's code, and with it the memory a replay needs
// (about 48 MB instead of 30 MB over 2,900 records), while the deployed
// instance function does these look-ups itself. Alerts about alarms and
// GuardDuty findings still render in full from the event and say that the
// instance was not looked up. Build with -tags ec2lookup to look instances
// up from the CLI too (instances_ec2.go).
func instanceLookups(aws.Config) enrich.InstanceInspector { return nil }
