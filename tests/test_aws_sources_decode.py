"""Cross-account decoding end to end: SQS-delivered CloudTrail failures of two accounts,
decoder roles assumed with moto's STS, messages decoded at the loopback STS double."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sts.models import sts_backends
from test_aws_sources_helpers import ACCOUNT_A, ACCOUNT_B, eventbridge, failure_record

from diagnostics.decode import Decoder, DecodeSettings
from diagnostics.extract import failures_from_document
from diagnostics.model import SourceRef
from diagnostics.service.config import LimitsConfig
from diagnostics.sources.base import Event, FoundFailures, SourceContext
from diagnostics.sources.sqs import SqsSource
from diagnostics.support.state import StateDB
from diagnostics.testing import StsDouble, decoded_message, fake_blob

TEMPLATE = "arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder"
MOTO_STS = "https://sts.us-east-1.amazonaws.com"  # answered by moto in-process


def _moto_account_of(key: str) -> str | None:
    for acct in (ACCOUNT_A, ACCOUNT_B):
        for role in sts_backends[acct]["aws"].assumed_roles:
            if role.access_key_id == key:
                return str(role.account_id)
    return None


@pytest.fixture
def double(monkeypatch: pytest.MonkeyPatch) -> Iterator[StsDouble]:
    """moto (SQS, STS AssumeRole) plus the decode double that knows moto's keys' accounts."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEBASE00001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    with mock_aws(), StsDouble(key_resolver=_moto_account_of) as sts:
        yield sts


def encoded_record(i: int, account: str, blob: str) -> dict[str, Any]:
    rec = failure_record(i, account)
    rec["eventSource"] = "ec2.amazonaws.com"
    rec["eventName"] = "RunInstances"
    rec["errorCode"] = "Client.UnauthorizedOperation"
    rec["errorMessage"] = (
        "You are not authorized to perform this operation. "
        f"Encoded authorization failure message: {blob}"
    )
    return rec


def test_two_accounts_from_one_queue_decode_with_their_own_roles(
    double: StsDouble, tmp_path: Path
) -> None:
    """Failures of two accounts arriving on one queue decode with each account's role and answer."""
    blob_a, blob_b = fake_blob("acct-a"), fake_blob("acct-b")
    double.add_message(blob_a, decoded_message(action="ec2:RunInstances"), account=ACCOUNT_A)
    double.add_message(blob_b, decoded_message(action="ec2:CreateTags"), account=ACCOUNT_B)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="authz")["QueueUrl"]
    for i, (acct, blob) in enumerate(((ACCOUNT_A, blob_a), (ACCOUNT_B, blob_b))):
        sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps(eventbridge(encoded_record(i, acct, blob)))
        )
    state = StateDB.in_dir(tmp_path / "state")
    src = SqsSource(
        "queue",
        SourceContext(state=state, limits=LimitsConfig()),
        queue_url=url,
        wait_time_seconds=0,
    )
    src.prepare()
    events: list[FoundFailures] = []

    def emit(ev: Event) -> bool:
        assert isinstance(ev, FoundFailures)
        events.append(ev)
        return True

    while src.receive_once(emit):
        pass
    failures = [f for ev in events for f in ev.failures]
    assert sorted(str(f.account_id) for f in failures) == [ACCOUNT_A, ACCOUNT_B]
    settings = DecodeSettings(
        endpoint_url=double.endpoint_url,
        assume_role_endpoint_url=MOTO_STS,
        role_arn_template=TEMPLATE,
        external_id="ext-org-1",
        session_name="authz-diag-worker-1",
        retry_mode="standard",
    )
    with Decoder(settings) as decoder:
        results = {f.account_id: r for f, r in decoder.decode_many(failures)}
    assert results[ACCOUNT_A].decoded is not None and results[ACCOUNT_B].decoded is not None
    assert results[ACCOUNT_A].decoded["context"]["action"] == "ec2:RunInstances"
    assert results[ACCOUNT_B].decoded["context"]["action"] == "ec2:CreateTags"
    assumed = [r for a in (ACCOUNT_A, ACCOUNT_B) for r in sts_backends[a]["aws"].assumed_roles]
    assert sorted(r.role_arn for r in assumed) == sorted(
        TEMPLATE.format(account=a) for a in (ACCOUNT_A, ACCOUNT_B)
    )
    assert {r.external_id for r in assumed} == {"ext-org-1"}
    assert {c.account for c in double.calls if c.action == "DecodeAuthorizationMessage"} == {
        ACCOUNT_A,
        ACCOUNT_B,
    }
    state.close()


def test_a_missing_decoder_role_gives_a_decode_error_with_the_trust_fix(
    double: StsDouble, tmp_path: Path
) -> None:
    """An account whose decoder role refuses AssumeRole gets a decode_error naming role and fix."""
    blob = fake_blob("denied")
    double.add_message(blob, decoded_message(), account=ACCOUNT_B)
    doc = eventbridge(encoded_record(1, ACCOUNT_B, blob))
    (failure,) = failures_from_document(doc, SourceRef("sqs:authz/1"))
    double.deny_role(TEMPLATE.format(account=ACCOUNT_B))
    settings = DecodeSettings(
        endpoint_url=double.endpoint_url,  # AssumeRole at the double, which refuses it
        role_arn_template=TEMPLATE,
        session_name="authz-diag-worker-1",
        retry_mode="standard",
    )
    with Decoder(settings) as decoder:
        result = decoder.decode(failure)
    assert result.decoded is None and result.error is not None
    assert TEMPLATE.format(account=ACCOUNT_B) in result.error
    assert "sts:AssumeRole" in result.error and "trust" in result.error
