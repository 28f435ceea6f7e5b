"""Resolving authorization IDs through the real boto3 iam-toolbox path, against the double."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from diagnostics.decode import DecodeSettings
from diagnostics.lookup.key import LookupKey
from diagnostics.model import Failure, SourceRef
from diagnostics.support.state import StateDB
from diagnostics.testing.sts_double import StsDouble
from diagnostics.testing.toolbox_double import DETAILS, POLICY, ToolboxDouble
from diagnostics.testing.toolbox_samples import (
    ACCOUNT,
    ROLE_POLICY_URI,
    SCP_DOCUMENTS,
    SCP_URI,
    ShapeError,
    check,
    details,
    evaluation,
    policy,
    scp_deny_details,
)
from diagnostics.troubleshooter import DetailsCache, Resolver, policies_to_fetch
from diagnostics.troubleshooter import messages as m

ID = "7q2m9x4k1c8v3b6n0z5l2j7h4g9f1d3s"


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLETEST00001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-for-tests")


@pytest.fixture
def toolbox(creds: None) -> Iterator[ToolboxDouble]:
    with ToolboxDouble() as double:
        yield double


@pytest.fixture
def sts() -> Iterator[StsDouble]:
    with StsDouble(base_identity=f"arn:aws:iam::{ACCOUNT}:user/authz-diag") as double:
        yield double


def _failure(**changes: Any) -> Failure:
    values: dict[str, Any] = {
        "kind": "plain",
        "source": SourceRef("app.log", 1, 0),
        "principal_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AppDeployer/ci-run-4821",
        "account_id": ACCOUNT,
        "action": "s3:PutObject",
        "authorization_id": ID,
    }
    values.update(changes)
    return Failure(**values)


def _resolver(
    toolbox: ToolboxDouble,
    sts: StsDouble | None = None,
    cache: DetailsCache | None = None,
    **kw: Any,
) -> Resolver:
    settings = DecodeSettings(
        region="us-east-1",
        toolbox_endpoint_url=toolbox.endpoint_url,
        endpoint_url=sts.endpoint_url if sts else None,
        max_per_second=1000.0,
        retry_mode="standard",
        **kw,
    )
    return Resolver(settings, cache)


def test_success_gives_the_details_dict_with_documents(toolbox: ToolboxDouble) -> None:
    """An ID resolves to the API's camelCase answer plus the matched policies' documents."""
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS, account=ACCOUNT)
    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure())
    assert result.error is None
    got = result.details
    assert got is not None
    assert set(got) == {"authorizationId", "requestContext", "evaluations", "policies", "documents"}
    assert got["authorizationId"] == ID
    assert got["requestContext"]["aws:RequestedRegion"] == "eu-west-1"
    assert got["evaluations"][0]["checks"][0]["checkType"] == "SERVICE_CONTROL_POLICY"
    assert got["documents"][SCP_URI]["Statement"][0]["Sid"] == "DenyOutsideRegions"
    assert set(got["documents"]) == {SCP_URI, ROLE_POLICY_URI}
    assert {c.signing_name for c in toolbox.calls} == {"iam"}
    assert toolbox.call_count(DETAILS) == 1 and toolbox.call_count(POLICY) == 2


def test_pagination_concatenates_every_page(toolbox: ToolboxDouble) -> None:
    """One evaluation per page: nextToken is followed and every evaluation comes back in order."""
    toolbox.page_size = 1
    toolbox.add_details(ID, scp_deny_details(evaluations=3), SCP_DOCUMENTS)
    with _resolver(toolbox) as resolver:
        got = resolver.resolve(_failure()).details
    assert got is not None
    assert [e["resource"][-9:] for e in got["evaluations"]] == [
        "app-0.zip",
        "app-1.zip",
        "app-2.zip",
    ]
    assert [p["uri"] for p in got["policies"]] == [SCP_URI, ROLE_POLICY_URI]
    tokens = [c.next_token for c in toolbox.calls if c.operation == DETAILS]
    assert tokens == [None, f"{ID}.1", f"{ID}.2"]


def test_access_denied_prints_the_statement_granting_both_actions(toolbox: ToolboxDouble) -> None:
    """AccessDeniedException says which principal lacks the permission and the exact statement."""
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
    toolbox.fail_next("access_denied", None, operation=DETAILS)
    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure())
    assert result.details is None and result.error is not None
    assert json.dumps(m.TOOLBOX_STATEMENT, indent=2) in result.error
    assert "iam:GetRequestAuthorizationDetails" in result.error
    assert "iam:GetRequestAuthorizationPolicy" in result.error
    assert resolver.stats.errors == {m.ACCESS_DENIED: 1}


def test_policy_document_denied_keeps_the_details(toolbox: ToolboxDouble) -> None:
    """Policy documents denied alone: the details are kept, the error counts what is missing."""
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
    toolbox.fail_next("access_denied", None, operation=POLICY)
    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure())
    assert result.details is not None and result.details["documents"] == {}
    assert result.error is not None
    assert "2 policy document(s) could not be fetched" in result.error
    assert "iam:GetRequestAuthorizationPolicy" in result.error


def test_not_found_in_another_account_names_both_accounts(
    toolbox: ToolboxDouble, sts: StsDouble
) -> None:
    """A 404 for a failure of account B, resolved from account A, blames the account mismatch."""
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS, account="999988887777")
    toolbox.register_key("AKIAEXAMPLETEST00001", ACCOUNT)
    with _resolver(toolbox, sts) as resolver:
        result = resolver.resolve(_failure(account_id="999988887777"))
    assert result.error is not None
    assert "999988887777" in result.error and ACCOUNT in result.error
    assert "organization" in result.error
    assert resolver.stats.errors == {m.NOT_FOUND: 1}


def test_not_found_after_a_day_says_the_details_expired(toolbox: ToolboxDouble) -> None:
    """A 404 for a denial 30 hours old says details are kept about 24 hours."""
    toolbox.retention = 24 * 3600.0
    toolbox.add_details(ID, scp_deny_details(), created_at=0.0)  # long gone
    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure(event_time="2026-11-30T10:00:00Z"))
    assert result.error is not None and "expired" in result.error and "24 hours" in result.error


def test_validation_error_for_an_id_the_model_allows_but_iam_rejects(
    toolbox: ToolboxDouble,
) -> None:
    """An over-long ID reaches IAM (botocore checks no pattern) and gets an actionable message."""
    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure(authorization_id="a" * 300))
    assert result.error is not None and "lower-case letters and digits" in result.error
    assert toolbox.calls[0].error_code == "ValidationException"


def test_internal_error_is_retried_then_reported(toolbox: ToolboxDouble) -> None:
    """InternalServerException is retried by botocore and reported as an AWS-side failure."""
    toolbox.fail_next("internal_error", None)
    with _resolver(toolbox, max_attempts=3) as resolver:
        result = resolver.resolve(_failure())
    assert result.error is not None and "after 3 attempts" in result.error
    assert toolbox.call_count(DETAILS) == 3


def test_throttling_is_retried_by_botocore(toolbox: ToolboxDouble) -> None:
    """Two 429 ThrottlingExceptions, then the answer: botocore retried on its own."""
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
    toolbox.fail_next("throttle", 2, operation=DETAILS)
    with _resolver(toolbox, max_attempts=4) as resolver:
        result = resolver.resolve(_failure())
    assert result.error is None and result.details is not None
    assert [c.error_code for c in toolbox.calls if c.operation == DETAILS] == [
        "ThrottlingException",
        "ThrottlingException",
        None,
    ]


def test_throttled_after_retries_says_what_to_lower(toolbox: ToolboxDouble) -> None:
    """Throttled on every attempt: the error counts the attempts and names max_per_second."""
    toolbox.fail_next("throttle", None)
    with _resolver(toolbox, max_attempts=2) as resolver:
        result = resolver.resolve(_failure())
    assert result.kind == m.THROTTLED
    assert result.error is not None and "after 2 attempts" in result.error
    assert "max_per_second" in result.error


def test_no_credentials_is_actionable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without credentials nothing is sent and the error says how to provide them."""
    with ToolboxDouble() as toolbox, _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure())
        assert toolbox.calls == []
    assert result.kind == m.NO_CREDENTIALS
    assert result.error is not None and "aws configure" in result.error


def test_botocore_without_the_model_is_a_clear_error(
    toolbox: ToolboxDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older botocore (no iam-toolbox model) gives an upgrade hint, never a crash."""
    import boto3.session
    from botocore.exceptions import UnknownServiceError

    real = boto3.session.Session.client

    def client(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "iam-toolbox":
            raise UnknownServiceError(service_name=name, known_service_names="sts")
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", client)
    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure())
    assert result.kind == m.NO_MODEL
    assert result.error is not None and f">= {m.MIN_BOTOCORE}" in result.error


def test_cut_id_is_never_sent(toolbox: ToolboxDouble) -> None:
    """A failure whose ID CloudTrail cut carries no ID: no call, and the error says why."""
    from diagnostics.extract.parsers.authorization_id import CUT_NOTE

    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure(authorization_id=None, parse_notes=(CUT_NOTE,)))
    assert toolbox.calls == []
    assert result.error is not None and "cut off" in result.error


def test_cache_answers_the_second_time_and_survives_a_restart(
    toolbox: ToolboxDouble, tmp_path: Path
) -> None:
    """Resolved details are cached by ID in the state DB (hashed), so a restart makes no call."""
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
    db = StateDB(tmp_path / "state.db")
    with _resolver(toolbox, cache=DetailsCache(db)) as resolver:
        first = resolver.resolve(_failure())
    calls = len(toolbox.calls)
    with _resolver(toolbox, cache=DetailsCache(StateDB(tmp_path / "state.db"))) as resolver:
        again = resolver.resolve(_failure(source=SourceRef("other.log", 9, 0)))
    assert len(toolbox.calls) == calls
    assert again.cached and again.details == first.details
    rows = db.query("SELECT lookup_key FROM authorization_details_cache", ())
    assert len(rows) == 1 and ID not in rows[0][0]


def test_details_cache_expires_and_is_swept(tmp_path: Path) -> None:
    """Privileged details leave the disk after the TTL: the hourly sweep deletes the row."""
    now = [1000.0]
    db = StateDB(tmp_path / "state.db")
    cache = DetailsCache(db, ttl=60.0, clock=lambda: now[0])
    cache.put_decoded(LookupKey("", ID), {"authorizationId": ID})
    now[0] += 3601.0
    assert cache.get(LookupKey("", ID)) is None
    cache.put_decoded(
        LookupKey("", "other"), {"authorizationId": "other"}
    )  # a write after an hour sweeps
    assert len(db.query("SELECT 1 FROM authorization_details_cache", ())) == 1


def test_policies_to_fetch_covers_matched_and_denied_layers() -> None:
    """Documents wanted: every matched policy, and every policy of a denied check's layer."""
    answer = details(
        context={},
        evaluations=[
            evaluation(
                "iam:PassRole",
                f"arn:aws:iam::{ACCOUNT}:role/Worker",
                "IMPLICIT_DENY",
                [check("PRINCIPAL", "IMPLICIT_DENY"), check("SERVICE_CONTROL_POLICY", "ALLOW")],
            )
        ],
        policies=[
            policy("arn:aws:iam::123456789012:policy/Deployer", "IDENTITY_BASED_POLICY"),
            policy(
                "arn:aws:organizations::1:policy/o-1/service_control_policy/p-1",
                "SERVICE_CONTROL_POLICY",
            ),
        ],
    )
    assert policies_to_fetch(answer) == ["arn:aws:iam::123456789012:policy/Deployer"]


def test_builders_refuse_what_the_model_does_not_allow() -> None:
    """The sample builders check the model: an unknown effect is refused, not served."""
    with pytest.raises(ShapeError, match="MAYBE"):
        details(context={}, evaluations=[evaluation("s3:GetObject", "*", "MAYBE", [])], policies=[])


def test_role_template_resolves_with_the_failure_accounts_role(
    toolbox: ToolboxDouble, sts: StsDouble
) -> None:
    """With a role template, the ID is resolved with the role assumed in the failure's account."""
    other = "222233334444"
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS, account=other)

    def member(key: str) -> tuple[str, str | None] | None:
        # The STS double issued the key (AssumeRole): it knows the account.
        call = next((c for c in sts.calls if c.action == "AssumeRole"), None)
        return (other, None) if call is not None and key.startswith("ASIA") else None

    toolbox.key_resolver = member
    role = "arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder"
    with _resolver(toolbox, sts, role_arn_template=role) as resolver:
        result = resolver.resolve(_failure(account_id=other))
    assert result.error is None and result.details is not None
    assert [c.role_arn for c in sts.calls if c.action == "AssumeRole"] == [
        f"arn:aws:iam::{other}:role/AuthzDiagnosticsDecoder"
    ]
    assert all(c.access_key_id and c.access_key_id.startswith("ASIA") for c in toolbox.calls)


def test_organization_rule_admits_members_and_refuses_outsiders(toolbox: ToolboxDouble) -> None:
    """Details recorded for an organization answer its members; an outsider gets not-found."""
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS, organization="o-a1b2c3d4e5")
    toolbox.register_key("AKIAEXAMPLETEST00001", "555566667777", "o-a1b2c3d4e5")
    with _resolver(toolbox) as resolver:
        assert resolver.resolve(_failure()).details is not None
    toolbox.register_key("AKIAEXAMPLETEST00001", "555566667777", "o-someoneelse")
    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure())
    assert result.details is None and result.kind == m.NOT_FOUND


def test_details_only_model_keeps_the_details_and_says_to_upgrade(
    toolbox: ToolboxDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore 1.43.80-1.44.3 (no GetRequestAuthorizationPolicy, no checks): details, and why
    the layers and documents are missing."""
    import diagnostics.troubleshooter.resolver as resolver_module

    monkeypatch.setattr(resolver_module, "model_features", lambda model: (False, False))
    toolbox.add_details(ID, scp_deny_details(), SCP_DOCUMENTS)
    with _resolver(toolbox) as resolver:
        result = resolver.resolve(_failure())
    assert result.details is not None and result.details["documents"] == {}
    assert result.error is not None
    assert "predates `checks`" in result.error and "GetRequestAuthorizationPolicy" in result.error
    assert toolbox.call_count(POLICY) == 0
