// Package redrive replays what trailwatch's dead-letter queue holds: events
// EventBridge could not deliver to the function, and invocations that failed
// after Lambda's retries. Each message's payload is checked the way the
// function decodes it, handed back to the function as a new asynchronous
// invocation, and deleted only once Lambda has accepted that invocation.
package redrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Queue is the part of the SQS API a redrive uses.
type Queue interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Invoker is the part of the Lambda API a redrive uses.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var (
	_ Queue   = (*sqs.Client)(nil)
	_ Invoker = (*lambda.Client)(nil)
)

const (
	// batchSize is the most messages SQS returns to one ReceiveMessage.
	batchSize = 10
	// waitSeconds makes each receive a short long poll: SQS then asks all
	// its servers, so an empty answer means the queue has no visible
	// message rather than that the sampled servers had none.
	waitSeconds = 2
	// VisibilitySeconds hides each received message from further receives
	// for this long, which is usually longer than handling a batch takes
	// (ten invocations with the SDK's retries); a message that shows up
	// again anyway is recognized by its ID and not handled twice. Messages
	// the run leaves in the queue are made visible again when it ends.
	VisibilitySeconds = 60
	// cleanupTimeout bounds the delete that follows an accepted invocation
	// and the release of kept messages; both run even when the run is
	// interrupted, so an event Lambda has accepted is not redriven twice and
	// kept messages do not stay hidden.
	cleanupTimeout = 10 * time.Second
	// statusAccepted is Lambda's answer to an accepted Event invocation.
	statusAccepted = 202
)

// Outcome is what became of one message.
type Outcome string

// Outcomes.
const (
	// Redriven: Lambda accepted the invocation and the message was deleted.
	Redriven Outcome = "redriven"
	// WouldRedrive: a dry run found the payload redrivable.
	WouldRedrive Outcome = "would redrive"
	// Undecodable: the function could not decode the payload; the message
	// stays.
	Undecodable Outcome = "undecodable"
	// InvokeFailed: Lambda did not accept the invocation; the message stays.
	InvokeFailed Outcome = "invoke failed"
	// DeleteFailed: Lambda accepted the invocation but the message could
	// not be deleted: the next run redrives it again.
	DeleteFailed Outcome = "not deleted"
)

// Result is one message's outcome.
type Result struct {
	Letter  Letter
	Outcome Outcome
	// Err says why the outcome is not Redriven or WouldRedrive.
	Err error
}

// OK reports whether the message was, or in a dry run would be, redriven.
func (r Result) OK() bool { return r.Outcome == Redriven || r.Outcome == WouldRedrive }

// String is the result as one report line: message ID, event ID,
// detection ("-" when unknown) and the outcome with its reason. Values from
// the message are quoted when they hold control or invisible characters,
// so a message cannot rewrite the terminal.
func (r Result) String() string {
	outcome := string(r.Outcome)
	switch {
	case r.Outcome == WouldRedrive && r.Letter.Cause != "":
		outcome += " (" + string(r.Letter.Source) + ": " + r.Letter.Cause + ")"
	case r.Outcome == DeleteFailed:
		outcome = "invoked, " + outcome + " (the next run invokes it again): " + errText(r.Err)
	case r.Outcome == Undecodable && errors.Is(r.Err, ErrUndecodable):
		outcome = "kept, " + errText(r.Err) // "undecodable payload: ..."
	case !r.OK():
		outcome = "kept, " + outcome + ": " + errText(r.Err)
	}
	return strings.Join([]string{
		field(r.Letter.MessageID), field(r.Letter.EventID()), field(r.Letter.Invocation.Detection), printable(outcome),
	}, " ")
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func field(s string) string {
	if s == "" {
		return "-"
	}
	if strings.ContainsRune(s, ' ') {
		return strconv.Quote(s)
	}
	return printable(s)
}

func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) && r != ' ' }) < 0 {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// Summary is what a run did, message by message.
type Summary struct {
	Results []Result
	// Unreleased says which kept messages could not be made visible again;
	// they reappear when their visibility timeout ends.
	Unreleased error
}

// Count returns how many messages had outcome o.
func (s Summary) Count(o Outcome) int {
	n := 0
	for _, r := range s.Results {
		if r.Outcome == o {
			n++
		}
	}
	return n
}

// Redriver empties a dead-letter queue into the function.
type Redriver struct {
	Queue    Queue
	QueueURL string
	Lambda   Invoker
	// Function is the name or ARN of the function to invoke.
	Function string
	// Max stops the run after this many messages; 0 runs until the queue
	// has no visible message.
	Max int
	// DryRun reports what would be redriven and invokes and deletes
	// nothing; every received message is made visible again at the end.
	DryRun bool
	// Detections are the catalog's IDs (see Parse).
	Detections []string
	// Out receives one line per message as it is handled; nil discards.
	Out io.Writer
}

// Run receives messages until the queue has no visible message left or Max
// is reached, and handles each one. A message the run has already handled
// (its visibility ran out while the run went on) is not handled twice, and
// a receive that returns only such messages ends the run. When the run ends,
// the messages it kept (and, in a dry run, every message it received) are
// made visible again, so the queue looks as it did, less what was redriven.
// The error is about the run, not a message: the queue could not be read,
// or ctx ended.
func (r *Redriver) Run(ctx context.Context) (Summary, error) {
	var sum Summary
	kept := map[string]types.Message{}
	err := r.receive(ctx, &sum, kept)
	sum.Unreleased = r.release(ctx, kept)
	return sum, err
}

// receive is Run's loop. kept collects, by message ID, the messages to make
// visible again, each with its newest receipt handle: a message received
// again after its visibility ran out can be released only with that one.
func (r *Redriver) receive(ctx context.Context, sum *Summary, kept map[string]types.Message) error {
	handled := map[string]bool{}
	for r.Max <= 0 || len(sum.Results) < r.Max {
		n := batchSize
		if r.Max > 0 {
			n = min(n, r.Max-len(sum.Results))
		}
		out, err := r.Queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:              aws.String(r.QueueURL),
			MaxNumberOfMessages:   int32(n),
			WaitTimeSeconds:       waitSeconds,
			VisibilityTimeout:     VisibilitySeconds,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return fmt.Errorf("receive from %s: %w", r.QueueURL, err)
		}
		fresh := 0
		for i, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if _, ok := kept[id]; ok {
				kept[id] = m
			}
			if handled[id] {
				continue
			}
			if ctx.Err() != nil || r.Max > 0 && len(sum.Results) >= r.Max {
				// Received but not handled: give these back.
				for _, m := range out.Messages[i:] {
					if id := aws.ToString(m.MessageId); !handled[id] {
						kept[id] = m
					}
				}
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("redrive interrupted: %w", err)
				}
				return nil
			}
			handled[id] = true
			fresh++
			res := r.handle(ctx, m)
			sum.Results = append(sum.Results, res)
			if res.Outcome != Redriven && res.Outcome != DeleteFailed {
				kept[id] = m
			}
			if r.Out != nil {
				if _, err := fmt.Fprintln(r.Out, res); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
			}
		}
		if fresh == 0 {
			return nil
		}
	}
	return nil
}

// release makes kept messages visible again. A message whose invocation
// Lambda accepted but which could not be deleted is not released: it would
// only be redriven again at once.
func (r *Redriver) release(ctx context.Context, kept map[string]types.Message) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var errs []error
	for id, m := range kept {
		_, err := r.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(r.QueueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("make message %s visible again: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// handle redrives one message: invoke, then delete once the invocation is
// accepted.
func (r *Redriver) handle(ctx context.Context, m types.Message) Result {
	l, err := Parse(m, r.Detections)
	if err != nil {
		if !errors.Is(err, ErrUndecodable) {
			err = fmt.Errorf("%w: %w", ErrUndecodable, err)
		}
		return Result{Letter: l, Outcome: Undecodable, Err: err}
	}
	if r.DryRun {
		return Result{Letter: l, Outcome: WouldRedrive}
	}
	out, err := r.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(r.Function),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        l.Payload,
	})
	if err != nil {
		return Result{Letter: l, Outcome: InvokeFailed, Err: fmt.Errorf("invoke %s: %w", r.Function, err)}
	}
	if out.StatusCode != statusAccepted {
		return Result{Letter: l, Outcome: InvokeFailed, Err: fmt.Errorf("invoke %s: status %d, want %d (accepted)", r.Function, out.StatusCode, statusAccepted)}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := r.Queue.DeleteMessage(dctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		return Result{Letter: l, Outcome: DeleteFailed, Err: fmt.Errorf("delete message: %w", err)}
	}
	return Result{Letter: l, Outcome: Redriven}
}
