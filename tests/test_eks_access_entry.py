"""kubectl's 401 from an EKS cluster: the access entry (or aws-auth mapping) to add."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from diagnostics.rules import RuleSet
from diagnostics.run.scan import scan

CLUSTER = "arn:aws:eks:us-east-1:111122223333:cluster/prod"
REFUSED = "error: You must be logged in to the server (Unauthorized)\n"


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.bundled()


def _scan(tmp_path: Path, text: str, ruleset: RuleSet) -> list[dict[str, Any]]:
    path = tmp_path / "ci.log"
    path.write_text(text, encoding="utf-8")
    _, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    return [d.to_json() for d in diagnoses]


def test_update_kubeconfig_then_401_names_the_cluster_and_the_commands(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """update-kubeconfig's context line makes kubectl's 401 an EKS access entry finding."""
    text = (
        "+ aws eks update-kubeconfig --name prod --region us-east-1\n"
        f"Updated context {CLUSTER} in /root/.kube/config\n"
        "+ kubectl get pods\n" + REFUSED
    )
    [d] = _scan(tmp_path, text, ruleset)
    assert (d["resource"], d["region"], d["error_code"]) == (CLUSTER, "us-east-1", "Unauthorized")
    assert d["source"]["line"] == 4
    [finding] = d["findings"]
    assert finding["rule"] == "eks-access-entry"
    for words in ("aws eks create-access-entry", "associate-access-policy", "aws-auth", CLUSTER):
        assert words in finding["explanation"]
    assert finding["fixes"] == []  # no IAM policy fixes it: the cluster's access configuration does


def test_the_caller_named_before_is_the_access_entry_principal(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """get-caller-identity's session ARN above the 401 becomes --principal-arn (its role ARN)."""
    text = (
        "$ aws sts get-caller-identity\n"
        '    "Arn": "arn:aws:sts::111122223333:assumed-role/deployer/ci-1234"\n'
        "$ kubectl get nodes\n" + REFUSED
    )
    [d] = _scan(tmp_path, text, ruleset)
    assert d["principal_arn"] == "arn:aws:sts::111122223333:assumed-role/deployer/ci-1234"
    assert d["account_id"] == "111122223333"
    explanation = d["findings"][0]["explanation"]
    assert "--principal-arn arn:aws:iam::111122223333:role/deployer" in explanation


def test_the_newer_kubectl_wording_counts(tmp_path: Path, ruleset: RuleSet) -> None:
    """'(the server has asked for the client to provide credentials)' after update-kubeconfig."""
    text = (
        "Added new context ***/testing-cluster to /github/home/.kube/config\n"
        "error: You must be logged in to the server (the server has asked for the client to"
        " provide credentials)\n"
    )
    [d] = _scan(tmp_path, text, ruleset)
    assert [f["rule"] for f in d["findings"]] == ["eks-access-entry"]


@pytest.mark.parametrize(
    "text",
    [
        REFUSED,
        "kubectl --context kind-dev get pods\n" + REFUSED,
        # Evidence after the refusal is not read (a known gap, corpus k-quickstart-...).
        REFUSED + f"Updated context {CLUSTER} in /root/.kube/config\n",
    ],
    ids=["bare", "other-cluster", "evidence-after"],
)
def test_a_401_without_aws_evidence_before_it_is_no_alarm(
    tmp_path: Path, ruleset: RuleSet, text: str
) -> None:
    """kubectl's 401 alone is any cluster's bad token: no finding."""
    assert _scan(tmp_path, text, ruleset) == []
