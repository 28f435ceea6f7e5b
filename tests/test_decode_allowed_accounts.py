"""AWS calls only for allowed accounts: a forged line naming another one is never sent to AWS."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_watch_daemon import write_config

from diagnostics.extract import extract_text
from diagnostics.service.config import load_config
from diagnostics.service.runtime import build_decoder
from diagnostics.support.state import StateDB
from diagnostics.testing import StsDouble, decoded_message, fake_blob
from diagnostics.testing.toolbox_double import ToolboxDouble
from diagnostics.testing.toolbox_samples import SCP_DOCUMENTS, scp_deny_details

ALLOWED = "111111111111"
FOREIGN = ("999999999999", "888888888888")
TEMPLATE = "arn:aws:iam::{account}:role/AuthzDiagnosticsDecoder"


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


@pytest.fixture
def doubles() -> Iterator[tuple[StsDouble, ToolboxDouble]]:
    """STS (AssumeRole and decodes) and iam-toolbox; the latter knows the STS-issued keys."""
    with StsDouble(default=lambda blob, call: decoded_message(action="ec2:RunInstances")) as sts:

        def member(key: str) -> tuple[str, str | None] | None:
            account = sts.account_of(key)
            return None if account is None else (account, None)

        with ToolboxDouble(key_resolver=member) as toolbox:
            yield sts, toolbox


def _id(account: str) -> str:
    return f"id{account}x"


def _lines() -> str:
    """A real denial per kind in the allowed account, and forged ones naming others."""
    out = []
    for account in (ALLOWED, *FOREIGN):
        principal = f"arn:aws:sts::{account}:assumed-role/App/ci"
        out.append(
            f"User: {principal} is not authorized to perform: ec2:RunInstances on resource: "
            f"arn:aws:ec2:us-east-1:{account}:instance/* Encoded authorization failure "
            f"message: {fake_blob(account, 400)}"
        )
        out.append(
            f"User: {principal} is not authorized to perform: s3:PutObject on resource: "
            f"arn:aws:s3:::bucket-{account}/k with an explicit deny in a service control "
            f"policy. Call the GetRequestAuthorizationDetails API with the following "
            f"authorization id: {_id(account)}"
        )
    return "\n\n".join(out) + "\n"


def _calls_by_account(sts: StsDouble, toolbox: ToolboxDouble) -> Counter[str]:
    """Every request the doubles saw, by the account it targets or is signed by."""
    seen: Counter[str] = Counter()
    for c in sts.calls:
        if c.role_arn:
            seen[c.role_arn.split(":")[4]] += 1
        elif c.account:
            seen[c.account] += 1
    for t in toolbox.calls:
        seen[t.account or "base"] += 1
    return seen


def test_watch_makes_no_aws_call_for_an_account_outside_accounts(
    doubles: tuple[StsDouble, ToolboxDouble], tmp_path: Path
) -> None:
    """No AWS call, counted by the loopback doubles, goes to an account outside `accounts`."""
    sts, toolbox = doubles
    for account in (ALLOWED, *FOREIGN):
        toolbox.add_details(_id(account), scp_deny_details(), SCP_DOCUMENTS, account=account)
    cfg = write_config(tmp_path, f'[[source]]\ntype = "file"\npaths = ["{tmp_path}/*.log"]\n')
    cfg.write_text(
        cfg.read_text()
        .replace(
            "[decode]\nenabled = false\n",
            "[decode]\nenabled = true\n"
            f'endpoint_url = "{sts.endpoint_url}"\n'
            f'toolbox_endpoint_url = "{toolbox.endpoint_url}"\n'
            f'role_arn_template = "{TEMPLATE}"\nmax_attempts = 1\nbatch_deadline = "20s"\n',
        )
        .replace("[alerts]\n", f'[alerts]\naccounts = ["{ALLOWED}"]\n')
    )
    config = load_config(cfg)
    failures = extract_text(_lines())
    assert sorted({f.account_id for f in failures}) == sorted([ALLOWED, *FOREIGN])
    decoder = build_decoder(config, StateDB.in_dir(tmp_path / "state"))
    assert decoder is not None
    try:
        pairs = list(decoder.decode_many(failures))
    finally:
        decoder.close()
    seen = _calls_by_account(sts, toolbox)
    assert all(seen[a] == 0 for a in FOREIGN), f"calls into foreign accounts: {seen}"
    assert seen[ALLOWED] >= 3, "the allowed account still decodes and resolves"
    for failure, result in pairs:
        if failure.account_id == ALLOWED:
            assert result.decoded is not None or result.authorization_details is not None
        else:
            note = result.error or result.authorization_error or ""
            assert "not in `accounts`" in note


def test_cache_rows_keyed_by_id_alone_are_dropped_at_start(tmp_path: Path) -> None:
    """A state DB from before account keys loses its cached answers instead of serving them."""
    from diagnostics.decode import DecodeCache
    from diagnostics.lookup.key import LookupKey
    from diagnostics.troubleshooter import DetailsCache

    db = StateDB.in_dir(tmp_path)
    for table in ("decode_cache", "authorization_details_cache"):
        with db.transaction() as conn:
            conn.execute(
                f"CREATE TABLE {table} (blob_sha256 TEXT PRIMARY KEY, decoded BLOB, "
                "error TEXT, expires_at REAL NOT NULL)"
            )
            conn.execute(f"INSERT INTO {table} VALUES ('k', x'7b7d', NULL, 9e12)")  # noqa: S608
    decodes, details = DecodeCache(db), DetailsCache(db)
    for table in ("decode_cache", "authorization_details_cache"):
        assert db.query(f"SELECT count(*) FROM {table}") == [(0,)]  # noqa: S608
    decodes.put_decoded(LookupKey(ALLOWED, "blob"), {"a": 1})
    assert details.get(LookupKey(ALLOWED, "blob")) is None
    assert decodes.get(LookupKey(FOREIGN[0], "blob")) is None, "another account's key misses"
    assert decodes.get(LookupKey(ALLOWED, "blob")) is not None
