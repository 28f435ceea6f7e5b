"""Per-account decoding: decoder roles assumed with moto's STS, decodes at the loopback double."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.sts.models import sts_backends

from diagnostics.decode import Decoder, DecodeSettings
from diagnostics.model import Failure, SourceRef
from diagnostics.testing import StsDouble, decoded_message, fake_blob

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
TEMPLATE = "arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder"
# moto answers requests to the real STS hostname in-process.
MOTO_STS = "https://sts.us-east-1.amazonaws.com"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake base credentials; no shared config, no instance metadata lookups."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEBASE00001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _moto_roles() -> list[Any]:
    return [r for acct in (ACCOUNT_A, ACCOUNT_B) for r in sts_backends[acct]["aws"].assumed_roles]


def _moto_account_of(key: str) -> str | None:
    for role in _moto_roles():
        if role.access_key_id == key:
            return str(role.account_id)
    return None


@pytest.fixture
def moto_sts() -> Iterator[StsDouble]:
    """moto for AssumeRole, the double for decodes, knowing which account each moto key is."""
    with mock_aws(), StsDouble(key_resolver=_moto_account_of) as double:
        yield double


def encoded(blob: str, account: str | None) -> Failure:
    return Failure("encoded", SourceRef("-"), encoded_message=blob, account_id=account)


def test_each_account_is_decoded_with_its_own_role(moto_sts: StsDouble) -> None:
    """Two accounts give two AssumeRole calls with the right ARNs; each blob decodes in its own."""
    blob_a, blob_a2, blob_b = fake_blob("a"), fake_blob("a2"), fake_blob("b")
    moto_sts.add_message(blob_a, decoded_message(action="s3:GetObject"), account=ACCOUNT_A)
    moto_sts.add_message(blob_a2, decoded_message(action="s3:PutObject"), account=ACCOUNT_A)
    moto_sts.add_message(blob_b, decoded_message(action="ec2:RunInstances"), account=ACCOUNT_B)
    s = DecodeSettings(
        endpoint_url=moto_sts.endpoint_url,
        assume_role_endpoint_url=MOTO_STS,
        role_arn_template=TEMPLATE,
        external_id="ext-1234",
        session_name="authz-diag-test-host",
        retry_mode="standard",
    )
    with Decoder(s) as decoder:
        results = [
            decoder.decode(encoded(blob_a, ACCOUNT_A)),
            decoder.decode(encoded(blob_b, ACCOUNT_B)),
            decoder.decode(encoded(blob_a2, ACCOUNT_A)),
        ]
    actions = [r.decoded["context"]["action"] if r.decoded else r.error for r in results]
    assert actions == ["s3:GetObject", "ec2:RunInstances", "s3:PutObject"]
    roles = _moto_roles()
    assert sorted(r.role_arn for r in roles) == [
        TEMPLATE.format(account=ACCOUNT_A),
        TEMPLATE.format(account=ACCOUNT_B),
    ]
    assert {r.session_name for r in roles} == {"authz-diag-test-host"}
    assert {r.external_id for r in roles} == {"ext-1234"}
    keys = [(c.account, c.access_key_id) for c in moto_sts.calls]
    assert [k[0] for k in keys] == [ACCOUNT_A, ACCOUNT_B, ACCOUNT_A]
    assert keys[0][1] == keys[2][1] != keys[1][1]  # credentials reused within an account
    assert decoder.assume_role_calls == {
        TEMPLATE.format(account=ACCOUNT_A): 1,
        TEMPLATE.format(account=ACCOUNT_B): 1,
    }


def test_unknown_account_uses_base_credentials(moto_sts: StsDouble) -> None:
    """A failure with no account id is decoded with the base credentials, assuming nothing."""
    blob = fake_blob("base")
    moto_sts.add_message(blob, decoded_message())
    s = DecodeSettings(
        endpoint_url=moto_sts.endpoint_url,
        assume_role_endpoint_url=MOTO_STS,
        role_arn_template=TEMPLATE,
    )
    with Decoder(s) as decoder:
        assert decoder.decode(encoded(blob, None)).decoded is not None
    assert _moto_roles() == []
    assert moto_sts.calls[0].account is None


def test_concurrent_decodes_assume_once_per_account(moto_sts: StsDouble) -> None:
    """Many threads decoding one account's failures share a single AssumeRole."""
    blobs = [fake_blob(f"c{i}") for i in range(24)]
    for blob in blobs:
        moto_sts.add_message(blob, decoded_message(), account=ACCOUNT_B)
    s = DecodeSettings(
        endpoint_url=moto_sts.endpoint_url,
        assume_role_endpoint_url=MOTO_STS,
        role_arn_template=TEMPLATE,
        concurrency=8,
        max_per_second=1000,
    )
    with Decoder(s) as decoder:
        out = list(decoder.decode_many(encoded(b, ACCOUNT_B) for b in blobs))
    assert all(r.decoded for _, r in out)
    assert len(_moto_roles()) == 1


def test_credentials_are_renewed_before_expiry(moto_sts: StsDouble) -> None:
    """Assumed credentials are reused until 5 minutes before they expire, then renewed."""
    from datetime import UTC, datetime

    now = [datetime.now(UTC).timestamp()]
    for i in range(3):
        moto_sts.add_message(fake_blob(f"e{i}"), decoded_message(), account=ACCOUNT_A)
    s = DecodeSettings(
        endpoint_url=moto_sts.endpoint_url,
        assume_role_endpoint_url=MOTO_STS,
        role_arn_template=TEMPLATE,
    )
    with Decoder(s, clock=lambda: now[0]) as decoder:
        decoder.decode(encoded(fake_blob("e0"), ACCOUNT_A))
        now[0] += 3600 - 310  # moto's credentials last an hour
        decoder.decode(encoded(fake_blob("e1"), ACCOUNT_A))
        assert len(_moto_roles()) == 1
        now[0] += 20  # now inside the 5-minute margin
        assert decoder.decode(encoded(fake_blob("e2"), ACCOUNT_A)).decoded is not None
    assert len(_moto_roles()) == 2


def test_missing_role_gives_trust_policy() -> None:
    """A denied AssumeRole yields an error with the trust statement naming the daemon's role."""
    role = TEMPLATE.format(account=ACCOUNT_B)
    with StsDouble(base_identity="arn:aws:sts::999999999999:assumed-role/Daemon/i-0abc") as sts:
        sts.deny_role(role)
        s = DecodeSettings(
            endpoint_url=sts.endpoint_url,
            role_arn_template=TEMPLATE,
            external_id="ext-1234",
            retry_mode="standard",
        )
        with Decoder(s) as decoder:
            first = decoder.decode(encoded(fake_blob("m1"), ACCOUNT_B))
            second = decoder.decode(encoded(fake_blob("m2"), ACCOUNT_B))
        assume_calls = sts.call_count("AssumeRole")
        decode_calls = sts.call_count()
    assert first.error is not None
    assert first.error == second.error
    assert f"could not assume the decoder role {role} in account {ACCOUNT_B}" in first.error
    trust = json.loads(first.error.split("trust policy:\n", 1)[1].split("\nand allow", 1)[0])
    assert trust == {
        "Sid": "AllowAuthzDiagnosticsToDecode",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:role/Daemon"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "ext-1234"}},
    }
    assert '"Resource": "arn:aws:iam::*:role/AuthzDiagnosticsDecoder"' in first.error
    assert assume_calls == 1  # the failure is remembered briefly, not retried per message
    assert decode_calls == 0
    assert decoder.stats.errors == {"role_denied": 2}


def test_expired_session_is_renewed_once() -> None:
    """ExpiredToken from a decode drops the account's credentials, re-assumes and succeeds."""
    blob = fake_blob("t")
    with StsDouble() as sts:
        sts.add_message(blob, decoded_message(), account=ACCOUNT_A)
        sts.fail_next("expired_token")
        s = DecodeSettings(
            endpoint_url=sts.endpoint_url, role_arn_template=TEMPLATE, retry_mode="standard"
        )
        with Decoder(s) as decoder:
            result = decoder.decode(encoded(blob, ACCOUNT_A))
        calls = [(c.action, c.error_code) for c in sts.calls]
    assert result.decoded is not None
    assert calls == [
        ("AssumeRole", None),
        ("DecodeAuthorizationMessage", "ExpiredToken"),
        ("AssumeRole", None),
        ("DecodeAuthorizationMessage", None),
    ]


def test_access_denied_with_a_role_names_the_role() -> None:
    """AccessDenied on a decode made with a decoder role asks to change that role's policy."""
    with StsDouble() as sts:
        sts.fail_next("access_denied")
        s = DecodeSettings(
            endpoint_url=sts.endpoint_url, role_arn_template=TEMPLATE, retry_mode="standard"
        )
        with Decoder(s) as decoder:
            result = decoder.decode(encoded(fake_blob("d"), ACCOUNT_A))
    assert result.error is not None
    assert f"identity policy of {TEMPLATE.format(account=ACCOUNT_A)}" in result.error
