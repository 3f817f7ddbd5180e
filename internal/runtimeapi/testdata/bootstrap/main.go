// Command bootstrap is a function for the runtimeapi tests: its payload
// says what to do.
package main

import (
	"context"
	"errors"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, what string) error {
		switch what {
		case "fail":
			return errors.New("failed as asked")
		case "hang":
			select {} // past the deadline: only the kill ends it
		case "deadline":
			d, _ := ctx.Deadline()
			return errors.New(strconv.FormatInt(d.UnixMilli(), 10))
		}
		return nil
	})
}
