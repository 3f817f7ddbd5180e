package detect

import (
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "config-recording-changed",
		Title: "AWS Config recording stopped or changed",
		Description: "A change to AWS Config's configuration recorder or delivery channel (CIS 4.9). Stopping or deleting the " +
			"recorder, or deleting the delivery channel, ends the record of resource configurations that investigations and " +
			"compliance rules rely on: high. PutConfigurationRecorder and PutDeliveryChannel are medium, and high when the " +
			"recorder no longer records all supported resource types (recordingGroup allSupported false, or a recording " +
			"strategy other than all supported types). Starting the recorder, Config rules, conformance packs, aggregators " +
			"and the service-linked recorders of other AWS services are not covered.",
		Severity: SeverityHigh,
		Pattern: APICall([]string{srcConfig}, "StopConfigurationRecorder", "DeleteConfigurationRecorder",
			"DeleteDeliveryChannel", "PutConfigurationRecorder", "PutDeliveryChannel"),
		Evaluate: evaluateConfigRecording,
		CIS:      []string{"4.9"},
		MITRE:    []string{"T1562.008"},
		Runbook: "Check the recorder and channel (aws configservice describe-configuration-recorder-status; aws configservice " +
			"describe-configuration-recorders; aws configservice describe-delivery-channels). Restore what was removed from " +
			"infrastructure code, or: aws configservice put-configuration-recorder --configuration-recorder " +
			"name=RECORDER_NAME,roleARN=ROLE_ARN --recording-group allSupported=true,includeGlobalResourceTypes=true; " +
			"aws configservice put-delivery-channel --delivery-channel file://DELIVERY_CHANNEL.json; aws configservice " +
			"start-configuration-recorder --configuration-recorder-name RECORDER_NAME. Then review the principal's other " +
			"actions while recording was off.",
		References: []string{
			"https://docs.aws.amazon.com/config/latest/developerguide/stop-start-recorder.html",
			"https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigurationRecorder.html",
			"https://docs.aws.amazon.com/config/latest/APIReference/API_RecordingGroup.html",
		},
		FalsePositives: []string{
			"Landing-zone tooling (Control Tower, StackSets) that manages Config in every account and region.",
			"Recording narrowed on purpose to cut cost in sandbox accounts.",
		},
		Tests: Tests{
			Positive: []Example{
				{"config/config-recording-changed-stop-recorder.json", SeverityHigh},
				{"config/config-recording-changed-delete-delivery-channel.json", SeverityHigh},
				{"config/config-recording-changed-put-recorder-narrowed.json", SeverityHigh},
				{"config/config-recording-changed-put-recorder-all-supported.json", SeverityMedium},
				{"config/config-recording-changed-put-delivery-channel.json", SeverityMedium},
				{"config/config-recording-changed-delete-recorder-failed.json", SeverityLow},
			},
			Negative: []string{
				"config/config-recording-changed-start-recorder.json",
			},
		},
	})
}

// recorderNarrowing says how a PutConfigurationRecorder request stops
// recording all supported resource types, or "" when it does not. Without a
// recording group Config records all supported types.
func recorderNarrowing(group paramValue) (string, bool) {
	if group.Null() {
		return "", false
	}
	var g struct {
		AllSupported             paramValue `json:"allSupported"`
		ResourceTypes            paramValue `json:"resourceTypes"`
		ExclusionByResourceTypes struct {
			ResourceTypes paramValue `json:"resourceTypes"`
		} `json:"exclusionByResourceTypes"`
		RecordingStrategy struct {
			UseOnly paramValue `json:"useOnly"`
		} `json:"recordingStrategy"`
	}
	decodeInto(group, &g)
	strategy, _ := g.RecordingStrategy.UseOnly.Str()
	all, set := g.AllSupported.Bool()
	switch {
	case strings.EqualFold(strategy, "EXCLUSION_BY_RESOURCE_TYPES"):
		n := len(g.ExclusionByResourceTypes.ResourceTypes.Strings())
		return "all supported resource types but " + countPhrase(n, "excluded type", "excluded types"), true
	case strategy != "" && !strings.EqualFold(strategy, "ALL_SUPPORTED_RESOURCE_TYPES"), !set, !all:
		if n := len(g.ResourceTypes.Strings()); n > 0 {
			return "only " + countPhrase(n, "listed resource type", "listed resource types"), true
		}
		return "not all supported resource types", true
	}
	return "", false
}

func evaluateConfigRecording(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	var rp struct {
		ConfigurationRecorderName paramValue `json:"configurationRecorderName"`
		DeliveryChannelName       paramValue `json:"deliveryChannelName"`
		ConfigurationRecorder     struct {
			Name           paramValue `json:"name"`
			RecordingGroup paramValue `json:"recordingGroup"`
		} `json:"configurationRecorder"`
		DeliveryChannel struct {
			Name         paramValue `json:"name"`
			S3BucketName paramValue `json:"s3BucketName"`
			SNSTopicARN  paramValue `json:"snsTopicARN"`
		} `json:"deliveryChannel"`
	}
	decodeInto(rec.RequestParameters, &rp)
	recorder := func(name paramValue) Finding {
		n, _ := name.Str()
		return Finding{Resource: Resource{Type: "AWS Config configuration recorder", Name: n, Region: rec.AWSRegion}}
	}
	channel := func(name paramValue) Finding {
		n, _ := name.Str()
		return Finding{Resource: Resource{Type: "AWS Config delivery channel", Name: n, Region: rec.AWSRegion}}
	}
	switch rec.EventName {
	case "StopConfigurationRecorder":
		f := recorder(rp.ConfigurationRecorderName)
		f.Severity = SeverityHigh
		what := "AWS Config " + resourcePhrase("recorder", f.Resource.Name)
		f.Changes = []Change{{Setting: "Recording", Before: NotRecorded, After: "stopped"}}
		return outcome(f, rec, what+" stopped: configuration changes are no longer recorded", "stop "+what), true
	case "DeleteConfigurationRecorder":
		f := recorder(rp.ConfigurationRecorderName)
		f.Severity = SeverityHigh
		what := "AWS Config " + resourcePhrase("recorder", f.Resource.Name)
		f.Changes = []Change{{Setting: "Configuration recorder", Before: "exists", After: "deleted"}}
		return outcome(f, rec, what+" deleted: configuration changes are no longer recorded", "delete "+what), true
	case "DeleteDeliveryChannel":
		f := channel(rp.DeliveryChannelName)
		f.Severity = SeverityHigh
		what := "AWS Config " + resourcePhrase("delivery channel", f.Resource.Name)
		f.Changes = []Change{{Setting: "Delivery channel", Before: "exists", After: "deleted"}}
		return outcome(f, rec, what+" deleted: configuration history is no longer delivered", "delete "+what), true
	case "PutConfigurationRecorder":
		f := recorder(rp.ConfigurationRecorder.Name)
		f.Severity = SeverityMedium
		what := "AWS Config " + resourcePhrase("recorder", f.Resource.Name)
		done := what + " created or changed"
		if !rp.ConfigurationRecorder.RecordingGroup.Null() {
			f.Evidence = []Evidence{{Label: "New recording group", Text: rp.ConfigurationRecorder.RecordingGroup.JSON()}}
		}
		if why, narrowed := recorderNarrowing(rp.ConfigurationRecorder.RecordingGroup); narrowed {
			f.Severity = SeverityHigh
			f.Changes = []Change{{Setting: "Resource types recorded", Before: NotRecorded, After: why}}
			done = what + " narrowed: records " + why
		} else {
			f.Changes = []Change{{Setting: "Resource types recorded", Before: NotRecorded, After: "all supported"}}
		}
		return outcome(f, rec, done, "change "+what), true
	case "PutDeliveryChannel":
		f := channel(rp.DeliveryChannel.Name)
		f.Severity = SeverityMedium
		what := "AWS Config " + resourcePhrase("delivery channel", f.Resource.Name)
		if b, ok := rp.DeliveryChannel.S3BucketName.Str(); ok {
			f.Changes = append(f.Changes, Change{Setting: "S3 bucket", Before: NotRecorded, After: b})
		}
		if t, ok := rp.DeliveryChannel.SNSTopicARN.Str(); ok {
			f.Changes = append(f.Changes, Change{Setting: "SNS topic", Before: NotRecorded, After: t})
		}
		f.Evidence = []Evidence{{Label: "New delivery channel", Text: compactJSON(rec.RequestParameters)}}
		return outcome(f, rec, what+" created or changed", "change "+what), true
	}
	return Finding{}, false
}
