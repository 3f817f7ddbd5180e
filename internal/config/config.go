// Package config is trailwatch's configuration: one struct read from CDK
// context at synth time (cdk.json or -c key=value) and validated there, and
// the environment the functions receive, which carries names and ARNs only,
// never a secret value.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/lazyre"
	"github.com/trailwatch/trailwatch/internal/route"
	"github.com/trailwatch/trailwatch/internal/suppress"
)

// CDK context keys.
const (
	KeySlackSecretName = "trailwatch:slackSecretName"
	KeyEmails          = "trailwatch:emails"
	KeyRetentionDays   = "trailwatch:retentionDays"
	KeyExistingTrail   = "trailwatch:existingTrail"
	// KeyTrailBuckets lists further buckets that hold CloudTrail logs (an
	// organization trail's bucket, an existing trail's bucket).
	KeyTrailBuckets = "trailwatch:trailBuckets"
	// KeyAllowedRegions lists the regions the account uses.
	KeyAllowedRegions = "trailwatch:allowedRegions"
	// KeyAllowedInstanceTypes lists GPU or very large instance types
	// (patterns such as "g5.*") that are expected.
	KeyAllowedInstanceTypes = "trailwatch:allowedInstanceTypes"
	// KeySuppressions is a JSON list of allow-list rules.
	KeySuppressions = "trailwatch:suppressions"
	// KeyThresholds sets the count and window of threshold detections: a
	// JSON object by detection ID, {"secrets-harvested": {"count": 40,
	// "windowMinutes": 15}}.
	KeyThresholds = "trailwatch:thresholds"
	// KeyForwardRegions lists the regions whose events are forwarded to the
	// stack's region; default us-east-1, where IAM, STS, sign-in and
	// Organizations events arrive.
	KeyForwardRegions = "trailwatch:forwardRegions"
	// KeyStormWindowMinutes is how long repeats of one detection by one
	// principal are held back for a digest after the first alert.
	KeyStormWindowMinutes = "trailwatch:stormWindowMinutes"
	// KeyCPUThreshold is the CPU percentage (1-100) the CPU alarms fire at.
	KeyCPUThreshold = "trailwatch:cpuThreshold"
	// KeyCPUPeriodMinutes is the CPU alarms' period.
	KeyCPUPeriodMinutes = "trailwatch:cpuPeriodMinutes"
	// KeyCPUDatapoints is how many consecutive periods must breach.
	KeyCPUDatapoints = "trailwatch:cpuDatapoints"
	// KeyCPUDetailedMonitoring says the instances have detailed monitoring
	// (a CPU datapoint every minute), which a 1-minute period needs.
	KeyCPUDetailedMonitoring = "trailwatch:cpuDetailedMonitoring"
	// KeyCPUAlarmInstances lists instances that get an alarm of their own.
	KeyCPUAlarmInstances = "trailwatch:cpuAlarmInstances"
	// KeyCPUAlarmGroups lists Auto Scaling groups that get an alarm of
	// their own.
	KeyCPUAlarmGroups = "trailwatch:cpuAlarmAutoScalingGroups"
	// KeyAlarmNames lists existing alarms to report like trailwatch's.
	KeyAlarmNames = "trailwatch:alarmNames"
	// KeyAlarmResolved turns the "resolved" message off (false).
	KeyAlarmResolved = "trailwatch:alarmResolved"
	// KeyAlarmInsufficientData reports alarms entering INSUFFICIENT_DATA.
	KeyAlarmInsufficientData = "trailwatch:alarmInsufficientData"
	// KeyMiningMinSeverity is the lowest severity of a GuardDuty
	// crypto-mining finding (info, low, medium, high or critical).
	KeyMiningMinSeverity = detect.MiningMinSeverityKey
	// KeyOrganizationID turns organization mode on: the ID ("o-...") of
	// the AWS Organization whose member accounts are watched.
	KeyOrganizationID = "trailwatch:organizationId"
	// KeyOrganizationTargets lists the organizational units (or the root)
	// whose accounts get the member stack; required in organization mode.
	KeyOrganizationTargets = "trailwatch:organizationTargets"
	// KeyMemberRegions lists the regions where member accounts are
	// watched; default the home region and us-east-1.
	KeyMemberRegions = "trailwatch:memberRegions"
	// KeyObjectLockMode is the Object Lock mode of the trail bucket's
	// default retention: governance (default) or compliance.
	KeyObjectLockMode = "trailwatch:objectLockMode"
	// KeyRoutes is a JSON list of routes (internal/route): OUs and
	// accounts, with a minimum severity, to their own channels.
	KeyRoutes = "trailwatch:routes"
	// KeyStackSetCallAs says which account deploys in organization mode:
	// DELEGATED_ADMIN (default), a member account registered as
	// CloudFormation StackSets' delegated administrator, or SELF, the
	// organization's management account.
	KeyStackSetCallAs = "trailwatch:stackSetCallAs"
	// KeySigmaRules names a folder of Sigma rules for CloudTrail (.yml),
	// relative to the folder cdk runs the app in (the repository root),
	// each of which becomes the detection sigma-<rule id> (docs/sigma.md).
	KeySigmaRules = "trailwatch:sigmaRules"
	// KeySigmaSkipUnsupported deploys the rules of the folder that load
	// and names the others, instead of failing synth on them.
	KeySigmaSkipUnsupported = "trailwatch:sigmaSkipUnsupported"
	// KeyScanArchive deploys the distributed scan (docs/scan.md) over an
	// archive of CloudTrail logs: s3://bucket/prefix, or "trail" for the
	// bucket of the trail trailwatch creates.
	KeyScanArchive = "trailwatch:scanArchive"
	// KeyScanMaxConcurrency is how many children of the distributed scan
	// run at once (the Distributed Map's MaxConcurrency).
	KeyScanMaxConcurrency = "trailwatch:scanMaxConcurrency"
	// KeyScanArchiveKey is the ARN of the KMS key that encrypts an
	// s3://bucket/prefix archive's objects (SSE-KMS with a customer
	// managed key, as an organization trail often writes them): the scan
	// function may decrypt with it.
	KeyScanArchiveKey = "trailwatch:scanArchiveKey"
)

// Keys returns every CDK context key FromContext reads, in the order
// docs/configuration.md lists them. A key added to the constants above
// belongs here too (a test compares the two), so that the table-driven test
// of bad values and the documentation test cover it.
func Keys() []string {
	return []string{
		KeyEmails, KeySlackSecretName, KeyRetentionDays, KeyExistingTrail, KeyForwardRegions, KeyTrailBuckets,
		KeyAllowedRegions, KeyAllowedInstanceTypes, KeySuppressions, KeyThresholds, KeyCPUThreshold,
		KeyCPUPeriodMinutes, KeyCPUDatapoints, KeyCPUDetailedMonitoring, KeyCPUAlarmInstances, KeyCPUAlarmGroups,
		KeyAlarmNames, KeyAlarmResolved, KeyAlarmInsufficientData, KeyMiningMinSeverity, KeySigmaRules,
		KeySigmaSkipUnsupported, KeyStormWindowMinutes, KeyObjectLockMode, KeyOrganizationID,
		KeyOrganizationTargets, KeyMemberRegions, KeyStackSetCallAs, KeyRoutes, KeyScanArchive,
		KeyScanMaxConcurrency, KeyScanArchiveKey,
	}
}

// CheckKeys refuses the keys of context (every CDK context value, as
// Node().GetAllContext returns them) that start with "trailwatch:" but are
// none of Keys: a misspelt key would otherwise be ignored, its setting
// silently left at the default. It names the closest key.
func CheckKeys(context map[string]any) error {
	known := Keys()
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(context)) {
		if !strings.HasPrefix(k, "trailwatch:") || slices.Contains(known, k) {
			continue
		}
		name := func(key string) string { return strings.ToLower(strings.TrimPrefix(key, "trailwatch:")) }
		best, dist := "", -1
		for _, c := range known {
			if d := levenshtein.ComputeDistance(name(k), name(c)); dist < 0 || d < dist {
				best, dist = c, d
			}
		}
		hint := "remove it, or give one of the keys docs/configuration.md lists"
		if dist <= len(name(best))/3 {
			hint = "did you mean " + best + "?"
		}
		errs = append(errs, fmt.Errorf("%s is not a trailwatch setting, so it would be ignored: %s", k, hint))
	}
	return errors.Join(errs...)
}

// Values of KeyStackSetCallAs, as CloudFormation's CallAs takes them.
const (
	CallAsSelf           = "SELF"
	CallAsDelegatedAdmin = "DELEGATED_ADMIN"
)

// MaxOrganizationTargets is how many OUs one StackSet operation
// (CreateStackInstances) accepts.
const MaxOrganizationTargets = 50

// LookupRoleName is the role every member account holds for the central
// functions' look-ups, at arn:<partition>:iam::<account>:role/TrailwatchLookup.
// The detection of tampering with it (trailwatch-member-role-tampered) holds
// the name.
const LookupRoleName = detect.MemberLookupRole

// MaxCPUWindowMinutes is the longest window (period × datapoints) the CPU
// alarms take: the fleet alarm's Metrics Insights query sees the last 3
// hours of metrics only.
const MaxCPUWindowMinutes = 180

// MinRetentionDays is the shortest trail log retention trailwatch accepts.
const MinRetentionDays = 365

// Config is the deploy-time configuration.
type Config struct {
	// SlackSecretName names the Secrets Manager secret holding the Slack
	// incoming webhook URL. Empty: no Slack delivery.
	SlackSecretName string
	// Emails are subscribed to the alert topic.
	Emails []string
	// RetentionDays keeps trail logs at least this long (>= 365).
	RetentionDays int
	// ExistingTrail names a trail (name or ARN) that already records
	// management events in this account; when set, no trail is created.
	ExistingTrail string
	// TrailBuckets are further buckets that hold CloudTrail logs.
	TrailBuckets []string
	// AllowedRegions are the regions the account uses; empty: no check.
	AllowedRegions []string
	// AllowedInstanceTypes are expected GPU or very large instance types.
	AllowedInstanceTypes []string
	// Suppressions are the allow-lists.
	Suppressions []suppress.Rule
	// Thresholds are the deployment's counts and windows of threshold
	// detections, by detection ID.
	Thresholds map[string]detect.ThresholdSetting
	// ForwardRegions send their events to the stack's region.
	ForwardRegions []string
	// StormWindowMinutes is the storm window (1-60).
	StormWindowMinutes int
	// CPU alarms: threshold in percent, period, consecutive datapoints.
	CPUThreshold     int
	CPUPeriodMinutes int
	CPUDatapoints    int
	// CPUDetailedMonitoring acknowledges that the instances report CPU
	// every minute (detailed monitoring); a 1-minute period needs it.
	CPUDetailedMonitoring bool
	// CPUAlarmInstances and CPUAlarmGroups get alarms of their own.
	CPUAlarmInstances []string
	CPUAlarmGroups    []string
	// AlarmNames are existing alarms reported like trailwatch's.
	AlarmNames []string
	// AlarmResolved sends a message when an alarm goes back to OK.
	AlarmResolved bool
	// AlarmInsufficientData reports alarms entering INSUFFICIENT_DATA.
	AlarmInsufficientData bool
	// MiningMinSeverity is the lowest severity of a GuardDuty crypto-mining
	// finding, whatever GuardDuty scored it.
	MiningMinSeverity detect.Severity
	// OrganizationID, when set, is organization mode: the ID of the AWS
	// Organization whose accounts OrganizationTargets names.
	OrganizationID string
	// OrganizationTargets are the OU IDs ("ou-...") or the root ID
	// ("r-...") whose accounts get the member stack.
	OrganizationTargets []string
	// MemberRegions are where member accounts are watched; empty means the
	// home region and us-east-1 (see MemberRegionsFor).
	MemberRegions []string
	// Routes send the alerts of some OUs and accounts to channels of their
	// own, from a minimum severity (organization mode only).
	Routes route.Table
	// StackSetCallAs is CallAsSelf or CallAsDelegatedAdmin; empty means
	// CallAsDelegatedAdmin (see CallAs).
	StackSetCallAs string
	// ObjectLockMode is the trail bucket's Object Lock mode: "governance"
	// or "compliance" (every log file kept RetentionDays); empty means
	// governance (see ObjectLock).
	ObjectLockMode string
	// SigmaRules is the folder of the user's Sigma rules; empty for none.
	SigmaRules string
	// SigmaSkipUnsupported leaves out refused rules instead of failing.
	SigmaSkipUnsupported bool
	// Sigma holds the detections loaded from SigmaRules, for the catalog
	// (detect.BuiltinWith(cfg.Sigma...)).
	Sigma []*detect.Detection
	// SigmaWarnings name the rules left out under SigmaSkipUnsupported.
	SigmaWarnings []string
	// ScanArchive, when set, deploys the distributed scan over this
	// archive: s3://bucket/prefix, or ScanArchiveTrail (see ScanSource).
	ScanArchive string
	// ScanMaxConcurrency bounds the distributed scan's children running
	// at once.
	ScanMaxConcurrency int
	// ScanArchiveKey is the ARN of the KMS key of an s3:// archive's
	// objects, "" when S3 manages their encryption.
	ScanArchiveKey string
}

// ScanArchiveTrail as KeyScanArchive scans the bucket of the trail
// trailwatch creates.
const ScanArchiveTrail = "trail"

// Bounds of KeyScanMaxConcurrency: Step Functions runs at most 10,000
// children of a Distributed Map at once; the default leaves most of an
// account's default Lambda concurrency (1,000) to everything else.
const (
	MaxScanConcurrency     = 10000
	DefaultScanConcurrency = 100
)

// ScanSource returns where the distributed scan reads: the archive's
// bucket and key prefix, or trail set for the trail bucket trailwatch
// creates (bucket and prefix empty then). ok is false when no
// distributed scan is configured.
func (c Config) ScanSource() (bucket, prefix string, trail, ok bool) {
	switch {
	case c.ScanArchive == "":
		return "", "", false, false
	case c.ScanArchive == ScanArchiveTrail:
		return "", "", true, true
	}
	rest, _ := strings.CutPrefix(c.ScanArchive, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, prefix, false, true
}

// ObjectLock returns the trail bucket's Object Lock mode.
func (c Config) ObjectLock() string {
	if c.ObjectLockMode == "" {
		return ObjectLockGovernance
	}
	return c.ObjectLockMode
}

// Object Lock modes of the trail bucket.
const (
	ObjectLockGovernance = "governance"
	ObjectLockCompliance = "compliance"
)

// CallAs returns how the member StackSet is managed: as the management
// account (SELF) or as a delegated administrator (DELEGATED_ADMIN, the
// default: AWS recommends keeping workloads out of the management account).
func (c Config) CallAs() string {
	if c.StackSetCallAs == "" {
		return CallAsDelegatedAdmin
	}
	return c.StackSetCallAs
}

// Organization reports whether the configuration is organization mode.
func (c Config) Organization() bool { return c.OrganizationID != "" }

// MemberRegionsFor returns the regions member accounts are watched in for
// a deployment in home: MemberRegions, or home and us-east-1 (where IAM,
// STS, sign-in and Organizations events arrive), without repeats.
func (c Config) MemberRegionsFor(home string) []string {
	if len(c.MemberRegions) > 0 {
		return slices.Compact(slices.Sorted(slices.Values(c.MemberRegions)))
	}
	var out []string
	for _, r := range []string{home, "us-east-1"} {
		if r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// Default is the configuration when no context is given.
func Default() Config {
	return Config{RetentionDays: MinRetentionDays, ForwardRegions: []string{"us-east-1"}, StormWindowMinutes: 5,
		CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh,
		ScanMaxConcurrency: DefaultScanConcurrency}
}

// FromContext reads the configuration through get, which returns a context
// value or nil (awscdk's Node().TryGetContext). Values may be strings, as
// given with -c, or JSON values from cdk.json.
func FromContext(get func(key string) any) (Config, error) {
	c := Default()
	var errs []error
	for _, k := range []struct {
		key string
		dst *string
	}{
		{KeySlackSecretName, &c.SlackSecretName},
		{KeyExistingTrail, &c.ExistingTrail},
		{KeyOrganizationID, &c.OrganizationID},
		{KeyStackSetCallAs, &c.StackSetCallAs},
		{KeyObjectLockMode, &c.ObjectLockMode},
		{KeySigmaRules, &c.SigmaRules},
		{KeyScanArchive, &c.ScanArchive},
		{KeyScanArchiveKey, &c.ScanArchiveKey},
	} {
		if v := get(k.key); v != nil {
			s, err := asString(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k.key, err))
			}
			*k.dst = s
		}
	}
	c.ObjectLockMode = strings.ToLower(c.ObjectLockMode)
	c.StackSetCallAs = strings.ToUpper(c.StackSetCallAs)
	if v := get(KeyEmails); v != nil {
		list, err := asList(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeyEmails, err))
		}
		c.Emails = list
	}
	if v := get(KeyRetentionDays); v != nil {
		n, err := asInt(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeyRetentionDays, err))
		} else {
			c.RetentionDays = n
		}
	}
	for _, l := range []struct {
		key string
		dst *[]string
	}{
		{KeyTrailBuckets, &c.TrailBuckets},
		{KeyAllowedRegions, &c.AllowedRegions},
		{KeyAllowedInstanceTypes, &c.AllowedInstanceTypes},
		{KeyForwardRegions, &c.ForwardRegions},
		{KeyCPUAlarmInstances, &c.CPUAlarmInstances},
		{KeyCPUAlarmGroups, &c.CPUAlarmGroups},
		{KeyAlarmNames, &c.AlarmNames},
		{KeyOrganizationTargets, &c.OrganizationTargets},
		{KeyMemberRegions, &c.MemberRegions},
	} {
		if v := get(l.key); v != nil {
			list, err := asList(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", l.key, err))
			}
			*l.dst = list
		}
	}
	for _, n := range []struct {
		key string
		dst *int
	}{
		{KeyStormWindowMinutes, &c.StormWindowMinutes},
		{KeyCPUThreshold, &c.CPUThreshold},
		{KeyCPUPeriodMinutes, &c.CPUPeriodMinutes},
		{KeyCPUDatapoints, &c.CPUDatapoints},
		{KeyScanMaxConcurrency, &c.ScanMaxConcurrency},
	} {
		if v := get(n.key); v != nil {
			i, err := asInt(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", n.key, err))
			} else {
				*n.dst = i
			}
		}
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{
		{KeyAlarmResolved, &c.AlarmResolved},
		{KeyAlarmInsufficientData, &c.AlarmInsufficientData},
		{KeyCPUDetailedMonitoring, &c.CPUDetailedMonitoring},
		{KeySigmaSkipUnsupported, &c.SigmaSkipUnsupported},
	} {
		if v := get(b.key); v != nil {
			x, err := asBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", b.key, err))
			} else {
				*b.dst = x
			}
		}
	}
	if v := get(KeyRoutes); v != nil {
		t, err := asJSON[route.Table](v, "a JSON list of routes {name, ous, accounts, minSeverity, slackSecretName, emails}")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeyRoutes, err))
		}
		c.Routes = t
	}
	if v := get(KeyMiningMinSeverity); v != nil {
		sev, err := asSeverity(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeyMiningMinSeverity, err))
		} else {
			c.MiningMinSeverity = sev
		}
	}
	if v := get(KeySuppressions); v != nil {
		rules, err := asJSON[[]suppress.Rule](v, "a JSON list of rules {detections, principals, accounts, sourceCidrs, reason, force}")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeySuppressions, err))
		}
		c.Suppressions = rules
	}
	if v := get(KeyThresholds); v != nil {
		t, err := asJSON[map[string]detect.ThresholdSetting](v, `a JSON object {"DETECTION": {"count": N, "windowMinutes": M}}`)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeyThresholds, err))
		}
		c.Thresholds = t
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if get(KeyScanMaxConcurrency) != nil && c.ScanArchive == "" {
		return c, fmt.Errorf("%s is set without %s: give the archive to scan (s3://bucket/prefix, or %s), or remove %s", KeyScanMaxConcurrency, KeyScanArchive, ScanArchiveTrail, KeyScanMaxConcurrency)
	}
	if c.ScanArchiveKey != "" && c.ScanArchive == "" {
		return c, fmt.Errorf("%s is set without %s: give the archive to scan (s3://bucket/prefix), or remove %s", KeyScanArchiveKey, KeyScanArchive, KeyScanArchiveKey)
	}
	if c.SigmaRules == "" && c.SigmaSkipUnsupported {
		return c, fmt.Errorf("%s is set but %s names no folder: set %s to the folder of your Sigma rules, or remove %s", KeySigmaSkipUnsupported, KeySigmaRules, KeySigmaRules, KeySigmaSkipUnsupported)
	}
	return c, c.Validate()
}

// SigmaLoader reads a folder of Sigma rules (internal/sigma.Load): the
// detections of the rules that load, and for each refused file a line
// naming it and why. It is passed in, so that the functions, which read
// their configuration with this package, do not link the Sigma evaluator.
type SigmaLoader func(dir string) (loaded []*detect.Detection, refused []string, err error)

// LoadSigma loads the folder SigmaRules names, when it names one, into
// Sigma. A refused rule fails the synth, naming its file and the reason,
// unless SigmaSkipUnsupported is set; then it is in SigmaWarnings.
func (c *Config) LoadSigma(load SigmaLoader) error {
	if c.SigmaRules == "" {
		return nil
	}
	loaded, refused, err := load(c.SigmaRules)
	if err != nil {
		return fmt.Errorf("%s: %w; give a folder of Sigma rules (.yml), relative to the repository root", KeySigmaRules, err)
	}
	if len(loaded) == 0 && len(refused) == 0 {
		return fmt.Errorf("%s: no .yml or .yaml file in %s", KeySigmaRules, c.SigmaRules)
	}
	if len(refused) > 0 && !c.SigmaSkipUnsupported {
		return fmt.Errorf("%s: %d of %d rules cannot be deployed (set %s=true to deploy the others):\n%s",
			KeySigmaRules, len(refused), len(refused)+len(loaded), KeySigmaSkipUnsupported, strings.Join(refused, "\n"))
	}
	for _, r := range refused {
		c.SigmaWarnings = append(c.SigmaWarnings, fmt.Sprintf("%s: skipped (%s): %s", KeySigmaRules, KeySigmaSkipUnsupported, r))
	}
	c.Sigma = loaded
	return nil
}

var (
	instanceIDRe = lazyre.New(`^i-[0-9a-f]{8,17}$`)
	// Long names are bounded by length, not by a counted repetition: a
	// repetition of up to 512 compiles to 512 copies of its class, which
	// cost the functions 1 MB and 2 ms at every cold start.
	asgNameRe    = bounded{lazyre.New(`^[A-Za-z0-9 ._/-]+$`), 1, 200}
	alarmNameRe  = bounded{lazyre.New(`^[^\x00-\x1f]+$`), 1, 255}
	secretNameRe = bounded{lazyre.New(`^[A-Za-z0-9/_+=.@-]+$`), 1, 512}
	trailNameRe  = bounded{lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._-]+$`), 3, 128}
	kmsKeyARNRe  = lazyre.New(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)
	trailARNRe   = lazyre.New(`^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail/([A-Za-z0-9._-]+)$`)
)

// bounded is a regular expression for names of min to max characters.
type bounded struct {
	re       *lazyre.Regexp
	min, max int
}

// MatchString reports whether s has min to max characters and matches.
func (b bounded) MatchString(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= b.min && n <= b.max && b.re.MatchString(s)
}

// isTrailARN reports whether s is a trail's ARN, its name 3 to 128
// characters.
func isTrailARN(s string) bool {
	m := trailARNRe.FindStringSubmatch(s)
	return m != nil && len(m[1]) >= 3 && len(m[1]) <= 128
}

// Validate explains every problem at once, naming the context key to fix.
func (c Config) Validate() error {
	var errs []error
	if c.SlackSecretName != "" {
		switch {
		case strings.Contains(c.SlackSecretName, "://") || strings.HasPrefix(c.SlackSecretName, "hooks.slack.com"):
			errs = append(errs, fmt.Errorf("%s looks like a webhook URL; store the URL in Secrets Manager and give the secret's name here, so the URL never enters the template", KeySlackSecretName))
		case !secretNameRe.MatchString(c.SlackSecretName):
			errs = append(errs, fmt.Errorf("%s %q is not a valid Secrets Manager secret name (letters, digits and /_+=.@- only)", KeySlackSecretName, c.SlackSecretName))
		}
	}
	seen := map[string]bool{}
	for _, e := range c.Emails {
		addr, err := mail.ParseAddress(e)
		if err != nil || addr.Address != e || addr.Name != "" {
			errs = append(errs, fmt.Errorf("%s: %q is not a plain email address; give the address alone (secops@example.com), without a display name", KeyEmails, e))
			continue
		}
		if seen[strings.ToLower(e)] {
			errs = append(errs, fmt.Errorf("%s: %q is listed twice; list each address once", KeyEmails, e))
		}
		seen[strings.ToLower(e)] = true
	}
	if c.CPUThreshold < 1 || c.CPUThreshold > 100 {
		errs = append(errs, fmt.Errorf("%s is %d; want a CPU percentage from 1 to 100", KeyCPUThreshold, c.CPUThreshold))
	}
	if !slices.Contains([]int{1, 5, 10, 15, 30, 60}, c.CPUPeriodMinutes) {
		errs = append(errs, fmt.Errorf("%s is %d; want 1, 5, 10, 15, 30 or 60 (CloudWatch alarm periods)", KeyCPUPeriodMinutes, c.CPUPeriodMinutes))
	}
	switch {
	case c.CPUDatapoints < 1:
		errs = append(errs, fmt.Errorf("%s is %d; want at least 1 period", KeyCPUDatapoints, c.CPUDatapoints))
	case c.CPUPeriodMinutes*c.CPUDatapoints > MaxCPUWindowMinutes:
		// The fleet alarm is a Metrics Insights query, which CloudWatch
		// evaluates over the last 3 hours of data only: a longer window
		// could never fill, and the alarm would never fire.
		errs = append(errs, fmt.Errorf("%s × %s is %d × %d = %d minutes; the fleet CPU alarm is a Metrics Insights query, which CloudWatch evaluates over the last %d minutes only: lower %s or %s so that their product is at most %d",
			KeyCPUPeriodMinutes, KeyCPUDatapoints, c.CPUPeriodMinutes, c.CPUDatapoints, c.CPUPeriodMinutes*c.CPUDatapoints, MaxCPUWindowMinutes,
			KeyCPUDatapoints, KeyCPUPeriodMinutes, MaxCPUWindowMinutes))
	}
	if c.CPUPeriodMinutes == 1 && !c.CPUDetailedMonitoring {
		// Basic monitoring sends one datapoint every 5 minutes: four of
		// five 1-minute periods are missing, treated as not breaching, so
		// consecutive breaching periods never happen.
		errs = append(errs, fmt.Errorf("%s is 1, but under basic monitoring EC2 reports CPU every 5 minutes, so 1-minute periods are mostly empty (not breaching) and the alarms never fire: use 5, or turn detailed monitoring on for the instances and set %s=true",
			KeyCPUPeriodMinutes, KeyCPUDetailedMonitoring))
	}
	for _, id := range c.CPUAlarmInstances {
		if !instanceIDRe.MatchString(id) {
			errs = append(errs, fmt.Errorf("%s: %q is not an EC2 instance ID; give IDs such as i-0a1b2c3d4e5f60718 (i- and 8 or 17 hexadecimal digits)", KeyCPUAlarmInstances, id))
		}
	}
	alarmOf := map[string]string{}
	for _, g := range c.CPUAlarmGroups {
		if !asgNameRe.MatchString(g) {
			errs = append(errs, fmt.Errorf("%s: %q is not an Auto Scaling group name trailwatch accepts (letters, digits, space and ._/-)", KeyCPUAlarmGroups, g))
		}
		// The group's alarm is named after it, spaces as dashes.
		name := strings.ReplaceAll(g, " ", "-")
		if other, ok := alarmOf[name]; ok {
			errs = append(errs, fmt.Errorf("%s: %q and %q would get the same alarm name; list each group once", KeyCPUAlarmGroups, other, g))
		}
		alarmOf[name] = g
	}
	for _, n := range c.AlarmNames {
		switch {
		case !alarmNameRe.MatchString(n):
			errs = append(errs, fmt.Errorf("%s: %q is not a CloudWatch alarm name (1 to 255 characters, no control characters)", KeyAlarmNames, n))
		case n == "*":
			errs = append(errs, fmt.Errorf("%s: \"*\" would report every alarm of the account as a CPU alarm; give the names, or prefixes ending in * (web-cpu-*), of the alarms that watch EC2 CPU", KeyAlarmNames))
		case strings.Contains(strings.TrimSuffix(n, "*"), "*"):
			// Names are exact, or prefixes with one trailing *: EventBridge
			// matches a prefix, not a pattern, so "a*b" would be taken as
			// the exact name and "c**" as the prefix "c*".
			errs = append(errs, fmt.Errorf("%s: %q has a * other than one at the end; give an exact alarm name, or a prefix ending in a single * (web-cpu-*)", KeyAlarmNames, n))
		}
	}
	if c.RetentionDays < MinRetentionDays {
		errs = append(errs, fmt.Errorf("%s is %d; trail logs must be kept at least %d days", KeyRetentionDays, c.RetentionDays, MinRetentionDays))
	}
	if c.RetentionDays > 36500 {
		errs = append(errs, fmt.Errorf("%s is %d; at most 36500 days (100 years)", KeyRetentionDays, c.RetentionDays))
	}
	if t := c.ExistingTrail; t != "" && !trailNameRe.MatchString(t) && !isTrailARN(t) {
		errs = append(errs, fmt.Errorf("%s %q is neither a trail name nor a trail ARN; give the trail's name (3 to 128 letters, digits and ._-) or its ARN (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)", KeyExistingTrail, t))
	}
	for _, b := range c.TrailBuckets {
		if !bucketRe.MatchString(b) {
			errs = append(errs, fmt.Errorf("%s: %q is not an S3 bucket name; give the bucket's name (3 to 63 lower-case letters, digits, dots and hyphens), not its ARN or URL", KeyTrailBuckets, b))
		}
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{KeyAllowedRegions, c.AllowedRegions}, {KeyForwardRegions, c.ForwardRegions}, {KeyMemberRegions, c.MemberRegions}} {
		for _, r := range l.list {
			if !RegionRe.MatchString(r) {
				errs = append(errs, fmt.Errorf("%s: %q is not a region name; give region names such as eu-west-1", l.key, r))
			}
		}
	}
	for _, p := range c.AllowedInstanceTypes {
		if _, err := path.Match(p, "x"); err != nil || !instanceTypeRe.MatchString(p) {
			errs = append(errs, fmt.Errorf("%s: %q is not an instance type or pattern such as g5.*", KeyAllowedInstanceTypes, p))
		}
	}
	if err := suppress.Validate(c.Suppressions, nil); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", KeySuppressions, err))
	}
	if len(c.Thresholds) > 0 {
		builtin, err := detect.Builtin()
		if err == nil {
			err = detect.CheckThresholds(c.Thresholds, builtin.All())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeyThresholds, err))
		}
	}
	if !c.MiningMinSeverity.Valid() {
		errs = append(errs, fmt.Errorf("%s is not set to a severity; want info, low, medium, high or critical", KeyMiningMinSeverity))
	}
	if c.StormWindowMinutes < 1 || c.StormWindowMinutes > 60 {
		errs = append(errs, fmt.Errorf("%s is %d; want 1 to 60 minutes", KeyStormWindowMinutes, c.StormWindowMinutes))
	}
	if c.ObjectLockMode != "" && c.ObjectLockMode != ObjectLockGovernance && c.ObjectLockMode != ObjectLockCompliance {
		errs = append(errs, fmt.Errorf("%s is %q; want governance (administrators allowed to bypass it can still delete log files) or compliance (nobody can, not even the root user, until the retention ends)", KeyObjectLockMode, c.ObjectLockMode))
	}
	errs = append(errs, c.validateOrganization()...)
	errs = append(errs, c.validateScan()...)
	return errors.Join(errs...)
}

// validateScan checks the distributed scan's keys: an archive as
// s3://bucket/prefix (or "trail" when trailwatch creates the trail), and
// a concurrency Step Functions accepts (FromContext refuses it without an
// archive).
func (c Config) validateScan() []error {
	var errs []error
	bucket, prefix, trail, ok := c.ScanSource()
	switch {
	case !ok:
		return nil
	case trail && c.ExistingTrail != "":
		errs = append(errs, fmt.Errorf("%s is %q, but with %s trailwatch creates no trail bucket: give the existing trail's archive as s3://bucket/prefix", KeyScanArchive, ScanArchiveTrail, KeyExistingTrail))
	case trail:
	case !strings.HasPrefix(c.ScanArchive, "s3://"):
		errs = append(errs, fmt.Errorf("%s is %q; give the archive as s3://bucket/prefix (such as s3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/), or %s for the bucket of the trail trailwatch creates", KeyScanArchive, c.ScanArchive, ScanArchiveTrail))
	case !bucketRe.MatchString(bucket):
		errs = append(errs, fmt.Errorf("%s: %q is not an S3 bucket name; give s3://bucket/prefix with the bucket's name (3 to 63 lower-case letters, digits, dots and hyphens)", KeyScanArchive, bucket))
	case strings.ContainsAny(prefix, "*?\x00") || strings.HasPrefix(prefix, "/"):
		errs = append(errs, fmt.Errorf("%s: the prefix %q is not a key prefix; give the folder the logs are under, without wildcards or a leading /", KeyScanArchive, prefix))
	}
	switch k := c.ScanArchiveKey; {
	case k == "":
	case trail:
		errs = append(errs, fmt.Errorf("%s is set, but %s is %q, whose key trailwatch knows: remove %s", KeyScanArchiveKey, KeyScanArchive, ScanArchiveTrail, KeyScanArchiveKey))
	case !kmsKeyARNRe.MatchString(k):
		errs = append(errs, fmt.Errorf("%s %q is not a KMS key ARN; give the key's ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), not an alias: IAM grants decryption by key", KeyScanArchiveKey, k))
	}
	if c.ScanMaxConcurrency < 1 || c.ScanMaxConcurrency > MaxScanConcurrency {
		errs = append(errs, fmt.Errorf("%s is %d; want 1 to %d children at once (Step Functions' limit), within the account's Lambda concurrency", KeyScanMaxConcurrency, c.ScanMaxConcurrency, MaxScanConcurrency))
	}
	return errs
}

var (
	organizationIDRe = lazyre.New(`^o-[a-z0-9]{10,32}$`)
	rootIDRe         = lazyre.New(`^r-[0-9a-z]{4,32}$`)
	ouIDRe           = lazyre.New(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	roleNameRe       = bounded{lazyre.New(`^[\w+=,.@-]+$`), 1, 64}
)

// validateOrganization checks the organization-mode keys: an organization
// ID as Organizations writes it, at least one target (the root, or OUs; not
// both, since StackSets would deploy the OUs' accounts twice), and no
// member keys without organization mode.
func (c Config) validateOrganization() []error {
	var errs []error
	if err := c.Routes.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", KeyRoutes, err))
	}
	for _, r := range c.Routes {
		if r.TopicARN != "" {
			errs = append(errs, fmt.Errorf("%s: route %q sets topicArn, which the stack sets: give the route's emails instead", KeyRoutes, r.Name))
		}
	}
	if c.OrganizationID == "" {
		for _, k := range []struct {
			key string
			set bool
		}{{KeyOrganizationTargets, len(c.OrganizationTargets) > 0}, {KeyMemberRegions, len(c.MemberRegions) > 0}, {KeyRoutes, len(c.Routes) > 0}, {KeyStackSetCallAs, c.StackSetCallAs != ""}} {
			if k.set {
				errs = append(errs, fmt.Errorf("%s is set without %s: set the organization ID (o-...) to turn organization mode on, or remove %s", k.key, KeyOrganizationID, k.key))
			}
		}
		return errs
	}
	if !organizationIDRe.MatchString(c.OrganizationID) {
		errs = append(errs, fmt.Errorf("%s %q is not an organization ID (o- and 10 to 32 lower-case letters or digits, as `aws organizations describe-organization` prints it)", KeyOrganizationID, c.OrganizationID))
	}
	if c.StackSetCallAs != "" && c.StackSetCallAs != CallAsSelf && c.StackSetCallAs != CallAsDelegatedAdmin {
		errs = append(errs, fmt.Errorf("%s is %q; want %s (deploying from a delegated administrator of CloudFormation StackSets) or %s (from the management account)",
			KeyStackSetCallAs, c.StackSetCallAs, CallAsDelegatedAdmin, CallAsSelf))
	}
	if len(c.OrganizationTargets) == 0 {
		errs = append(errs, fmt.Errorf("%s is required in organization mode: the root ID (r-...) or the OU IDs (ou-...) whose accounts are watched", KeyOrganizationTargets))
	}
	roots, seen := 0, map[string]bool{}
	for _, t := range c.OrganizationTargets {
		switch {
		case rootIDRe.MatchString(t):
			roots++
		case ouIDRe.MatchString(t):
		default:
			errs = append(errs, fmt.Errorf("%s: %q is neither a root ID (r-...) nor an OU ID (ou-...-...); give the IDs `aws organizations list-roots` or `list-organizational-units-for-parent` print", KeyOrganizationTargets, t))
		}
		if seen[t] {
			errs = append(errs, fmt.Errorf("%s: %q is listed twice; list each target once", KeyOrganizationTargets, t))
		}
		seen[t] = true
	}
	if roots > 0 && len(c.OrganizationTargets) > roots {
		errs = append(errs, fmt.Errorf("%s lists the root and OUs: the root covers every OU; give either the root or the OUs", KeyOrganizationTargets))
	}
	if roots > 1 {
		errs = append(errs, fmt.Errorf("%s lists %d roots; an organization has one", KeyOrganizationTargets, roots))
	}
	if n := len(c.OrganizationTargets); n > MaxOrganizationTargets {
		errs = append(errs, fmt.Errorf("%s lists %d OUs; a StackSet operation takes at most %d: target their parent OU or the root", KeyOrganizationTargets, n, MaxOrganizationTargets))
	}
	return errs
}

var (
	bucketRe       = bounded{lazyre.New(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`), 3, 63}
	instanceTypeRe = lazyre.New(`^[a-z0-9*?]+\.[a-z0-9*?-]+$`)
	// RegionRe matches AWS region names.
	RegionRe = lazyre.New(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
)

// asSuppressions reads the allow-list: a JSON list (cdk.json) or a string
// holding one (-c).
// asJSON reads a JSON value given as a string (with -c) or as JSON (from
// cdk.json) into a T, refusing unknown fields; want describes T for the
// error.
func asJSON[T any](v any, want string) (T, error) {
	var out T
	raw, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return out, err
		}
		raw = string(b)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return out, fmt.Errorf("want %s: %w", want, err)
	}
	return out, nil
}

func asString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", jsonType(v))
	}
	return strings.TrimSpace(s), nil
}

// asList accepts a JSON array, or a string of comma-separated items (as -c
// passes it), or a string holding a JSON array.
func asList(v any) ([]string, error) {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("want a list of strings, found %s in it", jsonType(item))
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []string:
		return asList(toAny(x))
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "[") {
			var list []any
			if err := json.Unmarshal([]byte(s), &list); err != nil {
				return nil, fmt.Errorf("not a JSON list: %w", err)
			}
			return asList(list)
		}
		var out []string
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list or a comma-separated string, got %s", jsonType(v))
}

func toAny(in []string) []any {
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}

func asInt(v any) (int, error) {
	switch x := v.(type) {
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("%v is not a whole number; want a whole number", x)
		}
		return int(x), nil
	case int:
		return x, nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number; want a whole number", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want a whole number, got %s", jsonType(v))
}

// Environment variable names the functions read. Values are names, ARNs
// and settings, never secrets.
const (
	EnvSlackSecretName = "TRAILWATCH_SLACK_SECRET_NAME"
	EnvTopicARN        = "TRAILWATCH_TOPIC_ARN"
	EnvSettings        = "TRAILWATCH_SETTINGS"
	EnvStateTable      = "TRAILWATCH_STATE_TABLE"
	EnvStormWindow     = "TRAILWATCH_STORM_WINDOW_MINUTES"
	EnvOrganizationID  = "TRAILWATCH_ORGANIZATION_ID"
	EnvLookupRole      = "TRAILWATCH_LOOKUP_ROLE"
	EnvRoutes          = "TRAILWATCH_ROUTES"
	EnvSigmaRules      = "TRAILWATCH_SIGMA_RULES"
	// The scan function's (docs/scan.md, "The distributed scan"): the
	// bucket it reads the archive from and the bucket it writes findings
	// and summaries to.
	EnvScanArchiveBucket = "TRAILWATCH_SCAN_ARCHIVE_BUCKET"
	EnvScanResultsBucket = "TRAILWATCH_SCAN_RESULTS_BUCKET"
	// EnvScanResultsKey is the ARN of the results bucket's KMS key: S3
	// encrypts an object written with SSE-KMS but no key ID under the
	// account's AWS-managed key (aws/s3), not the bucket's own.
	EnvScanResultsKey = "TRAILWATCH_SCAN_RESULTS_KEY"
)

// Settings are what the detections and allow-lists need to decide.
type Settings struct {
	Env          detect.Env      `json:"env"`
	Suppressions []suppress.Rule `json:"suppressions,omitempty"`
}

// Settings returns the detection settings of the configuration; the
// deployment adds its own trail's bucket to TrailBuckets.
func (c Config) Settings() Settings {
	return Settings{
		Env: detect.Env{
			TrailBuckets:          c.TrailBuckets,
			MinRetentionDays:      c.RetentionDays,
			AllowedRegions:        c.AllowedRegions,
			AllowedInstanceTypes:  c.AllowedInstanceTypes,
			AlarmNames:            append([]string{detect.CPUAlarmPrefix + "*"}, c.AlarmNames...),
			SkipResolved:          !c.AlarmResolved,
			AlarmInsufficientData: c.AlarmInsufficientData,
			MiningMinSeverity:     c.MiningMinSeverity,
			Thresholds:            c.Thresholds,
		},
		Suppressions: c.Suppressions,
	}
}

// Runtime is what a function needs at run time.
type Runtime struct {
	SlackSecretName string
	TopicARN        string
	Settings        Settings
	// StateTable names the DynamoDB table for delivery claims and storm
	// windows; empty: no idempotency and no storm control.
	StateTable string
	// StormWindowMinutes is the storm window; zero means the default.
	StormWindowMinutes int
	// OrganizationID is set in organization mode: events of the
	// organization's other accounts are looked up in those accounts,
	// through their LookupRole.
	OrganizationID string
	// LookupRole is the name of the role the functions assume in an
	// event's account for its look-ups (LookupRoleName); empty: events of
	// other accounts than the function's are not looked up.
	LookupRole string
	// Routes are the routes with the channels the stack made for them:
	// each route's Slack secret name and topic ARN (its emails are the
	// topic's subscriptions, not listed here).
	Routes route.Table
	// SigmaRules is the folder the function reads the user's Sigma rules
	// from (the layer the stack makes of trailwatch:sigmaRules); empty:
	// the built-in detections only.
	SigmaRules string
}

// Env returns the function environment for r: the single place that names
// the variables, used by infra/ to set them and by functions to read them.
func (r Runtime) Env() (map[string]string, error) {
	settings, err := json.Marshal(r.Settings)
	if err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	env := map[string]string{EnvTopicARN: r.TopicARN, EnvSettings: string(settings)}
	if r.SlackSecretName != "" {
		env[EnvSlackSecretName] = r.SlackSecretName
	}
	if r.StateTable != "" {
		env[EnvStateTable] = r.StateTable
	}
	if r.StormWindowMinutes > 0 {
		env[EnvStormWindow] = strconv.Itoa(r.StormWindowMinutes)
	}
	if r.OrganizationID != "" {
		env[EnvOrganizationID] = r.OrganizationID
	}
	if r.LookupRole != "" {
		env[EnvLookupRole] = r.LookupRole
	}
	if r.SigmaRules != "" {
		env[EnvSigmaRules] = r.SigmaRules
	}
	if len(r.Routes) > 0 {
		b, err := json.Marshal(r.Routes)
		if err != nil {
			return nil, fmt.Errorf("encode routes: %w", err)
		}
		env[EnvRoutes] = string(b)
	}
	return env, nil
}

// RuntimeFromEnv reads the runtime configuration with getenv (os.Getenv).
func RuntimeFromEnv(getenv func(string) string) (Runtime, error) {
	r := Runtime{
		SlackSecretName: strings.TrimSpace(getenv(EnvSlackSecretName)),
		TopicARN:        strings.TrimSpace(getenv(EnvTopicARN)),
	}
	if r.TopicARN == "" && r.SlackSecretName == "" {
		return r, fmt.Errorf("no channel configured: set %s and/or %s", EnvTopicARN, EnvSlackSecretName)
	}
	if r.TopicARN != "" && !strings.HasPrefix(r.TopicARN, "arn:") {
		return r, fmt.Errorf("%s %q is not an ARN", EnvTopicARN, r.TopicARN)
	}
	if strings.Contains(r.SlackSecretName, "://") {
		return r, fmt.Errorf("%s holds a URL; it must name a Secrets Manager secret", EnvSlackSecretName)
	}
	r.StateTable = strings.TrimSpace(getenv(EnvStateTable))
	if s := strings.TrimSpace(getenv(EnvStormWindow)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 60 {
			return r, fmt.Errorf("%s %q: want 1 to 60 minutes", EnvStormWindow, s)
		}
		r.StormWindowMinutes = n
	}
	r.OrganizationID = strings.TrimSpace(getenv(EnvOrganizationID))
	if r.OrganizationID != "" && !organizationIDRe.MatchString(r.OrganizationID) {
		return r, fmt.Errorf("%s %q is not an organization ID (o-...)", EnvOrganizationID, r.OrganizationID)
	}
	r.LookupRole = strings.TrimSpace(getenv(EnvLookupRole))
	if r.LookupRole != "" && !roleNameRe.MatchString(r.LookupRole) {
		return r, fmt.Errorf("%s %q is not an IAM role name", EnvLookupRole, r.LookupRole)
	}
	r.SigmaRules = strings.TrimSpace(getenv(EnvSigmaRules))
	if s := getenv(EnvRoutes); s != "" {
		t, err := asJSON[route.Table](s, "a JSON list of routes")
		if err == nil {
			err = t.Validate()
		}
		if err != nil {
			return r, fmt.Errorf("%s: %w", EnvRoutes, err)
		}
		r.Routes = t
	}
	if s := getenv(EnvSettings); s != "" {
		settings, err := ParseSettings([]byte(s))
		if err != nil {
			return r, fmt.Errorf("%s: %w", EnvSettings, err)
		}
		r.Settings = settings
	}
	return r, nil
}

// ParseSettings reads settings as TRAILWATCH_SETTINGS holds them, refusing
// unknown fields and invalid allow-list rules.
func ParseSettings(data []byte) (Settings, error) {
	var s Settings
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Settings{}, fmt.Errorf("decode settings: %w", err)
	}
	if err := suppress.Validate(s.Suppressions, nil); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// asSeverity reads a severity name ("high"), in any case.
func asSeverity(v any) (detect.Severity, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("want a severity name (info, low, medium, high or critical), got %s", jsonType(v))
	}
	return detect.ParseSeverity(strings.TrimSpace(s))
}

// asBool reads a boolean given as JSON or as "true"/"false" with -c.
func asBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return false, fmt.Errorf("want true or false, got %q", x)
		}
		return b, nil
	}
	return false, fmt.Errorf("want true or false, got %s", jsonType(v))
}

// jsonType names the JSON type of a context value, as the user wrote it,
// for errors (not Go's type names).
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "true or false"
	case float64, int:
		return "a number"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
