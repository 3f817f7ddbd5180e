package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/trailwatch/trailwatch/internal/budget"
)

// SNS limits checked before publishing, so a message SNS would refuse fails
// here with a clear reason instead of as an InvalidParameter from AWS.
const (
	// MaxSubject is the longest subject: SNS wants email subjects "less
	// than 100 characters", printable ASCII, no line breaks.
	MaxSubject = 99
	// MaxMessage is SNS's default message size limit in bytes (256 KiB),
	// counted over the body and the message attributes together.
	MaxMessage = 256 << 10
	// MaxAttributes is the most message attributes SNS accepts.
	MaxAttributes = 10
	// DefaultSNSTimeout bounds one Publish call, the SDK's retries included.
	DefaultSNSTimeout = 10 * time.Second
)

// SNSAPI is the part of the SNS client SNS uses.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Email is a rendered email.
type Email struct {
	// Subject is the email subject line.
	Subject string
	// Body is the plain-text message.
	Body string
	// Attributes become String message attributes, for subscription filter
	// policies.
	Attributes map[string]string
}

// Validate checks e against SNS's rules for email notifications and
// explains every problem at once.
func (e Email) Validate() error {
	var errs []error
	switch n := len(e.Subject); {
	case n == 0:
		errs = append(errs, errors.New("subject is empty"))
	case n > MaxSubject:
		errs = append(errs, fmt.Errorf("subject is %d bytes, at most %d allowed", n, MaxSubject))
	}
	for i := 0; i < len(e.Subject); i++ {
		if c := e.Subject[i]; c < 0x20 || c > 0x7e {
			errs = append(errs, fmt.Errorf("subject byte %d is %#02x: only printable ASCII is allowed", i, c))
			break
		}
	}
	if e.Body == "" {
		errs = append(errs, errors.New("body is empty"))
	}
	if !utf8.ValidString(e.Body) {
		errs = append(errs, errors.New("body is not valid UTF-8"))
	}
	if len(e.Attributes) > MaxAttributes {
		errs = append(errs, fmt.Errorf("%d message attributes, at most %d allowed", len(e.Attributes), MaxAttributes))
	}
	size := len(e.Body)
	for name, value := range e.Attributes {
		size += len(name) + len("String") + len(value)
		if err := validAttributeName(name); err != nil {
			errs = append(errs, err)
		}
		if value == "" {
			errs = append(errs, fmt.Errorf("message attribute %q is empty", name))
		} else if !utf8.ValidString(value) {
			errs = append(errs, fmt.Errorf("message attribute %q is not valid UTF-8", name))
		}
	}
	if size > MaxMessage {
		errs = append(errs, fmt.Errorf("message and attributes are %d bytes, at most %d allowed", size, MaxMessage))
	}
	return errors.Join(errs...)
}

// validAttributeName follows SNS: 1-256 characters from A-Z a-z 0-9 _ - .,
// no leading, trailing or doubled period, no AWS. or Amazon. prefix.
func validAttributeName(name string) error {
	bad := func(why string) error { return fmt.Errorf("message attribute name %q %s", name, why) }
	switch {
	case name == "":
		return errors.New("message attribute name is empty")
	case len(name) > 256:
		return bad("is longer than 256 characters")
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
		return bad("has a leading, trailing or doubled period")
	case hasPrefixFold(name, "aws.") || hasPrefixFold(name, "amazon."):
		return bad("uses a prefix reserved for AWS")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return bad("may hold only letters, digits, _ - and .")
		}
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// SNS publishes emails to a topic whose subscriptions deliver them. The
// SDK's retryer handles throttling and transient errors within Timeout.
type SNS struct {
	// Client is the SNS client (sns.NewFromConfig).
	Client SNSAPI
	// TopicARN is the topic to publish to.
	TopicARN string
	// Timeout bounds each Publish call; zero means 10 s.
	Timeout time.Duration
}

// Publish validates e and publishes it. Errors name the topic ARN.
func (s *SNS) Publish(ctx context.Context, e Email) error {
	if s.Client == nil {
		return errors.New("sns: publish: no SNS client")
	}
	if s.TopicARN == "" {
		return errors.New("sns: publish: no topic ARN")
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("sns: publish to %s: invalid email: %w", s.TopicARN, err)
	}
	in := &sns.PublishInput{
		TopicArn: aws.String(s.TopicARN),
		Subject:  aws.String(e.Subject),
		Message:  aws.String(e.Body),
	}
	if len(e.Attributes) > 0 {
		in.MessageAttributes = make(map[string]types.MessageAttributeValue, len(e.Attributes))
		for name, value := range e.Attributes {
			in.MessageAttributes[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
		}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSNSTimeout
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := s.Client.Publish(callCtx, in)
	if err != nil {
		if msg, ok := budget.TimedOut(ctx, callCtx, timeout); ok {
			return fmt.Errorf("sns: publish to %s: %s: %w", s.TopicARN, msg, err)
		}
		return fmt.Errorf("sns: publish to %s: %w", s.TopicARN, err)
	}
	// A 2xx without a message ID is not an answer from SNS (a proxy, a
	// misrouted endpoint): do not count it as delivered.
	if out == nil || aws.ToString(out.MessageId) == "" {
		return fmt.Errorf("sns: publish to %s: response carries no MessageId", s.TopicARN)
	}
	return nil
}
