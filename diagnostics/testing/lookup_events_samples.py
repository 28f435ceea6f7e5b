"""CloudTrail management-event records shaped like LookupEvents returns them.

Field names, nesting and value formats follow the CloudTrail record contents
reference (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html)
and the error sentences IAM writes; the accounts, roles and ids are made up.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"
ROLE = "deploy-pipeline"
SESSION = "gh-actions-4711"


def caller_arn(account: str = ACCOUNT, role: str = ROLE, session: str = SESSION) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


def denied_message(action: str, resource: str, *, account: str = ACCOUNT) -> str:
    """IAM's sentence for an implicit deny, as services put it in ``errorMessage``."""
    return (
        f"User: {caller_arn(account)} is not authorized to perform: {action} on resource: "
        f"{resource} because no identity-based policy allows the {action} action"
    )


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lookup_record(
    event_name: str,
    event_source: str,
    when: datetime,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
    region: str = "us-east-1",
    account: str = ACCOUNT,
    read_only: bool = True,
    request_parameters: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One management-event record, as the ``CloudTrailEvent`` string of LookupEvents holds it."""
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLEROLEID0001:{SESSION}",
            "arn": caller_arn(account),
            "accountId": account,
            "accessKeyId": "ASIAEXAMPLEKEY000001",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEROLEID0001",
                    "arn": f"arn:aws:iam::{account}:role/{ROLE}",
                    "accountId": account,
                    "userName": ROLE,
                },
                "attributes": {"creationDate": iso(when), "mfaAuthenticated": "false"},
            },
        },
        "eventTime": iso(when),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0",
        "requestParameters": dict(request_parameters) if request_parameters else None,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error_code is not None:
        record["errorCode"] = error_code
        if error_message is not None:
            record["errorMessage"] = error_message
    return record
