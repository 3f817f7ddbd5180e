package main

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/redrive"
)

// redriveCmd hands what the dead-letter queue holds back to the function.
//
// Exit status: 0 every message was redriven (or the queue was empty); 1 an
// invocation or a delete failed, or the queue could not be read; 2 usage
// error or no AWS credentials; 3 only undecodable messages were kept.
func redriveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, loadAWS awsLoader) int {
	fs := newFlagSet("redrive", stderr)
	queueURL := fs.String("queue-url", "", "URL of the dead-letter queue, the stack's DeadLetterQueueUrl output (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
	function := fs.String("function", "", "name or ARN of the function to invoke, the stack's FunctionName output (a name is looked up in the queue's region)")
	maxMessages := fs.Int("max", 0, "handle at most N messages (0: until the queue has no visible message)")
	dryRun := fs.Bool("dry-run", false, "print what would be redriven and why each message is in the queue; invoke and delete nothing")
	rest, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "trailwatch redrive: unexpected arguments %q\n", rest)
		return exitUsage
	}
	if *queueURL == "" || *function == "" {
		fmt.Fprintf(stderr, "trailwatch redrive: --queue-url and --function are required\n")
		return exitUsage
	}
	if *maxMessages < 0 {
		fmt.Fprintf(stderr, "trailwatch redrive: --max %d: want 0 or more\n", *maxMessages)
		return exitUsage
	}
	// The queue's own region, whatever the profile says: SQS answers for a
	// queue only at its region's endpoint.
	region, err := redrive.QueueRegion(*queueURL)
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch redrive: --queue-url: %v\n", err)
		return exitUsage
	}
	catalog, err := detect.Builtin()
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch: catalog: %v\n", err)
		return exitUsage
	}
	var detections []string
	for _, d := range catalog.All() {
		detections = append(detections, d.ID)
	}
	cfg, reason := awsAccess(ctx, loadAWS, region)
	if reason != "" {
		fmt.Fprintf(stderr, "trailwatch redrive: needs AWS credentials: %s\n", reason)
		return exitUsage
	}

	r := &redrive.Redriver{
		Queue:    sqs.NewFromConfig(cfg),
		QueueURL: *queueURL,
		Lambda: lambda.NewFromConfig(cfg, func(o *lambda.Options) {
			if fr := redrive.FunctionRegion(*function); fr != "" {
				o.Region = fr
			}
		}),
		Function:   *function,
		Max:        *maxMessages,
		DryRun:     *dryRun,
		Detections: detections,
		Out:        stdout,
	}
	sum, runErr := r.Run(ctx)
	if runErr == nil || len(sum.Results) > 0 {
		fmt.Fprintf(stderr, "trailwatch redrive: %s\n", summary(sum, *dryRun))
	}
	if sum.Unreleased != nil {
		fmt.Fprintf(stderr, "trailwatch redrive: some kept messages stay hidden for up to %d s: %v\n", redrive.VisibilitySeconds, sum.Unreleased)
	}
	failed := sum.Count(redrive.InvokeFailed) + sum.Count(redrive.DeleteFailed)
	switch {
	case runErr != nil:
		fmt.Fprintf(stderr, "trailwatch redrive: %v\n", runErr)
		return exitDelivery
	case failed > 0:
		return exitDelivery
	case sum.Count(redrive.Undecodable) > 0:
		return exitUnreadable
	}
	return exitOK
}

func summary(sum redrive.Summary, dryRun bool) string {
	n := len(sum.Results)
	messages := fmt.Sprintf("%d messages", n)
	if n == 1 {
		messages = "1 message"
	}
	switch {
	case n == 0:
		return "no messages in the queue"
	case dryRun:
		return fmt.Sprintf("dry run, %s: %d would be redriven, %d undecodable; nothing was invoked or deleted",
			messages, sum.Count(redrive.WouldRedrive), sum.Count(redrive.Undecodable))
	}
	s := fmt.Sprintf("%s: %d redriven, %d kept (%d undecodable, %d invoke failed)",
		messages, sum.Count(redrive.Redriven), sum.Count(redrive.Undecodable)+sum.Count(redrive.InvokeFailed),
		sum.Count(redrive.Undecodable), sum.Count(redrive.InvokeFailed))
	if d := sum.Count(redrive.DeleteFailed); d > 0 {
		s += fmt.Sprintf(", %d invoked but not deleted (the next run invokes them again)", d)
	}
	return s
}
