// Package dynalite starts dynalite, a DynamoDB-compatible server from npm
// (pinned in package.json), on a loopback port for tests, and creates tables
// shaped like trailwatch's state table on it. Tests use the real
// aws-sdk-go-v2 DynamoDB client against it.
//
// When dynalite is not installed yet (a fresh clone), the first test that
// needs it runs `npm ci` in the repository root, once for all the test
// binaries `go test ./...` runs side by side (a lock file serializes them),
// so the README's test command runs every test on a fresh machine. A test
// that cannot get dynalite fails; it is skipped only when the environment
// sets TRAILWATCH_SKIP_DYNALITE=1, which says so in the test's output.
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
	if os.Getenv("TRAILWATCH_SKIP_DYNALITE") == "1" {
		t.Skip("TRAILWATCH_SKIP_DYNALITE=1: the tests against dynalite are skipped")
	}
	once.Do(func() { url, err = start(fixture.Root(t)) })
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func start(root string) (string, error) {
	cli := filepath.Join(root, "node_modules", "dynalite", "cli.js")
	if err := install(root, cli); err != nil {
		return "", err
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

// install runs `npm ci` in root unless cli exists, holding a lock so the
// test binaries that need dynalite at the same time install it once.
func install(root, cli string) error {
	if _, err := os.Stat(cli); err == nil {
		return nil
	}
	unlock, err := lock(filepath.Join(root, ".npm-install.lock"))
	if err != nil {
		return fmt.Errorf("dynalite is not installed, and locking its install failed: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(cli); err == nil {
		return nil // another test binary installed it meanwhile
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("dynalite is not installed and npm is not on PATH: install Node.js 22 or 24 (README, Try it): %w", err)
	}
	c := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	c.Dir = root
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("dynalite is not installed, and npm ci in %s failed: %w\n%s", root, err, out)
	}
	if _, err := os.Stat(cli); err != nil {
		return fmt.Errorf("npm ci ran but dynalite is not in node_modules: %w", err)
	}
	return nil
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
