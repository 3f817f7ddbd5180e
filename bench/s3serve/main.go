// Command s3serve serves a folder as an S3 bucket, for the scan
// benchmark's S3 check (bench/s3check.sh): an in-process gofakes3 server
// (the S3-compatible server the tests use) on a local port, into which
// every file under FOLDER is uploaded through the real SDK client, keyed
// by its path below FOLDER (a bench/gen archive becomes
// s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/..., the layout
// CloudTrail writes). It prints the endpoint URL on stdout once the bucket
// is filled and serves until it is stopped.
//
//	go run ./bench/s3serve -addr 127.0.0.1:9400 /tmp/tw-bench-300000
//	AWS_ENDPOINT_URL_S3=http://127.0.0.1:9400 trailwatch scan s3://archive/AWSLogs/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9400", "address to listen on")
	bucket := flag.String("bucket", "archive", "bucket to create and fill")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: s3serve [-addr HOST:PORT] [-bucket NAME] FOLDER")
		os.Exit(2)
	}
	if err := run(*addr, *bucket, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "s3serve:", err)
		os.Exit(1)
	}
}

func run(addr, bucket, folder string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: gofakes3.New(s3mem.New()).Server()}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	ctx := context.Background()
	client := s3.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDS3SERVE", "s3serve-secret", ""),
		BaseEndpoint: aws.String(url),
	}, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	files, bytes := 0, int64(0)
	err = filepath.WalkDir(folder, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		key, err := filepath.Rel(folder, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(filepath.ToSlash(key)),
			Body: f, ContentLength: aws.Int64(info.Size()),
		}); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		files++
		bytes += info.Size()
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "s3serve: %d files (%d bytes) in s3://%s/ at %s\n", files, bytes, bucket, url)
	fmt.Println(url)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	select {
	case <-stop:
		return srv.Close()
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
