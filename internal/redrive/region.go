package redrive

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

var (
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	region    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// QueueRegion checks that queueURL is an SQS queue URL
// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) and returns its region:
// from the sqs.REGION host of current URLs and VPC endpoints, from legacy
// REGION.queue.amazonaws.com hosts, us-east-1 for queue.amazonaws.com, and
// "" for other hosts (a local stand-in), where the caller's configuration
// decides.
func QueueRegion(queueURL string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil {
		return "", fmt.Errorf("queue URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("queue URL %q: want https://sqs.REGION.amazonaws.com/ACCOUNT/NAME", queueURL)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || !accountID.MatchString(parts[0]) || parts[1] == "" {
		return "", fmt.Errorf("queue URL %q: path must be /ACCOUNT/NAME with a 12-digit account ID", queueURL)
	}
	labels := strings.Split(u.Hostname(), ".")
	for i, l := range labels[:len(labels)-1] {
		if l == "sqs" && region.MatchString(labels[i+1]) {
			return labels[i+1], nil
		}
	}
	if len(labels) >= 3 && labels[1] == "queue" && region.MatchString(labels[0]) {
		return labels[0], nil
	}
	if u.Hostname() == "queue.amazonaws.com" {
		return "us-east-1", nil
	}
	return "", nil
}

// FunctionRegion returns the region of a function ARN
// (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]), or "" for
// a name or partial ARN, which Lambda resolves in the client's region.
func FunctionRegion(nameOrARN string) string {
	parts := strings.SplitN(nameOrARN, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "lambda" {
		return parts[3]
	}
	return ""
}
