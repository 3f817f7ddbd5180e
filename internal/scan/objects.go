package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailwatch/trailwatch/internal/eventfile"
)

// Object is one input: a local file or an S3 object.
type Object struct {
	// Name is the path or s3://bucket/key.
	Name string
	// Size in bytes, 0 when unknown.
	Size int64
	// Open streams its content.
	Open func(ctx context.Context) (io.ReadCloser, error)
	// Err is set when the object could not be listed; Open is nil then.
	Err error
}

// Lister yields the objects of the inputs, in order, to yield; it stops
// at yield's first error and returns it.
type Lister func(ctx context.Context, yield func(Object) error) error

// Local lists files and folders the way replay reads them
// (eventfile.Expand): a path that cannot be read is yielded with Err.
func Local(paths []string) Lister {
	return func(ctx context.Context, yield func(Object) error) error {
		for _, p := range paths {
			files, err := eventfile.Expand(p)
			if err != nil {
				if yerr := yield(Object{Name: p, Err: err}); yerr != nil {
					return yerr
				}
				continue
			}
			for _, f := range files {
				if err := ctx.Err(); err != nil {
					return err
				}
				size := int64(0)
				if info, err := os.Stat(f); err == nil {
					size = info.Size()
				}
				o := Object{Name: f, Size: size, Open: func(context.Context) (io.ReadCloser, error) { return os.Open(f) }}
				if err := yield(o); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// S3API is the part of the S3 client the S3 lister uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// Prune narrows an S3 listing by CloudTrail's key layout,
// AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/, so a scan of a
// week of two accounts lists only those days' folders. Zero values prune
// nothing.
type Prune struct {
	// Since and Until bound the delivery days listed, with a day's margin
	// on each side (a file holds records of the minutes before its
	// delivery, and days are UTC).
	Since, Until time.Time
	Accounts     []string
	Regions      []string
	// PageSize is ListObjectsV2's MaxKeys; zero lets S3 decide (1,000).
	PageSize int32
}

// ParseS3URL splits s3://bucket/prefix.
func ParseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket", u)
	}
	return bucket, prefix, nil
}

var (
	orgSegment     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	accountSegment = regexp.MustCompile(`^[0-9]{12}$`)
	regionSegment  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	yearSegment    = regexp.MustCompile(`^[0-9]{4}$`)
	twoDigits      = regexp.MustCompile(`^[0-9]{2}$`)
)

// S3 lists the objects under s3://bucket/prefix, walking CloudTrail's key
// layout folder by folder (ListObjectsV2 with a delimiter, paginated) so
// that pruned accounts, regions and days are never listed. Keys outside
// that layout are listed whole. CloudTrail's digest files
// (CloudTrail-Digest/) hold no events and are skipped.
func S3(client S3API, u string, prune Prune) (Lister, error) {
	bucket, prefix, err := ParseS3URL(u)
	if err != nil {
		return nil, err
	}
	w := &s3Walker{client: client, bucket: bucket, prune: prune}
	return func(ctx context.Context, yield func(Object) error) error {
		return w.walk(ctx, prefix, yield)
	}, nil
}

type s3Walker struct {
	client S3API
	bucket string
	prune  Prune
}

// walk lists prefix one level down: its objects are yielded, its folders
// kept when the layout allows them, in key order.
func (w *s3Walker) walk(ctx context.Context, prefix string, yield func(Object) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	if w.prune.PageSize > 0 {
		in.MaxKeys = aws.Int32(w.prune.PageSize)
	}
	p := s3.NewListObjectsV2Paginator(w.client, in)
	// S3 never repeats a key or folder across the pages of one listing;
	// S3-compatible servers may (gofakes3 repeats folders), and a folder
	// walked twice would scan its objects twice.
	seen := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return yield(Object{Name: "s3://" + w.bucket + "/" + prefix, Err: fmt.Errorf("list: %w", err)})
		}
		// Objects and folders come in key order within a page; a folder
		// and an object never share a key, so objects first, then folders,
		// keeps the order of the archive's days.
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if strings.HasSuffix(key, "/") || seen[key] {
				continue
			}
			seen[key] = true
			if err := yield(w.object(key, aws.ToInt64(obj.Size))); err != nil {
				return err
			}
		}
		for _, cp := range page.CommonPrefixes {
			sub := aws.ToString(cp.Prefix)
			if seen[sub] || !w.prune.Keep(sub) {
				continue
			}
			seen[sub] = true
			if err := w.walk(ctx, sub, yield); err != nil {
				return err
			}
		}
	}
	return nil
}

// GetObjectAPI is the part of the S3 client an S3 object is read with.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Object is the object bucket/key (of size bytes, 0 when unknown), named
// s3://bucket/key and streamed with GetObject when it is read.
func S3Object(client GetObjectAPI, bucket, key string, size int64) Object {
	return Object{Name: "s3://" + bucket + "/" + key, Size: size, Open: func(ctx context.Context) (io.ReadCloser, error) {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("get: %w", err)
		}
		return out.Body, nil
	}}
}

func (w *s3Walker) object(key string, size int64) Object {
	return S3Object(w.client, w.bucket, key, size)
}

// KeepKey decides whether the object key may hold records the scan wants,
// from the folder it sits in (Keep): a key listed whole, as a distributed
// scan's batches are, is skipped unread when its account, region or day
// is pruned, or when it is one of CloudTrail's digest files.
func (p Prune) KeepKey(key string) bool {
	i := strings.LastIndex(key, "/")
	if i < 0 {
		return true
	}
	return p.Keep(key[:i+1])
}

// Keep decides whether a folder (a key prefix ending in "/") may hold
// records the scan wants, from where it sits in CloudTrail's layout.
func (p Prune) Keep(folder string) bool {
	parts := strings.Split(strings.TrimSuffix(folder, "/"), "/")
	i := slices.Index(parts, "AWSLogs")
	if i < 0 {
		return true
	}
	rest := parts[i+1:]
	if len(rest) > 0 && orgSegment.MatchString(rest[0]) {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return true
	}
	if !accountSegment.MatchString(rest[0]) {
		return true // not the layout: list it whole
	}
	if len(p.Accounts) > 0 && !slices.Contains(p.Accounts, rest[0]) {
		return false
	}
	if len(rest) < 2 {
		return true
	}
	switch rest[1] {
	case "CloudTrail":
	case "CloudTrail-Digest":
		return false
	default:
		return true
	}
	if len(rest) < 3 {
		return true
	}
	if regionSegment.MatchString(rest[2]) && len(p.Regions) > 0 && !slices.Contains(p.Regions, rest[2]) {
		return false
	}
	return p.keepDays(rest[3:])
}

// keepDays decides a YYYY[/MM[/DD]] folder against Since and Until.
func (p Prune) keepDays(date []string) bool {
	if len(date) == 0 || (p.Since.IsZero() && p.Until.IsZero()) {
		return true
	}
	if !yearSegment.MatchString(date[0]) {
		return true
	}
	for _, d := range date[1:] {
		if !twoDigits.MatchString(d) {
			return true
		}
	}
	var from, to time.Time // the folder's span
	y, m, d := atoi(date[0]), 1, 1
	switch len(date) {
	case 1:
		from = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		to = from.AddDate(1, 0, 0)
	case 2:
		m = atoi(date[1])
		from = time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		to = from.AddDate(0, 1, 0)
	default:
		m, d = atoi(date[1]), atoi(date[2])
		from = time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		to = from.AddDate(0, 0, 1)
	}
	const margin = 24 * time.Hour
	if !p.Since.IsZero() && !to.After(p.Since.Add(-margin)) {
		return false
	}
	if !p.Until.IsZero() && from.After(p.Until.Add(margin)) {
		return false
	}
	return true
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// ErrNoInputs is returned when no path or URL is given.
var ErrNoInputs = errors.New("name at least one file, folder or s3:// prefix")
