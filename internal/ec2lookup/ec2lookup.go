// Package ec2lookup holds the AWS look-ups behind alerts about EC2
// instances (CPU alarms, GuardDuty findings): which instances ran hot
// (CloudWatch GetMetricData with a Metrics Insights query), what they are
// (EC2 DescribeInstances, DescribeSecurityGroups) and who launched them
// (CloudTrail LookupEvents for RunInstances). It is a package of its own so
// that only the function that needs EC2 and CloudWatch links their clients.
package ec2lookup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/awslookup"
	ctrecord "github.com/trailwatch/trailwatch/internal/cloudtrail"
)

// DefaultTimeout bounds each call when no timeout is configured.
const DefaultTimeout = 3 * time.Second

// MaxInstances is the most instances one alert describes.
const MaxInstances = 5

// EC2API is the part of the EC2 client Inspector uses.
type EC2API interface {
	DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	DescribeSecurityGroups(ctx context.Context, params *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
}

// CloudWatchAPI is the part of the CloudWatch client Inspector uses.
type CloudWatchAPI interface {
	GetMetricData(ctx context.Context, params *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// CloudTrailAPI is the event history call Inspector uses.
type CloudTrailAPI interface {
	LookupEvents(ctx context.Context, params *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

var (
	_ EC2API        = (*ec2.Client)(nil)
	_ CloudWatchAPI = (*cloudwatch.Client)(nil)
	_ CloudTrailAPI = (*cloudtrail.Client)(nil)
)

// Inspector answers questions about instances. It holds no state and is
// safe for concurrent use.
type Inspector struct {
	EC2        EC2API
	CloudWatch CloudWatchAPI
	CloudTrail CloudTrailAPI
	// Timeout bounds each call; zero means DefaultTimeout.
	Timeout time.Duration
}

// New returns an Inspector with clients made from cfg.
func New(cfg aws.Config) *Inspector {
	return &Inspector{EC2: ec2.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg), CloudTrail: cloudtrail.NewFromConfig(cfg)}
}

// HotQuery is the Metrics Insights query that ranks instances by CPU.
const HotQuery = `SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", InstanceId) GROUP BY InstanceId ORDER BY AVG() DESC LIMIT 5`

// HotInstances returns the instances of the region with the highest
// average CPU between start and end, hottest first (ID and CPU set).
func (in *Inspector) HotInstances(ctx context.Context, region string, start, end time.Time, period time.Duration) ([]alert.Instance, error) {
	if in.CloudWatch == nil {
		return nil, errors.New("get metric data: no CloudWatch client")
	}
	if period < time.Minute {
		period = 5 * time.Minute
	}
	ctx, cancel := in.timeout(ctx)
	defer cancel()
	out, err := in.CloudWatch.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id:         aws.String("hot"),
			Expression: aws.String(HotQuery),
			Period:     aws.Int32(int32(period / time.Second)),
			ReturnData: aws.Bool(true),
		}},
		StartTime: aws.Time(start),
		EndTime:   aws.Time(end),
	}, func(o *cloudwatch.Options) { setRegion(&o.Region, region) })
	if err != nil {
		return nil, fmt.Errorf("get metric data: %s", awslookup.Describe(err))
	}
	var hot []alert.Instance
	for _, r := range out.MetricDataResults {
		id := aws.ToString(r.Label)
		if !strings.HasPrefix(id, "i-") || len(r.Values) == 0 {
			continue
		}
		sum := 0.0
		for _, v := range r.Values {
			sum += v
		}
		avg := sum / float64(len(r.Values))
		hot = append(hot, alert.Instance{ID: id, CPU: &avg})
	}
	slices.SortStableFunc(hot, func(a, b alert.Instance) int {
		switch {
		case *a.CPU > *b.CPU:
			return -1
		case *a.CPU < *b.CPU:
			return 1
		}
		return 0
	})
	if len(hot) > MaxInstances {
		hot = hot[:MaxInstances]
	}
	return hot, nil
}

// Describe fills in what EC2 says about the instances: tags, type, zone,
// launch time, image, instance profile, state, public IP, and the security
// group rules that let the whole internet in. Instances EC2 does not know
// (terminated long ago) come back with Missing set.
func (in *Inspector) Describe(ctx context.Context, region string, instances []alert.Instance) ([]alert.Instance, error) {
	if in.EC2 == nil {
		return instances, errors.New("describe instances: no EC2 client")
	}
	ids := make([]string, 0, len(instances))
	for _, i := range instances {
		ids = append(ids, i.ID)
	}
	ctx, cancel := in.timeout(ctx)
	defer cancel()
	opt := func(o *ec2.Options) { setRegion(&o.Region, region) }
	// A filter, not InstanceIds: EC2 fails the whole call when one of the
	// given IDs no longer exists, and a filter just leaves it out.
	out, err := in.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: ids}},
	}, opt)
	if err != nil {
		return instances, fmt.Errorf("describe instances: %s", awslookup.Describe(err))
	}
	found := map[string]ec2types.Instance{}
	var groups []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			found[aws.ToString(i.InstanceId)] = i
			for _, g := range i.SecurityGroups {
				if id := aws.ToString(g.GroupId); id != "" && !slices.Contains(groups, id) {
					groups = append(groups, id)
				}
			}
		}
	}
	open := map[string][]string{}
	var sgErr error
	if len(groups) > 0 {
		open, sgErr = in.openGroups(ctx, groups, opt)
	}
	result := slices.Clone(instances)
	for k := range result {
		i, ok := found[result[k].ID]
		if !ok {
			result[k].Missing = "EC2 does not know the instance (terminated more than an hour ago?)"
			continue
		}
		fill(&result[k], i, open)
	}
	if sgErr != nil {
		return result, sgErr
	}
	return result, nil
}

func fill(dst *alert.Instance, i ec2types.Instance, open map[string][]string) {
	dst.Type = string(i.InstanceType)
	if i.Placement != nil {
		dst.Zone = aws.ToString(i.Placement.AvailabilityZone)
	}
	if i.LaunchTime != nil {
		dst.LaunchTime = i.LaunchTime.UTC()
	}
	dst.Image = aws.ToString(i.ImageId)
	if i.IamInstanceProfile != nil {
		dst.Profile = aws.ToString(i.IamInstanceProfile.Arn)
	}
	if i.State != nil {
		dst.State = string(i.State.Name)
	}
	dst.PublicIP = aws.ToString(i.PublicIpAddress)
	dst.Tags = nil
	for _, t := range i.Tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		if k == "Name" {
			dst.Name = v
			continue
		}
		dst.Tags = append(dst.Tags, alert.Tag{Key: k, Value: v})
	}
	slices.SortFunc(dst.Tags, func(a, b alert.Tag) int { return strings.Compare(a.Key, b.Key) })
	dst.OpenIngress = nil
	for _, g := range i.SecurityGroups {
		for _, rule := range open[aws.ToString(g.GroupId)] {
			dst.OpenIngress = append(dst.OpenIngress, aws.ToString(g.GroupId)+" ("+aws.ToString(g.GroupName)+"): "+rule)
		}
	}
}

// openGroups returns, per security group, its ingress rules open to
// 0.0.0.0/0 or ::/0 ("tcp 22", "all traffic").
func (in *Inspector) openGroups(ctx context.Context, ids []string, opt func(*ec2.Options)) (map[string][]string, error) {
	// By filter, as for instances: a deleted group must not hide the others.
	out, err := in.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: ids}},
	}, opt)
	if err != nil {
		return map[string][]string{}, fmt.Errorf("describe security groups: %s", awslookup.Describe(err))
	}
	open := map[string][]string{}
	for _, g := range out.SecurityGroups {
		for _, p := range g.IpPermissions {
			world := slices.ContainsFunc(p.IpRanges, func(r ec2types.IpRange) bool { return aws.ToString(r.CidrIp) == "0.0.0.0/0" }) ||
				slices.ContainsFunc(p.Ipv6Ranges, func(r ec2types.Ipv6Range) bool { return aws.ToString(r.CidrIpv6) == "::/0" })
			if world {
				open[aws.ToString(g.GroupId)] = append(open[aws.ToString(g.GroupId)], portRange(p)+" from anywhere")
			}
		}
	}
	return open, nil
}

func portRange(p ec2types.IpPermission) string {
	proto := aws.ToString(p.IpProtocol)
	if proto == "-1" {
		return "all traffic"
	}
	from, to := aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)
	switch {
	case p.FromPort == nil || (from == 0 && to == 65535) || from == -1:
		return proto + " all ports"
	case from == to:
		return proto + " " + strconv.Itoa(int(from))
	}
	return proto + " " + strconv.Itoa(int(from)) + "-" + strconv.Itoa(int(to))
}

// LaunchEvent returns the RunInstances record that launched the instance,
// from CloudTrail's event history (the last 90 days of the region); nil
// when there is none.
func (in *Inspector) LaunchEvent(ctx context.Context, region, instanceID string) (*ctrecord.Record, error) {
	if in.CloudTrail == nil {
		return nil, errors.New("lookup events: no CloudTrail client")
	}
	ctx, cancel := in.timeout(ctx)
	defer cancel()
	out, err := in.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{
			AttributeKey:   cttypes.LookupAttributeKeyResourceName,
			AttributeValue: aws.String(instanceID),
		}},
		MaxResults: aws.Int32(50),
	}, func(o *cloudtrail.Options) { setRegion(&o.Region, region) })
	if err != nil {
		return nil, fmt.Errorf("lookup events: %s", awslookup.Describe(err))
	}
	for _, ev := range out.Events {
		if aws.ToString(ev.EventName) != "RunInstances" {
			continue
		}
		rec, err := ctrecord.Decode([]byte(aws.ToString(ev.CloudTrailEvent)))
		if err != nil || rec.Failed() {
			continue
		}
		return rec, nil
	}
	return nil, nil
}

func (in *Inspector) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	t := in.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	return context.WithTimeout(ctx, t)
}

func setRegion(dst *string, region string) {
	if region != "" {
		*dst = region
	}
}
