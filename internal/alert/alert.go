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
	Region       string
	SourceIP     string
	// SourceNote describes the source address: "AWS service", "private
	// address through VPC endpoint vpce-...".
	SourceNote  string
	VPCEndpoint string
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

// Alarm is what a CloudWatch alarm reported.
type Alarm struct {
	Name          string
	State         string
	PreviousState string
	// Shape is "single metric", "metric math", "Metrics Insights query".
	Shape  string
	Metric string
	Query  string
	Reason string
	// Threshold is nil when the event does not carry it.
	Threshold *float64
	// Datapoints are the values CloudWatch evaluated.
	Datapoints []float64
	Statistic  string
	Period     time.Duration
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
	// OpenIngress lists security group rules open to the whole internet.
	OpenIngress []string
	// LaunchedBy says who ran RunInstances, and how.
	LaunchedBy string
	// Missing says why EC2 could not describe the instance.
	Missing string
}

// Tag is a resource tag.
type Tag struct {
	Key   string
	Value string
}
