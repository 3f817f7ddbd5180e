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
	PublicIP         string `json:"publicIp"`
	PrivateIPAddress string `json:"privateIpAddress"`
	VPCID            string `json:"vpcId"`
	SubnetID         string `json:"subnetId"`
	SecurityGroups   []struct {
		GroupID   string `json:"groupId"`
		GroupName string `json:"groupName"`
	} `json:"securityGroups"`
}

// Service is GuardDuty's account of the activity.
type Service struct {
	ServiceName    string `json:"serviceName"`
	DetectorID     string `json:"detectorId"`
	Action         Action `json:"action"`
	ResourceRole   string `json:"resourceRole"`
	EventFirstSeen string `json:"eventFirstSeen"`
	EventLastSeen  string `json:"eventLastSeen"`
	Archived       bool   `json:"archived"`
	Count          int    `json:"count"`
}

// Action is the observed activity.
type Action struct {
	ActionType              string                   `json:"actionType"`
	DNSRequestAction        *DNSRequestAction        `json:"dnsRequestAction"`
	NetworkConnectionAction *NetworkConnectionAction `json:"networkConnectionAction"`
}

// DNSRequestAction is a DNS query the instance made.
type DNSRequestAction struct {
	Domain   string `json:"domain"`
	Protocol string `json:"protocol"`
	Blocked  bool   `json:"blocked"`
}

// NetworkConnectionAction is a connection to or from the instance.
type NetworkConnectionAction struct {
	ConnectionDirection string `json:"connectionDirection"`
	Protocol            string `json:"protocol"`
	Blocked             bool   `json:"blocked"`
	RemoteIPDetails     struct {
		IPAddressV4  string `json:"ipAddressV4"`
		Organization struct {
			Asn    string `json:"asn"`
			AsnOrg string `json:"asnOrg"`
			Isp    string `json:"isp"`
			Org    string `json:"org"`
		} `json:"organization"`
		Country struct {
			CountryName string `json:"countryName"`
		} `json:"country"`
	} `json:"remoteIpDetails"`
	RemotePortDetails struct {
		Port     int    `json:"port"`
		PortName string `json:"portName"`
	} `json:"remotePortDetails"`
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
