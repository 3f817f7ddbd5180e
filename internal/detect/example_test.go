package detect_test

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// A CloudTrail record, as EventBridge delivers it, runs through the
// catalog: the EventBridge patterns first, then each matching detection's
// decision. Findings come most severe first; the CIS 4.8 change monitor
// reports beside the specific exposure detection.
func ExampleCatalog_Evaluate() {
	catalog, err := detect.Builtin()
	if err != nil {
		panic(err)
	}
	ev, err := event.Decode([]byte(`{"version":"0","id":"e-1","detail-type":"AWS API Call via CloudTrail","source":"aws.s3",
		"account":"111122223333","time":"2026-11-20T09:14:27Z","region":"eu-west-1","resources":[],
		"detail":{"eventTime":"2026-11-20T09:14:27Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl",
		"awsRegion":"eu-west-1","eventID":"r-1","userIdentity":{"type":"IAMUser","userName":"deploy-bot"},
		"requestParameters":{"bucketName":"acme-public","x-amz-acl":["public-read"]}}}`))
	if err != nil {
		panic(err)
	}
	findings, err := catalog.Evaluate(ev)
	if err != nil {
		panic(err)
	}
	for _, f := range findings {
		fmt.Printf("%s %s: %s\n", f.Severity, f.Detection.ID, f.Headline)
	}
	// Output:
	// high s3-bucket-acl-public: ACL of bucket acme-public grants AllUsers (anyone) READ
	// low s3-bucket-config-changed: ACL of bucket acme-public replaced
}
