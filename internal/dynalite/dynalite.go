// Package dynalite starts dynalite, a DynamoDB-compatible server from npm
// (installed by `npm ci`), on a loopback port for tests, and creates tables
// shaped like trailwatch's state table on it. Tests use the real
// aws-sdk-go-v2 DynamoDB client against it.
//
// Without dynalite the tests that need it are skipped, unless the
// environment sets TRAILWATCH_REQUIRE_DYNALITE (as .ci/run does): then they
// fail.
package dynalite

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/state"
)

var (
	once   sync.Once
	url    string
	cmd    *exec.Cmd
	err    error
	tables atomic.Int64
)

// URL starts dynalite once per test binary and returns its endpoint.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { url, err = start(fixture.Root(t)) })
	if err != nil {
		if os.Getenv("TRAILWATCH_REQUIRE_DYNALITE") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return url
}

func start(root string) (string, error) {
	cli := filepath.Join(root, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return "", fmt.Errorf("dynalite is not installed (run npm ci): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	c := exec.Command("node", cli, "--port", fmt.Sprint(port))
	out, err := c.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := c.Start(); err != nil {
		return "", fmt.Errorf("start dynalite: %w", err)
	}
	cmd = c
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening") {
				ready <- nil
				return
			}
		}
		ready <- fmt.Errorf("dynalite exited before listening")
	}()
	select {
	case err := <-ready:
		if err != nil {
			return "", err
		}
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("dynalite did not start within 30s")
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port), nil
}

// Stop ends dynalite; call it from TestMain after m.Run.
func Stop() {
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// Client returns a real DynamoDB client pointed at dynalite.
func Client(t testing.TB) *dynamodb.Client {
	return dynamodb.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDDYNALITE", "secret", ""),
		BaseEndpoint: aws.String(URL(t)),
	})
}

// Table creates a fresh table shaped like trailwatch's state table and
// returns its name.
func Table(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("trailwatch-test-%d-%d", time.Now().UnixNano(), tables.Add(1))
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(state.KeyAttribute), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(state.KeyAttribute), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := waiter.Wait(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatalf("wait for table: %v", err)
	}
	return name
}
