"""`watch` with `[policies]`: a bare CloudTrail denial is attributed to the layer, policy and
Sid of a snapshot (read from `path`, or collected every `refresh` with the daemon's
credentials), and no alert or log carries a statement of the snapshot."""

from __future__ import annotations

import json
import signal
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_faults_loop import AWS_ENV
from test_watch_daemon import Daemon, write_config

from diagnostics.decode.settings import DecodeSettings
from diagnostics.errors import ConfigError
from diagnostics.model import DecodeResult, Failure, SourceRef
from diagnostics.service.config import PoliciesConfig, parse_config
from diagnostics.service.policies import JudgedPipeline, RefreshingStore
from diagnostics.testing.slack_receiver import SlackReceiver

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/uploader"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/uploads-boundary"
#: Resources only the snapshot's statements name: an alert quoting a statement shows them.
MARKERS = ("marker-identity-drop", "marker-boundary-archive")
PHRASE = (
    f"s3:PutObject denied by permissions boundary {BOUNDARY} (no statement allows s3:PutObject)"
)
IDENTITY_PHRASE = (
    f"s3:PutObject denied by the identity-based policies of {ROLE} "
    "(no statement allows s3:PutObject)"
)


def _statement(sid: str, action: str, *resources: str) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": list(resources)}


IDENTITY = _statement(
    "PutUploads", "s3:PutObject", "arn:aws:s3:::acme-uploads/*", f"arn:aws:s3:::{MARKERS[0]}/*"
)
SCOPE = _statement(
    "ReadOnlyScope", "s3:GetObject", "arn:aws:s3:::acme-uploads/*", f"arn:aws:s3:::{MARKERS[1]}/*"
)


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def gaad(identity: dict[str, Any], boundary: dict[str, Any]) -> dict[str, Any]:
    """The JSON `aws iam get-account-authorization-details` prints for the uploader role."""
    return {
        "RoleDetailList": [
            {
                "RoleName": "uploader",
                "Arn": ROLE,
                "RolePolicyList": [
                    {"PolicyName": "uploads", "PolicyDocument": _document(identity)}
                ],
                "AttachedManagedPolicies": [],
                "PermissionsBoundary": {
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": BOUNDARY,
                },
            }
        ],
        "Policies": [
            {
                "PolicyName": "uploads-boundary",
                "Arn": BOUNDARY,
                "DefaultVersionId": "v1",
                "PolicyVersionList": [
                    {"VersionId": "v1", "IsDefaultVersion": True, "Document": _document(boundary)}
                ],
            }
        ],
    }


def denial(key: str) -> str:
    """A CloudTrail record of a PutObject refused with S3's bare `Access Denied`, one line."""
    return json.dumps(
        {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/uploader/job-7",
                "accountId": ACCOUNT,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": ROLE}},
            },
            "eventTime": "2026-12-07T12:00:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "PutObject",
            "awsRegion": "us-east-1",
            "errorCode": "AccessDenied",
            "errorMessage": "Access Denied",
            "requestParameters": {"bucketName": "acme-uploads", "key": key},
            "resources": [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::acme-uploads/{key}"}],
            "eventID": f"11111111-2222-3333-4444-{abs(hash(key)) % 10**12:012d}",
            "recipientAccountId": ACCOUNT,
        }
    )


def _diagnoses(d: Daemon) -> list[dict[str, Any]]:
    return [x for a in list(d.alerts) for x in a["diagnoses"]]


def _reloaded(d: Daemon) -> bool:
    return any(e.get("event") == "configuration reloaded" for e in d.logs())


@pytest.mark.slow
def test_watch_names_the_boundary_of_a_bare_cloudtrail_denial_and_quotes_no_statement(
    tmp_path: Path,
) -> None:
    """Slack and stdout say which boundary denied a bare Access Denied, by ARN and Sid only."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    snap = tmp_path / "gaad.json"
    snap.write_text(json.dumps(gaad(IDENTITY, SCOPE)))
    with SlackReceiver() as rx:
        cfg = write_config(
            tmp_path,
            f'[[source]]\ntype = "file"\npaths = ["{logdir}/*.log"]\nstart_at = "end"\n',
            extra=f'[policies]\npath = "{snap}"\n',
        )
        cfg.write_text(
            cfg.read_text() + '[[sink]]\ntype = "slack"\nname = "slack"\nwebhook_url_env = "HOOK"\n'
        )
        d = Daemon(tmp_path, cfg, env={**AWS_ENV, "HOOK": rx.url})
        try:
            d.wait_ready()
            (logdir / "app.log").write_text(denial("in/report.csv") + "\n")
            d.wait_for(lambda: len(d.alerts) >= 1, 30, "the alert")
            assert rx.wait_for(1, timeout=30)
        finally:
            assert d.stop() == 0
        slack = json.dumps(rx.accepted[0].json)
    [alert] = d.alerts
    [diagnosis] = alert["diagnoses"]
    [finding] = diagnosis["findings"]
    assert finding["title"] == PHRASE
    assert PHRASE in slack
    [fix] = finding["fixes"]
    assert fix["edit"]["policy_arn"] == BOUNDARY
    assert fix["edit"]["sid"] == "ReadOnlyScope"
    assert fix["edit"]["before"] is None and fix["edit"]["after"] is None
    assert "ReadOnlyScope" in finding["explanation"]
    for text in (json.dumps(alert), slack, d.stderr()):
        for marker in MARKERS:
            assert marker not in text


@pytest.mark.slow
def test_sighup_reads_the_snapshot_a_changed_path_names(tmp_path: Path) -> None:
    """After the path changes and SIGHUP, the next denial is judged by the new snapshot."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps(gaad(IDENTITY, SCOPE)))
    # Later: the boundary allows uploads, and the identity policy allows only reads.
    second.write_text(
        json.dumps(
            gaad(
                _statement("ReadUploads", "s3:GetObject", "arn:aws:s3:::acme-uploads/*"),
                _statement("Everything", "s3:*", "*"),
            )
        )
    )
    cfg = write_config(
        tmp_path,
        f'[[source]]\ntype = "file"\npaths = ["{logdir}/*.log"]\nstart_at = "end"\n',
        extra=f'[policies]\npath = "{first}"\n',
    )
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_ready()
        log = logdir / "app.log"
        log.write_text(denial("a.csv") + "\n")
        d.wait_for(lambda: len(_diagnoses(d)) >= 1, 30, "the first alert")
        cfg.write_text(cfg.read_text().replace(str(first), str(second)))
        d.signal(signal.SIGHUP)
        d.wait_for(lambda: _reloaded(d), 30, "the reload")
        with log.open("a") as f:
            f.write(denial("b.csv") + "\n")
        d.wait_for(lambda: len(_diagnoses(d)) >= 2, 30, "the second alert")
    finally:
        assert d.stop() == 0
    titles = [x["findings"][0]["title"] for x in _diagnoses(d)]
    assert titles == [PHRASE, IDENTITY_PHRASE]


def test_policies_config_refuses_what_cannot_work(tmp_path: Path) -> None:
    """Both keys, a refresh under a minute, or an unreadable path: each says what to write."""
    base = {"source": [{"type": "stdin"}], "sink": [{"type": "stdout"}]}
    bad = [
        ({"path": "a.json", "refresh": "1h"}, "not both"),
        ({"refresh": "10s"}, "at least 1m"),
        ({"account": "123"}, "12-digit"),
        ({"endpoint_url": "http://127.0.0.1:1"}, "collect nothing"),
    ]
    for table, words in bad:
        with pytest.raises(ConfigError, match=words):
            parse_config({**base, "policies": table}, tmp_path / "w.toml")
    ok = parse_config({**base, "policies": {"refresh": "1h"}}, tmp_path / "w.toml")
    assert ok.policies == PoliciesConfig(refresh=3600.0)
    from diagnostics.service.runtime import check

    missing = parse_config(
        {**base, "state_dir": str(tmp_path / "s"), "policies": {"path": str(tmp_path / "no")}},
        tmp_path / "w.toml",
    )
    with pytest.raises(ConfigError, match=r"\[policies\]: key 'path': cannot read snapshot"):
        check(missing)


# -- refresh = "...": collected with the daemon's credentials, against moto ----------------


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto.server import ThreadedMotoServer

    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _url(server: Any) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def _iam(url: str) -> Any:
    return boto3.client("iam", endpoint_url=url, region_name="us-east-1")


def _put_failure(account: str) -> Failure:
    return Failure(
        kind="cloudtrail",
        source=SourceRef(path="trail"),
        principal_arn=f"arn:aws:sts::{account}:assumed-role/uploader/job-7",
        account_id=account,
        action="s3:PutObject",
        resource="arn:aws:s3:::acme-uploads/in/report.csv",
        error_code="AccessDenied",
    )


def _title(store: RefreshingStore, account: str) -> str:
    pipeline = JudgedPipeline(None, None, store)
    diagnosis = pipeline.diagnose_one(_put_failure(account), DecodeResult())
    return str(diagnosis.findings[0].title) if diagnosis.findings else ""


def test_refresh_collects_swaps_sweeps_and_keeps_the_last_snapshot_when_it_fails(
    moto: Any, tmp_path: Path
) -> None:
    """Each refresh replaces the snapshot (0600, the old file deleted); a failed one keeps it."""
    url = _url(moto)
    account = "123456789012"  # moto's
    boundary = f"arn:aws:iam::{account}:policy/uploads-boundary"
    iam = _iam(url)
    iam.create_policy(PolicyName="uploads-boundary", PolicyDocument=json.dumps(_document(SCOPE)))
    iam.create_role(
        RoleName="uploader",
        AssumeRolePolicyDocument=json.dumps(_document()),
        PermissionsBoundary=boundary,
    )
    iam.put_role_policy(
        RoleName="uploader", PolicyName="uploads", PolicyDocument=json.dumps(_document(IDENTITY))
    )
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    s3.create_bucket(Bucket="acme-uploads")
    reader = {**SCOPE, "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}
    s3.put_bucket_policy(Bucket="acme-uploads", Policy=json.dumps(_document(reader)))
    directory = tmp_path / "state" / "policies"
    store = RefreshingStore(
        DecodeSettings(region="us-east-1", max_attempts=1),
        PoliciesConfig(refresh=60.0, endpoint_url=url),
        directory,
        interval=0.3,  # injected: the config's minimum is a minute
    )
    assert store.judge is None
    store.start()
    try:
        assert store.wait_for(lambda: store.refreshed >= 1, 60)
        assert _title(store, account) == PHRASE.replace(BOUNDARY, boundary)
        # The boundary gains s3:PutObject; a refresh that began after the change sees it.
        iam.create_policy_version(
            PolicyArn=boundary,
            PolicyDocument=json.dumps(_document(_statement("All", "s3:*", "*"))),
            SetAsDefault=True,
        )
        seen = store.refreshed
        assert store.wait_for(lambda: store.refreshed >= seen + 2, 60)
        assert _title(store, account).startswith("s3:PutObject: every layer")
        # The bucket of the denial judged above: its policy is collected too.
        assert store.judge is not None
        held = [r.resource for r in store.judge.snapshot.resource_policies]
        assert held == ["arn:aws:s3:::acme-uploads"]
        [only] = list(directory.iterdir())
        assert only == store.current
        assert stat.S_IMODE(only.stat().st_mode) == 0o600
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        # AWS out of reach: the refresh fails, is retried, and the snapshot stays in use.
        moto.stop()
        # stop() leaves the socket listening: connections would hang until botocore's
        # 60 s read timeout. Closed, AWS is refused at once, as when it is unreachable.
        moto._server.server_close()
        failed = store.failed
        assert store.wait_for(lambda: store.failed >= failed + 2, 120)
        assert store.judge is not None
        assert _title(store, account).startswith("s3:PutObject: every layer")
        assert list(directory.iterdir()) == [only]
    finally:
        store.close()
