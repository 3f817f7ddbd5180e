package detect

import (
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// Helpers of the Bedrock detections (model abuse, "LLMjacking": stolen
// keys used to run models at the account's expense).

// bedrockModelID is the form of a model, inference profile or
// provisioned model ID, or of its ARN, that the alert may name in an ARN
// (at most 256 characters, checked beside it: a counted repetition such as
// {0,255} costs 0.2 ms to compile at every cold start).
var bedrockModelID = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)

// bedrockModelResource is the model a request names (requestParameters.modelId).
func bedrockModelResource(rec *cloudtrail.Record, modelID string) Resource {
	r := Resource{Type: "Bedrock model", Name: modelID, Region: rec.AWSRegion}
	switch {
	case !validModelID(modelID):
	case strings.HasPrefix(modelID, "arn:"):
		r.ARN = modelID
	case !strings.Contains(modelID, "/"):
		r.ARN = partitionARN(rec.AWSRegion, "bedrock", rec.AWSRegion, "", "foundation-model/"+modelID)
	}
	return r
}

// bedrockCaller says what makes the caller risky for model access, "" when
// nothing does: long-term keys, another account, an EC2 instance's
// credentials.
func bedrockCaller(rec *cloudtrail.Record) string {
	switch {
	case foreignCaller(rec) != "":
		return "by a principal of account " + foreignCaller(rec)
	case longTermKey(rec):
		return "with the long-term access key " + rec.UserIdentity.AccessKeyID + " of " + callerLabel(rec)
	case instanceCredentials(rec):
		return "with the credentials of an EC2 instance"
	}
	return ""
}

// validModelID reports a model ID or ARN of Bedrock's form, at most 256
// characters.
func validModelID(id string) bool {
	return id != "" && len(id) <= 256 && bedrockModelID.MatchString(id)
}

// isBedrockInvocation reports the calls that run a model.
func isBedrockInvocation(eventName string) bool {
	switch eventName {
	case "InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream":
		return true
	}
	return false
}
