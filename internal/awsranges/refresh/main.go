// Command refresh rewrites internal/awsranges/ranges.txt from AWS's
// published IP ranges. Run it from the repository's root with internet
// access:
//
//	go run ./internal/awsranges/refresh
//
// It fetches https://ip-ranges.amazonaws.com/ip-ranges.json, keeps the
// IPv4 and IPv6 prefixes of every service and region, merges them and
// records the file's syncToken and createDate. Without internet, -in reads
// a downloaded ip-ranges.json, and -cdncheck the sources_data.json that
// the Go module github.com/projectdiscovery/cdncheck ships (its cloud.aws
// list is every prefix of ip-ranges.json, scraped; it keeps no syncToken,
// so the module's version and time are recorded instead):
//
//	go mod download -json github.com/projectdiscovery/cdncheck@v1.3.0   # prints Dir
//	go run ./internal/awsranges/refresh -cdncheck DIR/sources_data.json -date 2026-09-06-00-17-42 \
//	    -source "github.com/projectdiscovery/cdncheck v1.3.0 ..."
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/trailwatch/trailwatch/internal/awsranges"
)

func main() {
	if err := run(context.Background(), os.Args[1:], http.DefaultClient, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "refresh:", err)
		os.Exit(1)
	}
}

// maxDownload bounds what is read from the URL (ip-ranges.json is about
// 2 MB).
const maxDownload = 64 << 20

func run(ctx context.Context, args []string, client *http.Client, log io.Writer) error {
	fs := flag.NewFlagSet("refresh", flag.ContinueOnError)
	url := fs.String("url", awsranges.URL, "where to fetch ip-ranges.json")
	in := fs.String("in", "", "read this ip-ranges.json instead of fetching it")
	cdncheck := fs.String("cdncheck", "", "read the cloud.aws prefixes of this cdncheck sources_data.json instead")
	source := fs.String("source", "", "what to record as the data's source (default: the URL or file read)")
	date := fs.String("date", "", "what to record as the data's createDate (default: ip-ranges.json's own)")
	out := fs.String("out", filepath.Join("internal", "awsranges", "ranges.txt"), "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		set  *awsranges.Set
		info awsranges.Info
		err  error
	)
	switch {
	case *cdncheck != "":
		set, info, err = fromCdncheck(*cdncheck)
	case *in != "":
		var data []byte
		if data, err = os.ReadFile(*in); err == nil {
			set, info, err = awsranges.FromPublished(data)
			info.Source = *in
		}
	default:
		var data []byte
		if data, err = fetch(ctx, client, *url); err == nil {
			set, info, err = awsranges.FromPublished(data)
			info.Source = *url
		}
	}
	if err != nil {
		return err
	}
	if *source != "" {
		info.Source = *source
	}
	if *date != "" {
		info.CreateDate = *date
	}
	var buf bytes.Buffer
	if err := set.Write(&buf, info); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	v4, v6 := set.Len()
	fmt.Fprintf(log, "wrote %s: %d IPv4 and %d IPv6 prefixes (syncToken %q, createDate %q)\n", *out, v4, v6, info.SyncToken, info.CreateDate)
	return nil
}

func fetch(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	return data, nil
}

// fromCdncheck reads cdncheck's sources_data.json:
// {"cloud": {"aws": ["3.4.12.4/32", ...]}, ...}.
func fromCdncheck(path string) (*awsranges.Set, awsranges.Info, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, awsranges.Info{}, err
	}
	var src struct {
		Cloud struct {
			AWS []string `json:"aws"`
		} `json:"cloud"`
	}
	if err := json.Unmarshal(data, &src); err != nil {
		return nil, awsranges.Info{}, fmt.Errorf("decode %s: %w", path, err)
	}
	if len(src.Cloud.AWS) == 0 {
		return nil, awsranges.Info{}, errors.New(path + " has no cloud.aws prefixes")
	}
	prefixes := make([]netip.Prefix, 0, len(src.Cloud.AWS))
	for _, s := range src.Cloud.AWS {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, awsranges.Info{}, fmt.Errorf("%s: %w", path, err)
		}
		prefixes = append(prefixes, p)
	}
	return awsranges.New(prefixes), awsranges.Info{Source: path}, nil
}
