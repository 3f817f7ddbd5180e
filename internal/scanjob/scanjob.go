// Package scanjob is the scan Lambda function's work in the distributed
// scan: a child of the Distributed Map scans a batch of archive objects and
// writes its findings and counts under the results bucket's
// scans/EXECUTION/ prefix; the last step merges the batches' counts into
// the summary. Threshold and storm windows are per child.
package scanjob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/replay"
	"github.com/trailwatch/trailwatch/internal/scan"
	"github.com/trailwatch/trailwatch/internal/state"
)

// S3API is the part of the S3 client the job uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Job holds what every invocation shares.
type Job struct {
	S3      S3API
	Archive string // the bucket the archive is read from
	Results string // the bucket results are written to
	// ResultsKey is the KMS key results are encrypted with; empty: the
	// account's AWS-managed key for S3.
	ResultsKey string
	Settings   config.Settings
	Log        *slog.Logger
	Workers    int
}

// FromEnv builds a job from the function's environment.
func FromEnv(getenv func(string) string, client S3API, log *slog.Logger) (*Job, error) {
	j := &Job{S3: client, Log: log,
		Archive:    strings.TrimSpace(getenv(config.EnvScanArchiveBucket)),
		Results:    strings.TrimSpace(getenv(config.EnvScanResultsBucket)),
		ResultsKey: strings.TrimSpace(getenv(config.EnvScanResultsKey))}
	if j.Archive == "" || j.Results == "" {
		return nil, fmt.Errorf("configuration: %s and %s must be set", config.EnvScanArchiveBucket, config.EnvScanResultsBucket)
	}
	if s := getenv(config.EnvSettings); s != "" {
		settings, err := config.ParseSettings([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("configuration: %s: %w", config.EnvSettings, err)
		}
		j.Settings = settings
	}
	return j, nil
}

// Item is one object of a batch, as the Distributed Map's S3 ItemReader
// lists it (its other fields are not used).
type Item struct {
	Key  string `json:"Key"`
	Size int64  `json:"Size"`
}

// Batch is a child's event.
type Batch struct {
	Items     []Item
	Execution string
	Filters   scan.Filters
}

// Summarize is the last step's event.
type Summarize struct {
	Execution string
	Prefix    string
	Filters   scan.Filters
}

// BatchResult is what a child returns.
type BatchResult struct {
	Objects    int64 `json:"objects"`
	Records    int64 `json:"records"`
	Flagged    int64 `json:"flagged"`
	Unreadable int64 `json:"unreadable"`
}

// SummaryResult is what the last step returns: the execution's output.
type SummaryResult struct {
	Summary  string `json:"summary"`
	Findings string `json:"findings"`
	BatchResult
}

// Decode reads an event: a *Batch or a *Summarize. The top-level fields
// are matched exactly and unknown ones refused; an item's fields other
// than Key and Size are ignored (the ItemReader's shape may grow).
func Decode(data []byte) (any, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	if top == nil {
		return nil, errors.New("event: not a JSON object")
	}
	_, isBatch := top["Items"]
	_, isSum := top["summarize"]
	switch {
	case isBatch && isSum:
		return nil, errors.New("event: both a batch (Items) and a summary (summarize)")
	case isBatch:
		if err := only(top, "Items", "BatchInput"); err != nil {
			return nil, err
		}
		var b Batch
		if err := json.Unmarshal(top["Items"], &b.Items); err != nil {
			return nil, fmt.Errorf("event: Items: %w", err)
		}
		raw, ok := top["BatchInput"]
		if !ok {
			return nil, errors.New("event: a batch without BatchInput")
		}
		var in struct {
			Execution *string       `json:"execution"`
			Filters   *scan.Filters `json:"filters"`
		}
		if err := strict(raw, &in); err != nil {
			return nil, fmt.Errorf("event: BatchInput: %w", err)
		}
		if in.Execution == nil || in.Filters == nil {
			return nil, errors.New("event: BatchInput needs execution and filters")
		}
		b.Execution, b.Filters = *in.Execution, *in.Filters
		return &b, nil
	case isSum:
		var in struct {
			Summarize bool          `json:"summarize"`
			Execution *string       `json:"execution"`
			Prefix    *string       `json:"prefix"`
			Filters   *scan.Filters `json:"filters"`
		}
		if err := only(top, "summarize", "execution", "prefix", "filters"); err != nil {
			return nil, err
		}
		if err := strict(data, &in); err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
		if !in.Summarize || in.Execution == nil || in.Prefix == nil || in.Filters == nil {
			return nil, errors.New("event: a summary needs summarize true, execution, prefix and filters")
		}
		return &Summarize{Execution: *in.Execution, Prefix: *in.Prefix, Filters: *in.Filters}, nil
	}
	return nil, errors.New("event: neither a batch (Items, BatchInput) nor a summary (summarize)")
}

func only(top map[string]json.RawMessage, names ...string) error {
	for k := range top {
		if !slices.Contains(names, k) {
			return fmt.Errorf("event: unknown field %q", k)
		}
	}
	return nil
}

func strict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// executionName is Step Functions' execution name charset in ASCII (no
// whitespace, brackets, wildcards, the punctuation it refuses, or control
// characters), at most 80 characters.
var executionName = regexp.MustCompile(`^[A-Za-z0-9!'()+\-.=@_]{1,80}$`)

// CheckExecution refuses a name that is not a Step Functions execution
// name, before it is used in a key.
func CheckExecution(name string) error {
	if !executionName.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("execution %q is not a Step Functions execution name (1-80 of A-Z a-z 0-9 ! ' ( ) + - . = @ _)", truncate(name))
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// BatchID is the batch's deterministic name: a hash of its keys, so a
// retried child overwrites its own files.
func BatchID(items []Item) string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		_ = binary.Write(h, binary.BigEndian, uint64(len(k)))
		h.Write([]byte(k))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Line is one findings line: the CLI's --format json line and the object.
type Line struct {
	replay.Line
	Object string `json:"object"`
}

// batchFile is scans/NAME/batches/BATCH.json.
type batchFile struct {
	Summary scan.Summary `json:"summary"`
	Stats   *scan.Stats  `json:"stats"`
}

func (j *Job) options(f scan.Filters) (scan.Options, scan.Prune, error) {
	o, prune, err := f.Options(time.Time{})
	if err != nil {
		return o, prune, fmt.Errorf("filters: %w", err)
	}
	catalog, err := detect.Builtin()
	if err != nil {
		return o, prune, fmt.Errorf("catalog: %w", err)
	}
	if o.Detections, err = f.DetectionSet(catalog); err != nil {
		return o, prune, fmt.Errorf("filters: %w", err)
	}
	if catalog, err = catalog.WithEnv(j.Settings.Env); err == nil {
		err = catalog.Compile()
	}
	if err != nil {
		return o, prune, fmt.Errorf("catalog: %w", err)
	}
	o.Workers, o.Log = j.Workers, j.log()
	o.Pipeline = &pipeline.Pipeline{Catalog: catalog, Suppressions: j.Settings.Suppressions, Counter: state.NewMemory(), Log: o.Log}
	return o, prune, nil
}

func (j *Job) log() *slog.Logger {
	if j.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return j.Log
}

// Handle decodes an event and does its work.
func (j *Job) Handle(ctx context.Context, data json.RawMessage) (any, error) {
	ev, err := Decode(data)
	if err != nil {
		return nil, err
	}
	switch ev := ev.(type) {
	case *Batch:
		return j.ScanBatch(ctx, ev)
	case *Summarize:
		return j.Summarize(ctx, ev)
	}
	return nil, errors.New("event: unknown kind")
}

// ScanBatch scans a batch's objects and writes its findings and counts.
// An unreadable object is counted and logged; failing to write is an
// error, so Step Functions retries the child.
func (j *Job) ScanBatch(ctx context.Context, b *Batch) (BatchResult, error) {
	if err := CheckExecution(b.Execution); err != nil {
		return BatchResult{}, err
	}
	o, prune, err := j.options(b.Filters)
	if err != nil {
		return BatchResult{}, err
	}
	log := j.log()
	var objects []scan.Object
	names := map[string]string{} // object name -> key
	pruned := 0
	for _, it := range b.Items {
		if it.Key == "" || strings.HasSuffix(it.Key, "/") || !prune.KeepKey(it.Key) {
			pruned++
			continue
		}
		obj := scan.S3Object(j.S3, j.Archive, it.Key, it.Size)
		names[obj.Name] = it.Key
		objects = append(objects, obj)
	}
	list := func(ctx context.Context, yield func(scan.Object) error) error {
		for _, obj := range objects {
			if err := yield(obj); err != nil {
				return err
			}
		}
		return nil
	}
	tmp, err := os.CreateTemp("", "trailwatch-findings-*.jsonl")
	if err != nil {
		return BatchResult{}, fmt.Errorf("findings: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	enc := json.NewEncoder(tmp)
	stats := &scan.Stats{}
	sum, err := scan.Run(ctx, list, o, func(rec scan.Record) error {
		key := keyOf(rec.Where, names)
		if rec.Err != nil {
			log.Warn("unreadable", "object", key, "where", rec.Where, "error", rec.Err.Error())
			return nil
		}
		stats.Add(rec)
		line := Line{Line: replay.Line{ID: rec.ID, Detections: []replay.Detection{}}, Object: key}
		for _, f := range rec.Findings {
			line.Detections = append(line.Detections, replay.DetectionOf(f))
		}
		return enc.Encode(line)
	})
	if err != nil {
		return BatchResult{}, fmt.Errorf("scan: %w", err)
	}
	if sum.Interrupted {
		return BatchResult{}, errors.New("scan: interrupted before the batch was read (the function's timeout?)")
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return BatchResult{}, fmt.Errorf("findings: %w", err)
	}
	id := BatchID(b.Items)
	prefix := "scans/" + b.Execution + "/"
	// Findings first: a batch file says its findings are written.
	if err := j.put(ctx, prefix+"findings/"+id+".jsonl", "application/x-ndjson", tmp); err != nil {
		return BatchResult{}, err
	}
	body, err := json.Marshal(batchFile{Summary: sum, Stats: stats})
	if err != nil {
		return BatchResult{}, fmt.Errorf("batch: %w", err)
	}
	if err := j.put(ctx, prefix+"batches/"+id+".json", "application/json", bytes.NewReader(body)); err != nil {
		return BatchResult{}, err
	}
	log.Info("batch scanned", "execution", b.Execution, "batch", id, "items", len(b.Items), "pruned", pruned, "summary", sum.String())
	return BatchResult{Objects: sum.Objects, Records: sum.Records, Flagged: sum.Flagged, Unreadable: sum.Unreadable}, nil
}

// keyOf finds the object key of a record's Where (NAME#N, or NAME).
func keyOf(where string, names map[string]string) string {
	if k, ok := names[where]; ok {
		return k
	}
	if i := strings.LastIndex(where, "#"); i >= 0 {
		if k, ok := names[where[:i]]; ok {
			return k
		}
	}
	return where
}

func (j *Job) put(ctx context.Context, key, contentType string, body io.Reader) error {
	_, err := j.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(j.Results), Key: aws.String(key), Body: body, ContentType: aws.String(contentType),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms,
		SSEKMSKeyId:          nonEmpty(j.ResultsKey),
	})
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", j.Results, key, err)
	}
	return nil
}

// Summarize merges the execution's batches into its summary.
func (j *Job) Summarize(ctx context.Context, in *Summarize) (SummaryResult, error) {
	if err := CheckExecution(in.Execution); err != nil {
		return SummaryResult{}, err
	}
	if len(in.Prefix) > 1024 || !utf8.ValidString(in.Prefix) {
		return SummaryResult{}, errors.New("prefix: not an S3 key prefix (valid UTF-8, at most 1,024 bytes)")
	}
	if _, _, err := in.Filters.Options(time.Time{}); err != nil {
		return SummaryResult{}, fmt.Errorf("filters: %w", err)
	}
	prefix := "scans/" + in.Execution + "/"
	report := scan.Report{Inputs: []string{"s3://" + j.Archive + "/" + in.Prefix}, Stats: &scan.Stats{}}
	p := s3.NewListObjectsV2Paginator(j.S3, &s3.ListObjectsV2Input{Bucket: aws.String(j.Results), Prefix: aws.String(prefix + "batches/")})
	seen := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return SummaryResult{}, fmt.Errorf("list s3://%s/%sbatches/: %w", j.Results, prefix, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if !strings.HasSuffix(key, ".json") || seen[key] {
				continue
			}
			seen[key] = true
			b, err := j.readBatch(ctx, key)
			if err != nil {
				return SummaryResult{}, err
			}
			report.Summary.Add(b.Summary)
			report.Stats.Merge(b.Stats)
		}
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf); err != nil {
		return SummaryResult{}, fmt.Errorf("summary: %w", err)
	}
	if err := j.put(ctx, prefix+"summary.json", "application/json", bytes.NewReader(buf.Bytes())); err != nil {
		return SummaryResult{}, err
	}
	s := report.Summary
	return SummaryResult{
		Summary:     "s3://" + j.Results + "/" + prefix + "summary.json",
		Findings:    "s3://" + j.Results + "/" + prefix + "findings/",
		BatchResult: BatchResult{Objects: s.Objects, Records: s.Records, Flagged: s.Flagged, Unreadable: s.Unreadable},
	}, nil
}

// maxBatchFile bounds a batch file read back: its stats hold at most the
// catalog's detections and the principals seen.
const maxBatchFile = 64 << 20

func (j *Job) readBatch(ctx context.Context, key string) (batchFile, error) {
	out, err := j.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(j.Results), Key: aws.String(key)})
	if err != nil {
		return batchFile{}, fmt.Errorf("read s3://%s/%s: %w", j.Results, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxBatchFile+1))
	if err == nil && len(data) > maxBatchFile {
		err = errors.New("too large")
	}
	var b batchFile
	if err == nil {
		err = json.Unmarshal(data, &b)
	}
	if err != nil {
		return batchFile{}, fmt.Errorf("read s3://%s/%s: %w", j.Results, key, err)
	}
	return b, nil
}

// nonEmpty is s as an optional SDK string: nil when empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
