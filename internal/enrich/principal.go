package enrich

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/cloudtrail"
)

// Principal says who made the call, in words a responder can act on.
func Principal(rec *cloudtrail.Record) alert.Who {
	id := rec.UserIdentity
	w := alert.Who{ARN: id.ARN, AccountID: id.AccountID, InvokedBy: id.InvokedBy, UserAgent: rec.UserAgent}
	issuer := ""
	if sc := id.SessionContext; sc != nil && sc.SessionIssuer != nil {
		issuer = sc.SessionIssuer.UserName
	}
	session := sessionName(id.ARN)

	switch id.Type {
	case "Root":
		w.Kind = "root user"
		w.Name = "root user of account " + id.AccountID
		if sc := id.SessionContext; sc != nil && sc.AssumedRoot != "" {
			w.Detail = "centralized root access session (sts:AssumeRoot)"
		}
	case "IAMUser":
		w.Kind = "IAM user"
		w.Name = id.UserName
	case "AssumedRole":
		if set, ok := ssoPermissionSet(issuer); ok {
			w.Kind = "IAM Identity Center user"
			w.Name = session
			w.Detail = "permission set " + set
			if id.OnBehalfOf != nil && id.OnBehalfOf.UserID != "" {
				w.Detail += ", identity store user " + id.OnBehalfOf.UserID
			}
			break
		}
		w.Kind = "assumed role"
		w.Name = session
		w.Detail = "role " + issuer
		if provider := federatedProvider(id.SessionContext); provider != "" {
			w.Kind = "web identity role session"
			w.Detail += ", federated through " + provider
		}
		if sc := id.SessionContext; sc != nil && sc.EC2RoleDelivery != "" {
			w.Kind = "EC2 instance role"
			w.Detail += ", credentials from the instance metadata service"
		}
	case "FederatedUser":
		w.Kind = "federated user"
		w.Name = session
		w.Detail = "GetFederationToken session of " + issuer
	case "AWSService":
		w.Kind = "AWS service"
		w.Name = id.InvokedBy
	case "AWSAccount":
		w.Kind = "another AWS account"
		w.Name = "account " + id.AccountID
	case "IdentityCenterUser":
		w.Kind = "IAM Identity Center user"
		w.Name = id.UserName
		if w.Name == "" && id.OnBehalfOf != nil {
			w.Name = "identity store user " + id.OnBehalfOf.UserID
		}
	case "SAMLUser", "WebIdentityUser":
		w.Kind = map[string]string{"SAMLUser": "SAML-federated user", "WebIdentityUser": "web identity user"}[id.Type]
		w.Name = id.UserName
		w.Detail = "identity provider " + id.IdentityProvider
	case "":
		w.Kind = "unknown principal"
	default:
		w.Kind = id.Type
		w.Name = id.UserName
	}
	if sc := id.SessionContext; sc != nil && sc.SourceIdentity != "" && sc.SourceIdentity != w.Name {
		w.Detail = strings.TrimPrefix(w.Detail+", source identity "+sc.SourceIdentity, ", ")
	}
	if w.Name == "" {
		w.Name = firstNonEmpty(id.UserName, id.PrincipalID, id.ARN, "unnamed principal")
	}
	w.MFA = mfaText(rec, w.Kind)
	w.AccessKey = accessKeyText(id.AccessKeyID)
	w.Via = Client(rec)
	return w
}

// sessionName is the last segment of an assumed-role or federated-user ARN.
func sessionName(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 && i < len(arn)-1 && strings.Count(arn, "/") >= 2 {
		return arn[i+1:]
	}
	if i := strings.LastIndexByte(arn, '/'); strings.Contains(arn, ":federated-user/") && i >= 0 {
		return arn[i+1:]
	}
	return ""
}

func federatedProvider(sc *cloudtrail.SessionContext) string {
	if sc == nil || len(sc.WebIDFederationData) == 0 {
		return ""
	}
	var w struct {
		FederatedProvider string `json:"federatedProvider"`
	}
	if json.Unmarshal(sc.WebIDFederationData, &w) != nil || w.FederatedProvider == "" {
		return ""
	}
	if i := strings.Index(w.FederatedProvider, "oidc-provider/"); i >= 0 {
		return w.FederatedProvider[i+len("oidc-provider/"):]
	}
	return w.FederatedProvider
}

func mfaText(rec *cloudtrail.Record, kind string) string {
	if kind == "AWS service" {
		return "not applicable (AWS service)"
	}
	used, known := rec.MFA()
	switch {
	case kind == "IAM Identity Center user" && !used:
		return "not recorded: Identity Center sessions carry mfaAuthenticated=false; MFA, if required, happens at the access portal sign-in"
	case known && used:
		return "yes"
	case known:
		return "no"
	case strings.HasPrefix(rec.UserIdentity.AccessKeyID, "AKIA"):
		return "no (long-term access key: no MFA session)"
	}
	return "not recorded"
}

func accessKeyText(key string) string {
	switch {
	case key == "":
		return ""
	case strings.HasPrefix(key, "AKIA"):
		return key + " (long-term access key)"
	case strings.HasPrefix(key, "ASIA"):
		return key + " (temporary credentials)"
	}
	return key
}

// clientMarkers map user-agent substrings to client names, most specific
// first: Terraform and the console both embed an AWS SDK's name.
var clientMarkers = []struct {
	marker, name string
	version      bool
}{
	{"Terraform/", "Terraform", true},
	{"terraform-provider-aws/", "Terraform AWS provider", true},
	{"Pulumi", "Pulumi", false},
	{"aws-cdk/", "AWS CDK", true},
	{"CloudFormation", "AWS CloudFormation", false},
	{"cloudformation.amazonaws.com", "AWS CloudFormation", false},
	{"stratus-red-team", "Stratus Red Team (attack simulation)", false},
	{"aws-cli/", "AWS CLI", true},
	{"aws-sdk-go-v2/", "AWS SDK for Go v2", true},
	{"aws-sdk-go/", "AWS SDK for Go", true},
	{"Boto3/", "Boto3 (AWS SDK for Python)", true},
	{"botocore/", "Botocore (AWS SDK for Python)", true},
	{"aws-sdk-java/", "AWS SDK for Java", true},
	{"aws-sdk-js/", "AWS SDK for JavaScript", true},
	{"aws-sdk-nodejs/", "AWS SDK for JavaScript", true},
	{"aws-sdk-dotnet", "AWS SDK for .NET", false},
	{"aws-sdk-ruby", "AWS SDK for Ruby", false},
	{"aws-sdk-php", "AWS SDK for PHP", false},
	{"aws-sdk-rust", "AWS SDK for Rust", false},
	{"AWSPowerShell", "AWS Tools for PowerShell", false},
}

// Client names the tool that made the call: the console, a CLI, an SDK or
// an infrastructure tool, read from the user agent and the session.
func Client(rec *cloudtrail.Record) string {
	ua := rec.UserAgent
	console := rec.ConsoleSession() || strings.Contains(ua, "console.amazonaws.com") ||
		strings.Contains(ua, "signin.amazonaws.com") || strings.HasPrefix(ua, "[S3Console") ||
		strings.Contains(ua, "console.aws.amazon.com") || rec.EventType == "AwsConsoleSignIn"
	if console {
		return "AWS Management Console"
	}
	if ua == "AWS Internal" || strings.HasSuffix(ua, ".amazonaws.com") {
		return "AWS service (" + ua + ")"
	}
	for _, m := range clientMarkers {
		i := strings.Index(ua, m.marker)
		if i < 0 {
			continue
		}
		name := m.name
		if m.version {
			if v := versionPrefix(ua[i+len(m.marker):]); v != "" {
				name += " " + v
			}
		}
		if m.name == "AWS CLI" {
			if cmd := cliCommand(ua); cmd != "" {
				name += " (" + cmd + ")"
			}
		}
		if strings.Contains(ua, "exec-env/AWS_Lambda") {
			name += ", running in AWS Lambda"
		}
		return name
	}
	if ua == "" {
		return "not recorded"
	}
	return "unrecognized client"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Action names the call as IAM does: "s3:PutBucketPolicy".
func Action(rec *cloudtrail.Record) string {
	return fmt.Sprintf("%s:%s", strings.TrimSuffix(rec.EventSource, ".amazonaws.com"), rec.EventName)
}
