#!/usr/bin/env python3
"""Per-record peer of `trailwatch scan` for the scan benchmark (bench/run.sh).

What a stdlib-only Python CloudTrail scanner does, in the style of
fivexl/terraform-aws-cloudtrail-to-slack: read each gzip log file, json-load
it, flatten every record into dotted keys (userIdentity.arn, ...), and
evaluate 40 rules written as Python expressions over the flat record
(compiled once, not re-parsed per record, to give the peer its best case).
Matches are printed as JSON Lines, one per record and rule, like scan does.

    python3 bench/peer.py /tmp/tw-bench-300k > /dev/null
"""
import gzip
import json
import os
import sys
import time


def flatten_json(y):
    out = {}

    def flatten(x, name=""):
        if isinstance(x, dict):
            for a in x:
                flatten(x[a], name + a + ".")
        elif isinstance(x, list):
            for i, a in enumerate(x):
                flatten(a, name + str(i) + ".")
        else:
            out[name[:-1]] = x

    flatten(y)
    return out


RULES = [
    "event['eventName'] == 'StopLogging'",
    "event['eventName'] == 'DeleteTrail'",
    "event['eventName'] == 'UpdateTrail'",
    "event['eventName'] == 'PutEventSelectors'",
    "event['eventName'] == 'DeleteFlowLogs'",
    "event['eventName'] == 'DeleteDetector' and event['eventSource'] == 'guardduty.amazonaws.com'",
    "event['eventName'] == 'DisableSecurityHub'",
    "event['eventName'] == 'DeleteConfigurationRecorder'",
    "event['eventName'] == 'StopConfigurationRecorder'",
    "event['eventName'] == 'ConsoleLogin' and event.get('additionalEventData.MFAUsed') != 'Yes'",
    "event['eventName'] == 'ConsoleLogin' and event.get('userIdentity.type') == 'Root'",
    "event.get('userIdentity.type') == 'Root' and event.get('userIdentity.invokedBy') is None",
    "event['eventName'] == 'CreateAccessKey'",
    "event['eventName'] == 'CreateUser'",
    "event['eventName'] == 'CreateLoginProfile'",
    "event['eventName'] == 'UpdateLoginProfile'",
    "event['eventName'] == 'AttachUserPolicy' and 'AdministratorAccess' in str(event.get('requestParameters.policyArn', ''))",
    "event['eventName'] == 'AttachRolePolicy' and 'AdministratorAccess' in str(event.get('requestParameters.policyArn', ''))",
    "event['eventName'] in ('PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy')",
    "event['eventName'] == 'UpdateAssumeRolePolicy'",
    "event['eventName'] == 'DeactivateMFADevice'",
    "event['eventName'] == 'DeleteVirtualMFADevice'",
    "event['eventName'] == 'PutBucketPolicy'",
    "event['eventName'] == 'PutBucketAcl' and 'AllUsers' in json.dumps(event.get('requestParameters.AccessControlPolicy.AccessControlList.Grant.0.Grantee.URI', ''))",
    "event['eventName'] == 'DeletePublicAccessBlock'",
    "event['eventName'] == 'PutBucketVersioning' and event.get('requestParameters.VersioningConfiguration.Status') == 'Suspended'",
    "event['eventName'] == 'AuthorizeSecurityGroupIngress' and event.get('requestParameters.ipPermissions.items.0.ipRanges.items.0.cidrIp') == '0.0.0.0/0'",
    "event['eventName'] == 'ModifySnapshotAttribute'",
    "event['eventName'] == 'ModifyImageAttribute'",
    "event['eventName'] == 'ModifyDBSnapshotAttribute'",
    "event['eventName'] == 'ScheduleKeyDeletion'",
    "event['eventName'] == 'DisableKey'",
    "event['eventName'] == 'PutKeyPolicy'",
    "event['eventName'] == 'GetSecretValue' and event.get('errorCode') is not None",
    "event['eventName'] == 'LeaveOrganization'",
    "event['eventName'] == 'CreateFunction20150331' or event['eventName'].startswith('UpdateFunctionCode')",
    "event['eventName'] == 'RunInstances' and int(event.get('requestParameters.instancesSet.items.0.maxCount', 1) or 1) > 10",
    "event.get('errorCode') in ('AccessDenied', 'Client.UnauthorizedOperation', 'UnauthorizedOperation')",
    "event['eventName'] == 'GetCallerIdentity' and event.get('userIdentity.type') == 'IAMUser'",
    "event['eventSource'] == 'sts.amazonaws.com' and event['eventName'] == 'GetFederationToken'",
]


def files(root):
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            if n.endswith(".gz"):
                yield os.path.join(folder, n)


def main():
    compiled = [(r, compile(r, "rule", "eval")) for r in RULES]
    started = time.time()
    records = matches = nfiles = 0
    out = sys.stdout
    for path in files(sys.argv[1]):
        nfiles += 1
        with gzip.open(path, "rt") as f:
            log = json.load(f)
        for rec in log.get("Records", []):
            records += 1
            event = flatten_json(rec)
            for text, code in compiled:
                try:
                    hit = eval(code, {"json": json}, {"event": event})
                except Exception:
                    hit = False
                if hit:
                    matches += 1
                    out.write(json.dumps({"rule": text, "eventID": rec.get("eventID"), "eventName": rec.get("eventName")}) + "\n")
    d = time.time() - started
    print(f"peer: {nfiles} files, {records} records, {matches} matches, in {d:.3f}s ({records / d:.0f} records/s)", file=sys.stderr)


if __name__ == "__main__":
    main()
