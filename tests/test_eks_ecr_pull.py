"""ECR pulls refused with 403 Forbidden by kubelet, containerd and the ECS agent (issue 26).

Each shape is the text containerd's resolver prints (core/remotes/docker), inside the
wrapper kubelet or the ECS agent adds; docs/error-shapes.md lists them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from diagnostics.rules import RuleSet
from diagnostics.run.scan import scan

HOST = "111122223333.dkr.ecr.eu-west-1.amazonaws.com"
REPO_ARN = "arn:aws:ecr:eu-west-1:111122223333:repository/shared/base"
HEAD_403 = (
    f"unexpected status from HEAD request to https://{HOST}/v2/shared/base/manifests/2.1:"
    " 403 Forbidden"
)
KUBELET = (
    'Warning  Failed  12s (x2 over 30s)  kubelet  Failed to pull image "{h}/shared/base:2.1": '
    'rpc error: code = Unknown desc = failed to pull and unpack image "{h}/shared/base:2.1": '
    'failed to resolve reference "{h}/shared/base:2.1": {tail}'
)


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.bundled()


def _scan(tmp_path: Path, text: str, ruleset: RuleSet) -> list[dict[str, Any]]:
    path = tmp_path / "pull.log"
    path.write_text(text, encoding="utf-8")
    _, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    return [d.to_json() for d in diagnoses]


def _one_pull(found: list[dict[str, Any]], resource: str | None = REPO_ARN) -> dict[str, Any]:
    assert len(found) == 1, found
    d = found[0]
    assert (d["action"], d["resource"], d["error_code"]) == (
        "ecr:BatchGetImage",
        resource,
        "Forbidden",
    )
    assert (
        d["principal_arn"] is None and d["account_id"] is None
    )  # the registry's owner is no caller
    assert [f["rule"] for f in d["findings"]] == ["ecr-pull-forbidden"]
    return d


def test_kubelet_head_manifest_403_names_the_repository_and_the_pull_grants(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """kubelet's 'unexpected status from HEAD request to ...: 403 Forbidden' is a refused pull."""
    d = _one_pull(_scan(tmp_path, KUBELET.format(h=HOST, tail=HEAD_403) + "\n", ruleset))
    assert d["region"] == "eu-west-1"
    finding = d["findings"][0]
    assert "node instance role" in finding["explanation"]
    assert "repository policy" in finding["explanation"]
    statements = [s for fix in finding["fixes"] for s in fix["statements"]]
    assert {"Sid": "AllowEcrAuthorizationToken", "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken", "Resource": "*"} in statements  # fmt: skip
    pull = next(s for s in statements if s["Sid"] == "AllowEcrPull")
    assert set(pull["Action"]) == {
        "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"
    }  # fmt: skip
    assert pull["Resource"] == REPO_ARN


def test_ecs_agent_pulling_from_host_names_the_repository_from_the_ref(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """The ECS agent's 'pulling from host H failed with status code [manifests T]: 403'."""
    line = (
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to "
        f"resolve ref {HOST}/shared/base:2.1: pulling from host {HOST} failed with status code "
        "[manifests 2.1]: 403 Forbidden\n"
    )
    _one_pull(_scan(tmp_path, line, ruleset))


def test_older_containerd_unexpected_status_code_is_read(tmp_path: Path, ruleset: RuleSet) -> None:
    """Older containerd's 'unexpected status code [manifests T]: 403 Forbidden' after the ref."""
    tail = "unexpected status code [manifests 2.1]: 403 Forbidden"
    _one_pull(_scan(tmp_path, KUBELET.format(h=HOST, tail=tail) + "\n", ruleset))


def test_a_layer_blob_refused_names_its_repository(tmp_path: Path, ruleset: RuleSet) -> None:
    """A 403 on a /blobs/ URL is a refused pull of the repository before /blobs/."""
    line = (
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to "
        f"resolve ref {HOST}/shared/base:2.1@sha256:5de4: unexpected status from HEAD request to "
        f"https://{HOST}/v2/shared/base/blobs/sha256:5de4: 403 Forbidden\n"
    )
    _one_pull(_scan(tmp_path, line, ruleset))


@pytest.mark.parametrize(
    "line",
    [
        # docker build / buildkit: an expired `docker login` token answers 403 too.
        f"ERROR: failed to solve: {HOST}/base:1: failed to resolve source metadata for"
        f" {HOST}/base:1: unexpected status from HEAD request to"
        f" https://{HOST}/v2/base/manifests/1: 403 Forbidden",
        # kubelet's 401: no token at all (authentication), not a policy decision.
        KUBELET.format(
            h=HOST,
            tail=f"unexpected status from HEAD request to https://{HOST}/v2/shared/base/manifests/2.1:"
            " 401 Unauthorized",
        ),
        # Another registry's 403 in a kubelet pull is no AWS decision.
        'Failed to pull image "ghcr.io/o/app:1": rpc error: code = Unknown desc = failed to'
        ' pull and unpack image "ghcr.io/o/app:1": failed to resolve reference "ghcr.io/o/app:1":'
        " unexpected status from HEAD request to https://ghcr.io/v2/o/app/manifests/1:"
        " 403 Forbidden",
    ],
    ids=["docker-build", "kubelet-401", "other-registry"],
)
def test_not_a_refused_ecr_pull(tmp_path: Path, ruleset: RuleSet, line: str) -> None:
    """Only a kubelet, containerd or ECS agent pull from an ECR registry answered 403 counts."""
    assert _scan(tmp_path, line + "\n", ruleset) == []


def test_the_pull_is_found_among_many_lines(tmp_path: Path, ruleset: RuleSet) -> None:
    """The cheap marker pass finds the 403 line in a long kubelet log (markers.py)."""
    noise = "".join(f"I1201 10:00:{i % 60:02d} kubelet pod sync ok {i}\n" for i in range(5000))
    found = _scan(tmp_path, noise + KUBELET.format(h=HOST, tail=HEAD_403) + "\n" + noise, ruleset)
    assert _one_pull(found)["source"]["line"] == 5001
