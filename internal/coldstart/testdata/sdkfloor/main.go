// Command sdkfloor is the second reference of the cold-start benchmark:
// the floor's function linking the AWS SDK clients the cloudtrail
// function links (every client a function makes), and nothing else. Go
// runs every linked package's initialization before main, and the SDK's
// is not deferrable by the code that links it (each client's endpoint
// tables compile their regular expressions at package initialization; the
// releases go.mod pins build no schemas there), so this is the least a
// function that makes these clients can take.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	_ "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	_ "github.com/aws/aws-sdk-go-v2/service/iam"
	_ "github.com/aws/aws-sdk-go-v2/service/organizations"
	_ "github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/aws/aws-sdk-go-v2/service/s3control"
	_ "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	_ "github.com/aws/aws-sdk-go-v2/service/sns"
	_ "github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "ok", nil })
}
