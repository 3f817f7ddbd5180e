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
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	"github.com/trailwatch/trailwatch/internal/human"
)

// DefaultTimeout bounds each call (DescribeInstances, DescribeSecurityGroups,
// GetMetricData, LookupEvents, each on its own) when no timeout is
// configured.
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
	// Timeout bounds each call on its own; zero means DefaultTimeout.
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
	call, cancel := in.timeout(ctx)
	defer cancel()
	out, err := in.CloudWatch.GetMetricData(call, &cloudwatch.GetMetricDataInput{
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
		return nil, in.failed("get metric data", ctx, call, err)
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
// launch time, image, instance profile, state, public and private IP, VPC,
// subnet, security groups, and the security group rules that let the
// whole internet in. Instances EC2 does not know (terminated long ago) come
// back with Missing set and what the caller knew kept.
//
// When the caller already knows an instance's security groups (a GuardDuty
// finding names them), their rules are read (DescribeSecurityGroups) at
// the same time as the instances (DescribeInstances), not after; groups
// only EC2 names are read once it has answered. Each call has its own
// timeout. An error names what could not be read; what could is returned
// with it.
func (in *Inspector) Describe(ctx context.Context, region string, instances []alert.Instance) ([]alert.Instance, error) {
	if in.EC2 == nil {
		return instances, errors.New("describe instances: no EC2 client")
	}
	ids := make([]string, 0, len(instances))
	var known []string
	for _, i := range instances {
		ids = append(ids, i.ID)
		for _, g := range i.SecurityGroups {
			if g.ID != "" && !slices.Contains(known, g.ID) {
				known = append(known, g.ID)
			}
		}
	}
	opt := func(o *ec2.Options) { setRegion(&o.Region, region) }

	var wg sync.WaitGroup
	var early groupRules
	if len(known) > 0 {
		wg.Go(func() { early = in.openGroups(ctx, known, opt) })
	}
	found, descErr := in.describeInstances(ctx, ids, opt)
	wg.Wait()

	rules := early
	var more []string
	for _, i := range found {
		for _, g := range i.SecurityGroups {
			if id := aws.ToString(g.GroupId); id != "" && !slices.Contains(known, id) && !slices.Contains(more, id) {
				more = append(more, id)
			}
		}
	}
	if len(more) > 0 {
		rules = rules.merge(in.openGroups(ctx, more, opt))
	}

	result := slices.Clone(instances)
	for k := range result {
		if descErr == nil {
			if i, ok := found[result[k].ID]; ok {
				fill(&result[k], i)
			} else {
				result[k].Missing = "EC2 does not know the instance (terminated more than an hour ago?)"
			}
		}
		result[k].OpenIngress = rules.openIngress(result[k].SecurityGroups)
	}
	return result, errors.Join(descErr, rules.err)
}

// describeInstances reads the instances by ID, under its own timeout.
func (in *Inspector) describeInstances(ctx context.Context, ids []string, opt func(*ec2.Options)) (map[string]ec2types.Instance, error) {
	call, cancel := in.timeout(ctx)
	defer cancel()
	// A filter, not InstanceIds: EC2 fails the whole call when one of the
	// given IDs no longer exists, and a filter just leaves it out.
	out, err := in.EC2.DescribeInstances(call, &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: ids}},
	}, opt)
	if err != nil {
		return nil, in.failed("describe instances", ctx, call, err)
	}
	found := map[string]ec2types.Instance{}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			found[aws.ToString(i.InstanceId)] = i
		}
	}
	return found, nil
}

func fill(dst *alert.Instance, i ec2types.Instance) {
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
	dst.PrivateIP = aws.ToString(i.PrivateIpAddress)
	dst.VPC = aws.ToString(i.VpcId)
	dst.Subnet = aws.ToString(i.SubnetId)
	dst.SecurityGroups = nil
	for _, g := range i.SecurityGroups {
		dst.SecurityGroups = append(dst.SecurityGroups, alert.SecurityGroup{ID: aws.ToString(g.GroupId), Name: aws.ToString(g.GroupName)})
	}
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
}

// groupRules are the ingress rules open to the internet per security
// group, from one or two DescribeSecurityGroups calls, and what failed.
type groupRules struct {
	open map[string][]string
	err  error
}

func (r groupRules) merge(o groupRules) groupRules {
	open := make(map[string][]string, len(r.open)+len(o.open))
	maps.Copy(open, r.open)
	maps.Copy(open, o.open)
	return groupRules{open: open, err: errors.Join(r.err, o.err)}
}

// openIngress lists the open rules of the groups: "sg-0c1d (web-open): tcp
// 22 from anywhere".
func (r groupRules) openIngress(groups []alert.SecurityGroup) []string {
	var out []string
	for _, g := range groups {
		for _, rule := range r.open[g.ID] {
			out = append(out, g.ID+" ("+g.Name+"): "+rule)
		}
	}
	return out
}

// openGroups reads the groups' ingress rules open to 0.0.0.0/0 or ::/0
// ("tcp 22", "all traffic"), under its own timeout.
func (in *Inspector) openGroups(ctx context.Context, ids []string, opt func(*ec2.Options)) groupRules {
	call, cancel := in.timeout(ctx)
	defer cancel()
	// By filter, as for instances: a deleted group must not hide the others.
	out, err := in.EC2.DescribeSecurityGroups(call, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: ids}},
	}, opt)
	if err != nil {
		return groupRules{err: in.failed("describe security groups", ctx, call, err)}
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
	return groupRules{open: open}
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
	call, cancel := in.timeout(ctx)
	defer cancel()
	out, err := in.CloudTrail.LookupEvents(call, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{
			AttributeKey:   cttypes.LookupAttributeKeyResourceName,
			AttributeValue: aws.String(instanceID),
		}},
		MaxResults: aws.Int32(50),
	}, func(o *cloudtrail.Options) { setRegion(&o.Region, region) })
	if err != nil {
		return nil, in.failed("lookup events", ctx, call, err)
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
	return context.WithTimeout(ctx, awslookup.OrDefault(in.Timeout, DefaultTimeout))
}

// lookupError is a failed call said in words for "could not check"
// ("describe instances: timed out after 3 seconds"); it keeps the SDK's
// error for errors.Is and errors.As.
type lookupError struct {
	msg string
	err error
}

func (e *lookupError) Error() string { return e.msg }
func (e *lookupError) Unwrap() error { return e.err }

// failed explains why the call op, made on call (derived from parent with
// the inspector's timeout), failed: its own timeout ran out, the caller's
// time ran out or it was cancelled, or AWS's error code and message.
// Never the SDK's whole error chain.
func (in *Inspector) failed(op string, parent, call context.Context, err error) error {
	var why string
	switch {
	case parent.Err() == nil && errors.Is(call.Err(), context.DeadlineExceeded):
		why = "timed out after " + human.Duration(awslookup.OrDefault(in.Timeout, DefaultTimeout))
	case errors.Is(parent.Err(), context.DeadlineExceeded):
		why = "not finished: the time for the alert's look-ups ran out"
	case parent.Err() != nil:
		why = "cancelled"
	default:
		why = awslookup.Describe(err)
	}
	return &lookupError{msg: op + ": " + why, err: err}
}

func setRegion(dst *string, region string) {
	if region != "" {
		*dst = region
	}
}
