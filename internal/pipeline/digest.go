package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/state"
)

// DigestStore lists and claims the storm windows due for a digest.
type DigestStore interface {
	Due(ctx context.Context) ([]state.Digest, error)
	// ClaimDigest returns the window as claimed, with every repeat
	// recorded before the claim.
	ClaimDigest(ctx context.Context, dg state.Digest) (state.Digest, bool, error)
	ReleaseDigest(ctx context.Context, dg state.Digest) error
}

// Digests sends one message per closed storm window that held repeats
// back. The digest function runs it on a schedule; replay runs it at the
// end of a run.
type Digests struct {
	Pipeline *Pipeline
	Store    DigestStore
	Log      *slog.Logger
	// Built, when set, sees each digest before it is sent (replay prints
	// it).
	Built func(alert.Digest) error
}

// Run sends every due digest. A digest that fails to go out is released,
// so the next run (or Lambda's retry) sends it; the error is returned.
func (d *Digests) Run(ctx context.Context) (sent int, err error) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	due, err := d.Store.Due(ctx)
	if err != nil {
		return 0, fmt.Errorf("list due digests: %w", err)
	}
	var errs []error
	for _, listed := range due {
		sd, ok, err := d.Store.ClaimDigest(ctx, listed)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue // another run has it
		}
		dg, err := d.alertDigest(sd)
		if err != nil {
			log.Error("digest of an unknown window skipped", "key", sd.Key(), "error", err)
			continue
		}
		if d.Built != nil {
			if err := d.Built(dg); err != nil {
				return sent, err
			}
		}
		delivered, err := d.Pipeline.SendDigest(ctx, dg, sd.Key())
		if err != nil {
			if rerr := d.Store.ReleaseDigest(ctx, sd); rerr != nil {
				err = errors.Join(err, rerr)
			}
			errs = append(errs, fmt.Errorf("digest %s: %w", sd.Key(), err))
			continue
		}
		sent++
		log.Info("digest", "detection", dg.Detection.ID, "principal", dg.Principal, "repeats", dg.Repeats, "delivered", delivered)
	}
	return sent, errors.Join(errs...)
}

// Invoke implements lambda.Handler for the scheduled digest function; the
// schedule's event carries nothing it needs.
func (d *Digests) Invoke(ctx context.Context, _ []byte) ([]byte, error) {
	_, err := d.Run(ctx)
	return nil, err
}

func (d *Digests) alertDigest(sd state.Digest) (alert.Digest, error) {
	det, ok := d.Pipeline.Catalog.Get(sd.Window.Detection)
	if !ok {
		return alert.Digest{}, fmt.Errorf("detection %q is not in the catalog", sd.Window.Detection)
	}
	sev, err := detect.ParseSeverity(sd.Window.Severity)
	if err != nil {
		sev = det.Severity
	}
	dg := alert.Digest{
		Detection: det, Severity: sev, Principal: sd.Window.Principal, AccountID: sd.Account, Region: sd.Region,
		WindowStart: sd.Window.Start, WindowEnd: sd.Window.End, Repeats: sd.Repeats,
	}
	for _, o := range sd.Occurrences {
		dg.Occurrences = append(dg.Occurrences, alert.Occurrence{EventID: o.EventID, Time: o.Time, Resource: o.Resource, Headline: o.Headline})
	}
	return dg, nil
}
