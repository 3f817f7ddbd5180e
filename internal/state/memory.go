package state

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// Memory keeps state in process, for one run of the CLI: the same
// semantics as Dynamo without persistence. Safe for concurrent use.
type Memory struct {
	// Now is the clock claims are judged by; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	claims  map[string]memClaim
	windows map[string]*memWindow
	counts  map[string]*memCount
}

type memWindow struct {
	w           Window
	account     string
	region      string
	first       string
	ids         map[string]bool
	occurrences map[string]Occurrence
	digested    bool
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{claims: map[string]memClaim{}, windows: map[string]*memWindow{}}
}

// Record is Dynamo.Record in process.
func (m *Memory) Record(_ context.Context, w Window, o Occurrence, account, region string) (Tally, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// What a window keeps outlives the event: its strings are cloned, as
	// an event's strings are slices of the whole decoded record, which a
	// scan of millions of records would otherwise keep alive by the
	// window's IDs.
	o = Occurrence{EventID: strings.Clone(o.EventID), Time: strings.Clone(o.Time), Resource: strings.Clone(o.Resource), Headline: strings.Clone(o.Headline)}
	mw := m.windows[w.Key()]
	if mw == nil {
		mw = &memWindow{w: w, account: strings.Clone(account), region: strings.Clone(region), first: o.EventID, ids: map[string]bool{}, occurrences: map[string]Occurrence{}}
		m.windows[w.Key()] = mw
	}
	if mw.digested && !mw.ids[o.EventID] {
		return Tally{Late: true}, nil
	}
	mw.ids[o.EventID] = true
	t := Tally{First: mw.first == o.EventID, Count: len(mw.ids)}
	if !t.First && !mw.digested && len(mw.occurrences) < MaxDigestEvents {
		mw.occurrences[o.EventID] = o
	}
	return t, nil
}

// Due returns every window with repeats not digested yet, ended or not: a
// replay is over when it asks, and the windows follow the events' times,
// not the clock of the run. They come in the order of their windows.
func (m *Memory) Due(context.Context) ([]Digest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Digest
	for key, mw := range m.windows {
		if mw.digested || len(mw.ids) < 2 {
			continue
		}
		out = append(out, mw.digest(key))
	}
	sortDigests(out)
	return out, nil
}

func (mw *memWindow) digest(key string) Digest {
	dg := Digest{Window: mw.w, Account: mw.account, Region: mw.region, Repeats: len(mw.ids) - 1, key: key}
	for _, o := range mw.occurrences {
		dg.Occurrences = append(dg.Occurrences, o)
	}
	sort.Slice(dg.Occurrences, func(i, j int) bool { return dg.Occurrences[i].Time < dg.Occurrences[j].Time })
	return dg
}

// ClaimDigest is Dynamo.ClaimDigest in process.
func (m *Memory) ClaimDigest(_ context.Context, dg Digest) (Digest, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mw := m.windows[dg.key]
	if mw == nil || mw.digested {
		return dg, false, nil
	}
	mw.digested = true
	return mw.digest(dg.key), true, nil
}

// ReleaseDigest is Dynamo.ReleaseDigest in process.
func (m *Memory) ReleaseDigest(_ context.Context, dg Digest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mw := m.windows[dg.key]; mw != nil {
		mw.digested = false
	}
	return nil
}
