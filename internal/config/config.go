// Package config is trailwatch's configuration: one struct read from CDK
// context at synth time (cdk.json or -c key=value) and validated there, and
// the environment the functions receive, which carries names and ARNs only,
// never a secret value.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
)

// CDK context keys.
const (
	KeySlackSecretName = "trailwatch:slackSecretName"
	KeyEmails          = "trailwatch:emails"
	KeyRetentionDays   = "trailwatch:retentionDays"
	KeyExistingTrail   = "trailwatch:existingTrail"
)

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
}

// Default is the configuration when no context is given.
func Default() Config { return Config{RetentionDays: MinRetentionDays} }

// FromContext reads the configuration through get, which returns a context
// value or nil (awscdk's Node().TryGetContext). Values may be strings, as
// given with -c, or JSON values from cdk.json.
func FromContext(get func(key string) any) (Config, error) {
	c := Default()
	var errs []error
	if v := get(KeySlackSecretName); v != nil {
		s, err := asString(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeySlackSecretName, err))
		}
		c.SlackSecretName = s
	}
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
	if v := get(KeyExistingTrail); v != nil {
		s, err := asString(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", KeyExistingTrail, err))
		}
		c.ExistingTrail = s
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

var (
	secretNameRe = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	trailNameRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)
	trailARNRe   = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail/[A-Za-z0-9._-]{3,128}$`)
)

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
			errs = append(errs, fmt.Errorf("%s: %q is not a plain email address", KeyEmails, e))
			continue
		}
		if seen[strings.ToLower(e)] {
			errs = append(errs, fmt.Errorf("%s: %q is listed twice", KeyEmails, e))
		}
		seen[strings.ToLower(e)] = true
	}
	if c.RetentionDays < MinRetentionDays {
		errs = append(errs, fmt.Errorf("%s is %d; trail logs must be kept at least %d days", KeyRetentionDays, c.RetentionDays, MinRetentionDays))
	}
	if c.RetentionDays > 36500 {
		errs = append(errs, fmt.Errorf("%s is %d; at most 36500 days (100 years)", KeyRetentionDays, c.RetentionDays))
	}
	if t := c.ExistingTrail; t != "" && !trailNameRe.MatchString(t) && !trailARNRe.MatchString(t) {
		errs = append(errs, fmt.Errorf("%s %q is neither a trail name nor a trail ARN", KeyExistingTrail, t))
	}
	return errors.Join(errs...)
}

func asString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %T", v)
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
				return nil, fmt.Errorf("want a list of strings, found %T", item)
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
	return nil, fmt.Errorf("want a list or a comma-separated string, got %T", v)
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
			return 0, fmt.Errorf("%v is not a whole number", x)
		}
		return int(x), nil
	case int:
		return x, nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want a number, got %T", v)
}

// Environment variable names the functions read. Values are names and ARNs.
const (
	EnvSlackSecretName = "TRAILWATCH_SLACK_SECRET_NAME"
	EnvTopicARN        = "TRAILWATCH_TOPIC_ARN"
)

// Runtime is what a function needs at run time.
type Runtime struct {
	SlackSecretName string
	TopicARN        string
}

// Env returns the function environment for r: the single place that names
// the variables, used by infra/ to set them and by functions to read them.
func (r Runtime) Env() map[string]string {
	env := map[string]string{EnvTopicARN: r.TopicARN}
	if r.SlackSecretName != "" {
		env[EnvSlackSecretName] = r.SlackSecretName
	}
	return env
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
	return r, nil
}
