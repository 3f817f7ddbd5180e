// Package alert defines the notification value every channel renders: one
// event, its findings, and the answers to who, what, when and where.
//
// Every string in an Alert is plain text and may hold attacker-chosen
// content (user agents, bucket names, policy text): renderers must escape
// all of it for their medium.
package alert

import (
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// Alert is one notification about one event.
type Alert struct {
	// EventID is the CloudTrail eventID; EnvelopeID the EventBridge event ID.
	EventID    string
	EnvelopeID string
	Severity   detect.Severity
	// Title is the headline of the most severe finding.
	Title string
	// Primary is the most severe finding; Others are the rest for the event.
	Primary detect.Finding
	Others  []detect.Finding
	// SeverityNote explains a severity that differs from the finding's own,
	// e.g. "raised: the bucket is public right now".
	SeverityNote string

	Who   Who
	What  What
	When  When
	Where Where
	// Exposure answers "is it public right now?" for S3 buckets; nil when
	// the question does not apply.
	Exposure *Exposure

	// Source is where the event came from: SourceCloudTrail (""),
	// SourceCloudWatch or SourceGuardDuty.
	Source string
	// Alarm is set for CloudWatch alarm alerts.
	Alarm *Alarm
	// GuardDuty is set for GuardDuty alerts: what the finding reported
	// beyond the instance.
	GuardDuty *GuardDuty
	// Instances are the EC2 instances an alarm or GuardDuty finding is
	// about, hottest first.
	Instances []Instance
	// Resolved is set when the alert reports the end of a condition (an
	// alarm back to OK), not a new one.
	Resolved bool

	Links   []Link
	Runbook string
	// Unchecked lists what could not be looked up, and why.
	Unchecked []string
	// Notes tell the reader how trailwatch handled the alert, e.g. that
	// repeats are summarized in a digest.
	Notes []string
}

// Digest summarizes the repeats of one detection by one principal that a
// storm window held back after alerting the first.
type Digest struct {
	Detection   *detect.Detection
	Severity    detect.Severity
	Principal   string
	AccountID   string
	Region      string
	WindowStart time.Time
	WindowEnd   time.Time
	// Repeats is how many events after the first were held back.
	Repeats int
	// Occurrences lists some of them (at most a few dozen).
	Occurrences []Occurrence
}

// Occurrence is one held-back event.
type Occurrence struct {
	EventID  string
	Time     string
	Resource string
	Headline string
}

// Who made the call and how they were authenticated.
type Who struct {
	// Kind is "IAM user", "IAM Identity Center user", "assumed role",
	// "root user", "AWS service", ...
	Kind string
	// Name is the most human name available: the person behind an SSO
	// session, the IAM user name, the role session name.
	Name string
	// Detail adds context: "permission set AdministratorAccess", "role X".
	Detail    string
	ARN       string
	AccountID string
	// MFA says whether MFA was used, or why that is not known.
	MFA string
	// AccessKey is the access key ID and its kind.
	AccessKey string
	// Via is the client: "AWS Management Console", "AWS CLI 2.22.4", ...
	Via       string
	UserAgent string
	// InvokedBy is the AWS service that made the call on the principal's
	// behalf, if any.
	InvokedBy string
}

// What happened.
type What struct {
	// Action is "service:EventName", e.g. "s3:PutBucketPolicy".
	Action string
	// Outcome is "succeeded" or "failed: <errorCode>: <errorMessage>".
	Outcome  string
	Failed   bool
	Resource detect.Resource
	Changes  []detect.Change
	Evidence []detect.Evidence
}

// When it happened and when trailwatch saw it.
type When struct {
	EventTime   time.Time
	ProcessedAt time.Time
	// Delay is ProcessedAt minus EventTime; zero for replays.
	Delay    time.Duration
	Replayed bool
}

// Where it happened.
type Where struct {
	AccountID    string
	AccountAlias string
	// AccountName and OUPath place the account in the organization
	// (organization mode; both set by the organization's admins, so text
	// like any other from an event).
	AccountName string
	OUPath      []OU
	Region      string
	SourceIP    string
	// SourceNote describes the source address: "AWS service", "private
	// address through VPC endpoint vpce-...".
	SourceNote  string
	VPCEndpoint string
}

// OU is the root or an organizational unit on an account's path.
type OU struct {
	ID string
	// Name is "" when it could not be read.
	Name string
}

// Exposure is the live answer to "is the bucket public right now?".
type Exposure struct {
	// Public is "yes", "no" or "unknown".
	Public   string
	Reasons  []string
	Warnings []string
}

// Link is a console link.
type Link struct {
	Label string
	URL   string
}

// Sources of alerts other than CloudTrail.
const (
	SourceCloudTrail = ""
	SourceCloudWatch = "cloudwatch"
	SourceGuardDuty  = "guardduty"
)

// Alarm is what a CloudWatch alarm reported. The alarm's name and states
// live here only: Who, What and the title of an alarm alert do not repeat
// them.
type Alarm struct {
	Name string
	// State and PreviousState are CloudWatch's: "ALARM", "OK",
	// "INSUFFICIENT_DATA" (PreviousState may be empty).
	State         string
	PreviousState string
	// Shape is "single metric", "metric math", "Metrics Insights query".
	Shape  string
	Metric string
	Query  string
	// Reason is CloudWatch's text ("Threshold Crossed: 3 out of the last 3
	// datapoints [98.7 (20/11/26 03:10:00), ..."), or whatever reason
	// was given to SetAlarmState. Datapoints carry CloudWatch's
	// "Threshold Crossed" values with RFC 3339 times: show Reason only when
	// they are empty or it is not that text.
	Reason string
	// Threshold is nil when the event does not carry it.
	Threshold *float64
	// Datapoints are the values CloudWatch evaluated, oldest first.
	Datapoints []Datapoint
	Statistic  string
	// Period is the length of one datapoint; Window = Period x
	// len(Datapoints) is how long the condition held.
	Period time.Duration
}

// Datapoint is one evaluated value of an alarm's metric.
type Datapoint struct {
	// Time is the start of the datapoint's period, UTC; zero when
	// CloudWatch's reason does not give it.
	Time  time.Time
	Value float64
}

// Window is how long the datapoints cover: Period times their number
// (zero when either is unknown).
func (a *Alarm) Window() time.Duration {
	return a.Period * time.Duration(len(a.Datapoints))
}

// Peak is the highest datapoint, and false when there is none.
func (a *Alarm) Peak() (float64, bool) {
	if len(a.Datapoints) == 0 {
		return 0, false
	}
	peak := a.Datapoints[0].Value
	for _, p := range a.Datapoints[1:] {
		peak = max(peak, p.Value)
	}
	return peak, true
}

// GuardDuty is what a GuardDuty finding reported besides the instance
// (which is in Alert.Instances). The finding type is also in What.Action
// ("guardduty:" + Type): show one of them.
type GuardDuty struct {
	FindingID string
	// Type is the finding type: "CryptoCurrency:EC2/BitcoinTool.B!DNS".
	Type string
	// Score is GuardDuty's own severity (1.0-10.0); Level its name for it
	// ("Low", "Medium", "High", "Critical"). Alert.Severity may be higher
	// (see Alert.SeverityNote).
	Score float64
	Level string
	// FirstSeen and LastSeen bound the activity the finding aggregates
	// (service.eventFirstSeen and eventLastSeen, UTC); zero when unknown.
	FirstSeen, LastSeen time.Time
	// Count is how many times GuardDuty saw the activity (service.count).
	Count int
	// Activity is GuardDuty's action type: "DNS_REQUEST",
	// "NETWORK_CONNECTION", "RUNTIME", ...
	Activity string
	// Domain is the domain the instance queried (DNS_REQUEST).
	Domain string
	// Remote is the other end of a connection (NETWORK_CONNECTION); nil
	// otherwise.
	Remote *Remote
	// Direction is "outbound", "inbound" or "" (a DNS query is outbound by
	// nature and leaves it empty); Protocol is "TCP", "UDP", ...
	Direction string
	Protocol  string
	// Blocked says whether the query or connection was blocked. It means
	// something only when Domain or Remote is set.
	Blocked bool
	// API is the AWS API call an IAM finding saw ("s3:ListBuckets"), with
	// its error code when AWS refused it; Remote is then the caller's
	// address and RemoteAccount the AWS account it called from, when
	// GuardDuty names one (InstanceCredentialExfiltration.InsideAWS).
	API           string
	RemoteAccount string
	// Process is the executable a runtime finding saw: its path (or name)
	// and, when known, its SHA-256 ("/tmp/.cache/xmrig").
	Process       string
	ProcessSHA256 string
}

// Remote is the far end of a connection GuardDuty saw.
type Remote struct {
	// IP is the IPv4 address, else the IPv6 one; Port is 0 when unknown.
	IP       string
	Port     int
	PortName string
	// ASN is the autonomous system number ("64501"); Org the organization
	// that holds it, or the ISP ("Example Hosting BV").
	ASN string
	Org string
	// Country and City are where GuardDuty places the address.
	Country string
	City    string
}

// Instance is an EC2 instance an alert is about. Tags and Name are chosen
// by whoever can tag the instance: attacker-controlled.
type Instance struct {
	ID   string
	Name string
	Tags []Tag
	// CPU is the average CPU over the alarm window, when known.
	CPU        *float64
	Type       string
	Zone       string
	LaunchTime time.Time
	Image      string
	Profile    string
	State      string
	PublicIP   string
	// PrivateIP, VPC and Subnet are those of the instance's first network
	// interface (EC2's primary one, or the first the finding lists).
	PrivateIP string
	VPC       string
	Subnet    string
	// SecurityGroups are the groups of the instance's interfaces, by ID
	// and name (names are chosen by whoever creates the group).
	SecurityGroups []SecurityGroup
	// OpenIngress lists security group rules open to the whole internet.
	OpenIngress []string
	// LaunchedBy says who ran RunInstances, and how.
	LaunchedBy string
	// Missing says why EC2 could not describe the instance.
	Missing string
}

// SecurityGroup is a security group by ID and name.
type SecurityGroup struct {
	ID   string
	Name string
}

// Tag is a resource tag.
type Tag struct {
	Key   string
	Value string
}
