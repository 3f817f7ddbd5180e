package detect

// CISControls names the CIS AWS Foundations Benchmark controls a detection
// may cite, in v3.0.0 numbering. Section 4 (monitoring) has kept the same
// numbers since v1.4.0; 2.1.4 was 2.1.5 in v1.4.0 and v1.5.0.
var CISControls = map[string]string{
	"1.4":   "Ensure no 'root' user account access key exists",
	"1.5":   "Ensure MFA is enabled for the 'root' user account",
	"1.7":   "Eliminate use of the 'root' user for administrative and daily tasks",
	"2.1.1": "Ensure S3 Bucket Policy is set to deny HTTP requests",
	"2.1.4": "Ensure that S3 Buckets are configured with 'Block public access (bucket settings)'",
	"3.1":   "Ensure CloudTrail is enabled in all regions",
	"3.2":   "Ensure CloudTrail log file validation is enabled",
	"3.5":   "Ensure CloudTrail logs are encrypted at rest using KMS CMKs",
	"4.1":   "Ensure unauthorized API calls are monitored",
	"4.2":   "Ensure management console sign-in without MFA is monitored",
	"4.3":   "Ensure usage of the 'root' account is monitored",
	"4.4":   "Ensure IAM policy changes are monitored",
	"4.5":   "Ensure CloudTrail configuration changes are monitored",
	"4.6":   "Ensure AWS Management Console authentication failures are monitored",
	"4.7":   "Ensure disabling or scheduled deletion of customer created CMKs is monitored",
	"4.8":   "Ensure S3 bucket policy changes are monitored",
	"4.9":   "Ensure AWS Config configuration changes are monitored",
	"4.10":  "Ensure security group changes are monitored",
	"4.11":  "Ensure Network Access Control Lists (NACL) changes are monitored",
	"4.12":  "Ensure changes to network gateways are monitored",
	"4.13":  "Ensure route table changes are monitored",
	"4.14":  "Ensure VPC changes are monitored",
	"4.15":  "Ensure AWS Organizations changes are monitored",
}

// Techniques names the MITRE ATT&CK (Enterprise, cloud) techniques a
// detection may cite.
var Techniques = map[string]string{
	"T1078":     "Valid Accounts",
	"T1078.004": "Valid Accounts: Cloud Accounts",
	"T1098":     "Account Manipulation",
	"T1098.001": "Account Manipulation: Additional Cloud Credentials",
	"T1098.003": "Account Manipulation: Additional Cloud Roles",
	"T1110":     "Brute Force",
	"T1136.003": "Create Account: Cloud Account",
	"T1190":     "Exploit Public-Facing Application",
	"T1199":     "Trusted Relationship",
	"T1485":     "Data Destruction",
	"T1486":     "Data Encrypted for Impact",
	"T1490":     "Inhibit System Recovery",
	"T1496":     "Resource Hijacking",
	"T1526":     "Cloud Service Discovery",
	"T1530":     "Data from Cloud Storage",
	"T1531":     "Account Access Removal",
	"T1535":     "Unused/Unsupported Cloud Regions",
	"T1537":     "Transfer Data to Cloud Account",
	"T1556":     "Modify Authentication Process",
	"T1562":     "Impair Defenses",
	"T1562.001": "Impair Defenses: Disable or Modify Tools",
	"T1562.007": "Impair Defenses: Disable or Modify Cloud Firewall",
	"T1562.008": "Impair Defenses: Disable or Modify Cloud Logs",
	"T1578":     "Modify Cloud Compute Infrastructure",
	"T1578.002": "Modify Cloud Compute Infrastructure: Create Cloud Instance",
	"T1580":     "Cloud Infrastructure Discovery",
	"T1651":     "Cloud Administration Command",
}
