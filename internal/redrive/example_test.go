package redrive_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/trailwatch/trailwatch/internal/redrive"
)

// ExampleParse takes apart the messages of a recorded ReceiveMessage answer:
// an EventBridge dead letter, a Lambda on-failure record and a message
// someone sent by hand.
func ExampleParse() {
	b, err := os.ReadFile("testdata/sqs-receive-mixed.json")
	if err != nil {
		panic(err)
	}
	var out struct{ Messages []types.Message }
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	for _, m := range out.Messages {
		l, err := redrive.Parse(m, []string{"s3-bucket-acl-public", "s3-bucket-policy-public"})
		if err != nil {
			fmt.Println(l.MessageID, "cannot be redriven:", err)
			continue
		}
		fmt.Println(l.MessageID, l.Source, l.EventID(), l.Invocation.Detection)
	}
	// Output:
	// 7b2d4c1e-5f3a-4e8b-9c6d-0a1b2c3d4e5f eventbridge fb1e38bd-9dc6-8e79-9790-66aaec689aa4 s3-bucket-policy-public
	// 0e6a1b3c-7d94-4f28-b5e0-9c3d2a1f8b76 lambda e42c7339-b155-3991-02b0-821954cadba7 s3-bucket-acl-public
	// f3a9c7e1-2b4d-4f6a-8e0c-1d3b5a7c9e2f cannot be redriven: undecodable payload: malformed event: invalid character 'h' looking for beginning of value
}
