// Package guardduty decodes the detail of "GuardDuty Finding" events. Only
// the fields trailwatch reports are typed; unknown fields are ignored.
package guardduty

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/jsonerr"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// DetailType and Source identify GuardDuty findings on EventBridge.
const (
	DetailType = "GuardDuty Finding"
	Source     = "aws.guardduty"
)

// Finding is a GuardDuty finding.
type Finding struct {
	SchemaVersion string    `json:"schemaVersion"`
	AccountID     string    `json:"accountId"`
	Region        string    `json:"region"`
	Partition     string    `json:"partition"`
	ID            string    `json:"id"`
	ARN           string    `json:"arn"`
	Type          string    `json:"type"`
	Title         string    `json:"title"`
	Description   string    `json:"description"`
	Severity      float64   `json:"severity"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	Resource      Resource  `json:"resource"`
	Service       Service   `json:"service"`
}

// Resource is what the finding is about.
type Resource struct {
	ResourceType    string           `json:"resourceType"`
	InstanceDetails *InstanceDetails `json:"instanceDetails"`
	// AccessKeyDetails names the credentials of an IAM finding
	// (resourceType "AccessKey").
	AccessKeyDetails *AccessKeyDetails `json:"accessKeyDetails"`
}

// AccessKeyDetails are the credentials an IAM finding is about.
type AccessKeyDetails struct {
	AccessKeyID string `json:"accessKeyId"`
	// PrincipalID is the caller's principal: "AROA...:i-0abc..." for an
	// instance profile session.
	PrincipalID string `json:"principalId"`
	// UserName is the user's, or the role's for a role session.
	UserName string `json:"userName"`
	// UserType is IAMUser, AssumedRole, Root, FederatedUser, ...
	UserType string `json:"userType"`
}

// InstanceDetails describes an EC2 instance as GuardDuty saw it.
type InstanceDetails struct {
	InstanceID         string             `json:"instanceId"`
	InstanceType       string             `json:"instanceType"`
	InstanceState      string             `json:"instanceState"`
	LaunchTime         string             `json:"launchTime"`
	ImageID            string             `json:"imageId"`
	AvailabilityZone   string             `json:"availabilityZone"`
	Platform           string             `json:"platform"`
	Tags               []Tag              `json:"tags"`
	IAMInstanceProfile *InstanceProfile   `json:"iamInstanceProfile"`
	NetworkInterfaces  []NetworkInterface `json:"networkInterfaces"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// InstanceProfile is the instance's IAM instance profile.
type InstanceProfile struct {
	ARN string `json:"arn"`
	ID  string `json:"id"`
}

// NetworkInterface is one of the instance's interfaces.
type NetworkInterface struct {
	NetworkInterfaceID string          `json:"networkInterfaceId"`
	PublicIP           string          `json:"publicIp"`
	PrivateIPAddress   string          `json:"privateIpAddress"`
	VPCID              string          `json:"vpcId"`
	SubnetID           string          `json:"subnetId"`
	SecurityGroups     []SecurityGroup `json:"securityGroups"`
}

// SecurityGroup is a security group of an interface, as the finding names
// it.
type SecurityGroup struct {
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
}

// Service is GuardDuty's account of the activity.
type Service struct {
	ServiceName  string `json:"serviceName"`
	DetectorID   string `json:"detectorId"`
	Action       Action `json:"action"`
	ResourceRole string `json:"resourceRole"`
	// EventFirstSeen and EventLastSeen bound the activity the finding
	// aggregates (RFC 3339, as GuardDuty writes them; see FirstSeen).
	EventFirstSeen string `json:"eventFirstSeen"`
	EventLastSeen  string `json:"eventLastSeen"`
	Archived       bool   `json:"archived"`
	// Count is how many times GuardDuty saw the activity.
	Count          int             `json:"count"`
	RuntimeDetails *RuntimeDetails `json:"runtimeDetails"`
}

// Action is the observed activity.
type Action struct {
	// ActionType is DNS_REQUEST, NETWORK_CONNECTION, PORT_PROBE,
	// AWS_API_CALL, KUBERNETES_API_CALL, RDS_LOGIN_ATTEMPT or RUNTIME.
	ActionType              string                   `json:"actionType"`
	DNSRequestAction        *DNSRequestAction        `json:"dnsRequestAction"`
	NetworkConnectionAction *NetworkConnectionAction `json:"networkConnectionAction"`
	AWSAPICallAction        *AWSAPICallAction        `json:"awsApiCallAction"`
}

// AWSAPICallAction is an AWS API call GuardDuty saw (AWS_API_CALL).
type AWSAPICallAction struct {
	// API is the call's name ("ListBuckets"), ServiceName its service
	// ("s3.amazonaws.com").
	API         string `json:"api"`
	ServiceName string `json:"serviceName"`
	// CallerType is "Remote IP", "Remote account" or "Domain".
	CallerType string `json:"callerType"`
	// ErrorCode is set when AWS refused the call.
	ErrorCode       string          `json:"errorCode"`
	RemoteIPDetails RemoteIPDetails `json:"remoteIpDetails"`
	// RemoteAccountDetails names the AWS account the call came from when
	// it came from inside AWS (InstanceCredentialExfiltration.InsideAWS).
	RemoteAccountDetails *RemoteAccountDetails `json:"remoteAccountDetails"`
}

// RemoteAccountDetails is the AWS account a call came from.
type RemoteAccountDetails struct {
	AccountID string `json:"accountId"`
	// Affiliated says whether the account belongs to the same GuardDuty
	// administrator (the organization) as the finding's account.
	Affiliated bool `json:"affiliated"`
}

// DNSRequestAction is a DNS query the instance made.
type DNSRequestAction struct {
	Domain   string `json:"domain"`
	Protocol string `json:"protocol"`
	Blocked  bool   `json:"blocked"`
}

// NetworkConnectionAction is a connection to or from the instance.
type NetworkConnectionAction struct {
	// ConnectionDirection is INBOUND, OUTBOUND or UNKNOWN.
	ConnectionDirection string          `json:"connectionDirection"`
	Protocol            string          `json:"protocol"`
	Blocked             bool            `json:"blocked"`
	RemoteIPDetails     RemoteIPDetails `json:"remoteIpDetails"`
	RemotePortDetails   PortDetails     `json:"remotePortDetails"`
	LocalPortDetails    PortDetails     `json:"localPortDetails"`
	LocalIPDetails      struct {
		IPAddressV4 string `json:"ipAddressV4"`
		IPAddressV6 string `json:"ipAddressV6"`
	} `json:"localIpDetails"`
}

// RemoteIPDetails is the far end of a connection, with what GuardDuty
// knows of its network and place.
type RemoteIPDetails struct {
	IPAddressV4  string `json:"ipAddressV4"`
	IPAddressV6  string `json:"ipAddressV6"`
	Organization struct {
		Asn    string `json:"asn"`
		AsnOrg string `json:"asnOrg"`
		Isp    string `json:"isp"`
		Org    string `json:"org"`
	} `json:"organization"`
	Country struct {
		CountryCode string `json:"countryCode"`
		CountryName string `json:"countryName"`
	} `json:"country"`
	City struct {
		CityName string `json:"cityName"`
	} `json:"city"`
}

// IP is the IPv4 address, else the IPv6 one.
func (r RemoteIPDetails) IP() string {
	if r.IPAddressV4 != "" {
		return r.IPAddressV4
	}
	return r.IPAddressV6
}

// PortDetails is a port and GuardDuty's name for it.
type PortDetails struct {
	Port     int    `json:"port"`
	PortName string `json:"portName"`
}

// RuntimeDetails is what GuardDuty Runtime Monitoring saw on the host.
type RuntimeDetails struct {
	Process *Process `json:"process"`
}

// Process is the process a runtime finding is about.
type Process struct {
	Name             string `json:"name"`
	ExecutablePath   string `json:"executablePath"`
	ExecutableSha256 string `json:"executableSha256"`
	Pid              int    `json:"pid"`
}

// Decode reads a finding. It fails when the detail is not a JSON object or
// has no finding type.
func Decode(detail []byte) (*Finding, error) {
	if len(bytes.TrimSpace(detail)) == 0 {
		return nil, errors.New("empty GuardDuty finding")
	}
	var f Finding
	if err := jsonscan.Unmarshal(detail, &f); err != nil {
		return nil, fmt.Errorf("guardduty finding: %w", jsonerr.Describe(err))
	}
	if f.Type == "" {
		return nil, errors.New("guardduty finding has no type")
	}
	return &f, nil
}

// InstanceID returns the affected EC2 instance, or "".
func (f *Finding) InstanceID() string {
	if f.Resource.InstanceDetails == nil {
		return ""
	}
	return f.Resource.InstanceDetails.InstanceID
}

// instanceSession is an instance profile session's principal: the role's
// ID, a colon, and the instance ID EC2 names the session after.
var instanceSession = lazyre.New(`^[A-Z0-9]+:(i-[0-9a-f]{8,17})$`)

// SessionInstanceID returns the instance whose instance profile
// credentials an IAM finding is about (the session name of an
// AssumedRole principal, when it is an instance ID), or "".
func (f *Finding) SessionInstanceID() string {
	k := f.Resource.AccessKeyDetails
	if k == nil || k.UserType != "AssumedRole" {
		return ""
	}
	if m := instanceSession.FindStringSubmatch(k.PrincipalID); m != nil {
		return m[1]
	}
	return ""
}

// IsInstanceCredentialExfiltration reports whether a finding type says an
// instance's credentials were used elsewhere: UnauthorizedAccess:IAMUser/
// InstanceCredentialExfiltration.OutsideAWS and .InsideAWS (and the type's
// older name without a suffix).
func IsInstanceCredentialExfiltration(findingType string) bool {
	return strings.HasPrefix(findingType, InstanceCredentialExfiltration)
}

// InstanceCredentialExfiltration begins the finding types of instance
// credentials used elsewhere.
const InstanceCredentialExfiltration = "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration"

// FirstSeen and LastSeen are the service's eventFirstSeen and eventLastSeen
// in UTC; zero when absent or unreadable.
func (s Service) FirstSeen() time.Time { return seen(s.EventFirstSeen) }

// LastSeen: see FirstSeen.
func (s Service) LastSeen() time.Time { return seen(s.EventLastSeen) }

func seen(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// Level is GuardDuty's name for the finding's numeric severity: Low
// (1.0-3.9), Medium (4.0-6.9), High (7.0-8.9) or Critical (9.0-10.0).
func Level(severity float64) string {
	switch {
	case severity >= 9:
		return "Critical"
	case severity >= 7:
		return "High"
	case severity >= 4:
		return "Medium"
	}
	return "Low"
}

// IsMining reports whether a finding type is about crypto-currency
// mining: the CryptoCurrency: family and the Impact: findings about
// bitcoin domains or miner executables.
func IsMining(findingType string) bool {
	if strings.HasPrefix(findingType, "CryptoCurrency:") {
		return true
	}
	if !strings.HasPrefix(findingType, "Impact:") {
		return false
	}
	return strings.Contains(findingType, "Bitcoin") || strings.Contains(findingType, "CryptoMiner")
}
