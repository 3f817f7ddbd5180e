package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// FleetQuery is the Metrics Insights query of the fleet alarm: the highest
// CPU of any instance of the region, whatever instances exist when it runs.
const FleetQuery = `SELECT MAX(CPUUtilization) FROM SCHEMA("AWS/EC2", InstanceId)`

// CPUAlarmsProps configures NewCPUAlarms.
type CPUAlarmsProps struct {
	// ThresholdPercent is the CPU the alarms fire at.
	ThresholdPercent int
	// PeriodMinutes and Datapoints: the alarm fires when that many
	// consecutive periods breach.
	PeriodMinutes int
	Datapoints    int
	// Instances and Groups get alarms of their own.
	Instances []string
	Groups    []string
}

// CPUAlarms are the alarms for sustained CPU (crypto-mining). Their state
// changes reach the instance function through the ec2-cpu-spike rule;
// they need no alarm actions.
type CPUAlarms struct {
	constructs.Construct
	Fleet     awscloudwatch.CfnAlarm
	Instances map[string]awscloudwatch.CfnAlarm
	Groups    map[string]awscloudwatch.CfnAlarm
}

var nonIDChars = regexp.MustCompile(`[^A-Za-z0-9]`)

// NewCPUAlarms creates the fleet alarm and the configured per-instance and
// per-group alarms, all named with detect.CPUAlarmPrefix.
func NewCPUAlarms(scope constructs.Construct, id string, props *CPUAlarmsProps) *CPUAlarms {
	this := constructs.NewConstruct(scope, jsii.String(id))
	period := props.PeriodMinutes * 60
	sustained := fmt.Sprintf("%d%% for %d consecutive %d-minute periods", props.ThresholdPercent, props.Datapoints, props.PeriodMinutes)
	common := func(name, description string) *awscloudwatch.CfnAlarmProps {
		return &awscloudwatch.CfnAlarmProps{
			AlarmName:          jsii.String(name),
			AlarmDescription:   jsii.String(description),
			ComparisonOperator: jsii.String("GreaterThanOrEqualToThreshold"),
			Threshold:          jsii.Number(props.ThresholdPercent),
			EvaluationPeriods:  jsii.Number(props.Datapoints),
			DatapointsToAlarm:  jsii.Number(props.Datapoints),
			// No data means no running instance: nothing is mining.
			TreatMissingData: jsii.String("notBreaching"),
		}
	}
	a := &CPUAlarms{Construct: this, Instances: map[string]awscloudwatch.CfnAlarm{}, Groups: map[string]awscloudwatch.CfnAlarm{}}

	fleet := common(detect.CPUAlarmPrefix+"Fleet",
		"trailwatch: the hottest EC2 instance of the region ran at or above "+sustained+
			" (possible crypto-mining). A Metrics Insights query: it covers instances launched after deployment.")
	fleet.Metrics = []any{&awscloudwatch.CfnAlarm_MetricDataQueryProperty{
		Id:         jsii.String("fleet"),
		Expression: jsii.String(FleetQuery),
		Label:      jsii.String("Highest EC2 CPUUtilization"),
		Period:     jsii.Number(period),
		ReturnData: jsii.Bool(true),
	}}
	a.Fleet = awscloudwatch.NewCfnAlarm(this, jsii.String("Fleet"), fleet)

	metric := func(dimension, value, stat string) []any {
		return []any{&awscloudwatch.CfnAlarm_MetricDataQueryProperty{
			Id: jsii.String("cpu"),
			MetricStat: &awscloudwatch.CfnAlarm_MetricStatProperty{
				Metric: &awscloudwatch.CfnAlarm_MetricProperty{
					Namespace:  jsii.String("AWS/EC2"),
					MetricName: jsii.String("CPUUtilization"),
					Dimensions: []any{&awscloudwatch.CfnAlarm_DimensionProperty{Name: jsii.String(dimension), Value: jsii.String(value)}},
				},
				Period: jsii.Number(period),
				Stat:   jsii.String(stat),
			},
			ReturnData: jsii.Bool(true),
		}}
	}
	for _, inst := range props.Instances {
		p := common(detect.CPUAlarmPrefix+inst, "trailwatch: instance "+inst+" ran at or above "+sustained+" (possible crypto-mining)")
		p.Metrics = metric("InstanceId", inst, "Average")
		a.Instances[inst] = awscloudwatch.NewCfnAlarm(this, jsii.String("Instance"+nonIDChars.ReplaceAllString(inst, "")), p)
	}
	ids := map[string]bool{}
	for _, g := range props.Groups {
		p := common(detect.CPUAlarmPrefix+"Asg-"+strings.ReplaceAll(g, " ", "-"),
			"trailwatch: an instance of Auto Scaling group "+g+" ran at or above "+sustained+" (possible crypto-mining)")
		// Maximum: one hot instance in a big group must not be averaged away.
		p.Metrics = metric("AutoScalingGroupName", g, "Maximum")
		a.Groups[g] = awscloudwatch.NewCfnAlarm(this, jsii.String(uniqueID(ids, "Group"+nonIDChars.ReplaceAllString(g, ""))), p)
	}
	return a
}

// uniqueID returns id, or id with a number when names that differ only in
// characters a construct ID cannot hold ("web.asg", "webasg") would share
// it: the first keeps it.
func uniqueID(seen map[string]bool, id string) string {
	out := id
	for n := 2; seen[out]; n++ {
		out = id + strconv.Itoa(n)
	}
	seen[out] = true
	return out
}
