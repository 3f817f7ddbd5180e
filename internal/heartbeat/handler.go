package heartbeat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Environment variables of the digest function in organization mode: names
// and settings, never secrets. infra sets them from Config.Env.
const (
	EnvTargets       = "TRAILWATCH_HEARTBEAT_TARGETS"
	EnvRegions       = "TRAILWATCH_HEARTBEAT_REGIONS"
	EnvPeriodMinutes = "TRAILWATCH_HEARTBEAT_PERIOD_MINUTES"
	EnvHomeAccount   = "TRAILWATCH_HOME_ACCOUNT"
)

// CheckInput is the constant input of the check's hourly schedule: what
// tells the digest function's invocation to run the check.
const CheckInput = `{"trailwatch":"heartbeat-check"}`

// Config is the check's configuration.
type Config struct {
	Targets, Regions []string
	Period           time.Duration
	HomeAccount      string
}

// Env returns the function environment of c.
func (c Config) Env() map[string]string {
	env := map[string]string{
		EnvTargets: strings.Join(c.Targets, ","),
		EnvRegions: strings.Join(c.Regions, ","),
	}
	if c.Period > 0 {
		env[EnvPeriodMinutes] = strconv.Itoa(int(c.Period / time.Minute))
	}
	if c.HomeAccount != "" {
		env[EnvHomeAccount] = c.HomeAccount
	}
	return env
}

// ConfigFromEnv reads the check's configuration; ok is false when the
// function is not in organization mode (no targets).
func ConfigFromEnv(getenv func(string) string) (c Config, ok bool, err error) {
	list := func(s string) []string {
		var out []string
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	c.Targets = list(getenv(EnvTargets))
	if len(c.Targets) == 0 {
		return c, false, nil
	}
	c.Regions = list(getenv(EnvRegions))
	if len(c.Regions) == 0 {
		return c, false, fmt.Errorf("%s is set without %s", EnvTargets, EnvRegions)
	}
	for _, r := range c.Regions {
		if !regionRe.MatchString(r) {
			return c, false, fmt.Errorf("%s: %q is not a region", EnvRegions, r)
		}
	}
	c.Period = DefaultPeriod
	if s := strings.TrimSpace(getenv(EnvPeriodMinutes)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 24*60 {
			return c, false, fmt.Errorf("%s %q: want 1 to 1440 minutes", EnvPeriodMinutes, s)
		}
		c.Period = time.Duration(n) * time.Minute
	}
	c.HomeAccount = strings.TrimSpace(getenv(EnvHomeAccount))
	if c.HomeAccount != "" && !accountRe.MatchString(c.HomeAccount) {
		return c, false, fmt.Errorf("%s %q is not an account ID", EnvHomeAccount, c.HomeAccount)
	}
	return c, true, nil
}

// Recorder records heartbeats (state.Dynamo).
type Recorder interface {
	RecordHeartbeat(ctx context.Context, account, region string, at time.Time) error
}

// Handler is the digest function's handler in organization mode. The
// function has three callers, told apart by what they send: the central
// bus's heartbeat rule (a member's heartbeat: recorded), the check's
// hourly schedule (CheckInput: the check runs), and the digest schedule
// (anything else: digests are sent, as without organization mode).
//
// Reusing the digest function rather than a function of its own: it
// already runs on a schedule with the state table, the channels, the
// delivery ledger and the routes that a silence alert needs, and a
// heartbeat costs it one conditional write. A function of its own would
// repeat all of that set-up, its role and its alarms for three short
// branches.
type Handler struct {
	// Digests sends due digests (pipeline.Digests).
	Digests lambda.Handler
	Record  Recorder
	Check   *Check
	Log     *slog.Logger
}

// Invoke implements lambda.Handler.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if isCheck(payload) {
		if h.Check == nil {
			return nil, ErrNoCheck
		}
		_, err := h.Check.Run(ctx)
		return nil, err
	}
	if ev, err := event.Decode(payload); err == nil && IsScheduled(ev.Envelope) {
		if account, region, ok := Parse(ev.Envelope); ok {
			at := ev.Envelope.Time
			if at.IsZero() {
				at = time.Now()
			}
			if err := h.Record.RecordHeartbeat(ctx, account, region, at); err != nil {
				// Failing lets Lambda retry: a lost heartbeat could make a
				// false silence two periods later.
				return nil, err
			}
			log.Debug("heartbeat", "account", account, "region", region, "time", at)
			return nil, nil
		}
		if len(ev.Envelope.Resources) == 1 && strings.Contains(ev.Envelope.Resources[0], ":rule/"+RuleName) {
			log.Warn("skipped a heartbeat whose rule does not match its account and region", "id", ev.ID(), "account", ev.Envelope.Account, "region", ev.Envelope.Region)
			return nil, nil
		}
	}
	return h.Digests.Invoke(ctx, payload)
}

// isCheck reports whether the payload is the check schedule's input.
func isCheck(payload []byte) bool {
	var in struct {
		Trailwatch string `json:"trailwatch"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&in); err != nil {
		return false
	}
	return in.Trailwatch == "heartbeat-check"
}

var _ lambda.Handler = (*Handler)(nil)

// ErrNoCheck is returned when the check is asked for but not configured.
var ErrNoCheck = errors.New("heartbeat check not configured")
