"""``scan --format cloudformation``: one YAML template that cfn-lint passes and YAML reads back."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint

from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.policy.merge import merge_fixes
from diagnostics.render import cloudformation
from diagnostics.rules import load_with_bundled
from diagnostics.run.scan import scan

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")

HOSTILE = (
    'x"}\n# pwned: ${file("passwd")} %{ if }\\n */ !Ref Evil\n- &a *a\x1b[31m\u202e'
    "\x85\u2028\ufffe\U0001f600"
)


def _scan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTHZ_DIAG, "scan", "--no-decode", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )


def _lint(template: str) -> list[str]:
    return [str(m) for m in lint(template, config=ManualArgs(regions=["us-east-1"]))]


def diagnosis(*fixes: Fix, note: str = "explained") -> Diagnosis:
    failure = Failure(kind="plain", source=SourceRef("app.log", 1), action="s3:GetObject")
    finding = Finding("test-rule", "title", "high", note, fixes=fixes)
    return Diagnosis(failure=failure, findings=(finding,))


@pytest.fixture(scope="module")
def examples() -> str:
    proc = _scan("--format", "cloudformation", "examples/")
    assert proc.returncode == 1, proc.stderr
    return proc.stdout


def test_the_examples_print_a_template_cfn_lint_passes(examples: str) -> None:
    """`scan --format cloudformation examples/` is one template with no cfn-lint finding."""
    assert _lint(examples) == []
    template = yaml.safe_load(examples)
    types = {r["Type"] for r in template["Resources"].values()}
    assert types == {"AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::S3::BucketPolicy"}
    roles = {
        r["Properties"]["RoleName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::RolePolicy"
    }
    assert roles >= {"ci-deployer", "backup-job"}
    merges = template["Metadata"]["AuthzDiagMergeInto"]
    assert {m["Target"] for m in merges} >= {"trust", "resource", "permissions_boundary"}
    assert any(m["MergeInto"].startswith("KeyPolicy of the AWS::KMS::Key") for m in merges)


def test_every_document_reads_back_as_the_merged_policy(examples: str) -> None:
    """Each resource's PolicyDocument and each merge entry's statements are `--format policy`'s."""
    template = yaml.safe_load(examples)
    printed = [r["Properties"]["PolicyDocument"] for r in template["Resources"].values()]
    printed += [
        {"Version": "2012-10-17", "Statement": m["Statement"]}
        for m in template["Metadata"]["AuthzDiagMergeInto"]
    ]
    diagnoses = scan([str(REPO / "examples")], ruleset=load_with_bundled(), err=io.StringIO())[1]
    expected = [doc.document for doc in merge_fixes(diagnoses)]

    def key(d: Any) -> str:
        return json.dumps(d, sort_keys=True)

    assert sorted(map(key, printed)) == sorted(map(key, expected))


def test_failures_no_statement_fixes_are_listed_as_comments(examples: str) -> None:
    """The SCP explicit deny in the examples is named in a comment at the end."""
    tail = examples.split("# failures no policy statement can fix:\n")[1]
    assert "ec2:TerminateInstances" in tail
    assert all(ln.startswith("# ") for ln in tail.splitlines())


def test_hostile_log_values_stay_inert_scalars() -> None:
    """Quotes, ${, newlines, */, tags, anchors, NEL and bidi in log values stay one string."""
    fix = Fix(
        "identity",
        f"arn:aws:iam::111122223333:role/{HOSTILE}",
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b/{HOSTILE}"},),
    )
    key_fix = Fix(
        "resource",
        "arn:aws:kms:us-east-1:1:key/k",
        (
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::1:role/{HOSTILE}"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:{HOSTILE}": HOSTILE}},
            },
        ),
    )
    out = cloudformation.render([diagnosis(fix, key_fix), diagnosis(note=HOSTILE)])
    assert out.isascii()
    # cfn-lint reads the template (no E0000 parse error); it only says that the log's
    # values are no valid ARN or role name, which is true.
    assert {m.split(":", 1)[0] for m in _lint(out)} <= {"[E3510", "[E3031"}
    template = yaml.safe_load(out)
    assert set(template) == {"AWSTemplateFormatVersion", "Description", "Metadata", "Resources"}
    (resource,) = template["Resources"].values()
    assert resource["Properties"]["RoleName"] == HOSTILE.rsplit("/", 1)[-1]
    assert resource["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] == (
        f"arn:aws:s3:::b/{HOSTILE}"
    )
    (entry,) = template["Metadata"]["AuthzDiagMergeInto"]
    statement = entry["Statement"][0]
    assert statement["Condition"] == {"StringEquals": {f"aws:{HOSTILE}": HOSTILE}}
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::1:role/{HOSTILE}"}


@pytest.mark.parametrize("value", ["yes", "null", "1e3", "0x10", "~", "- a", "? b", "@c", "`d"])
def test_values_yaml_would_retype_stay_strings(value: str) -> None:
    """A log value that plain YAML would read as a bool, null, number or syntax stays a string."""
    fix = Fix("identity", f"arn:aws:iam::1:user/{value}", ({"Effect": "Allow", "Action": value},))
    template = yaml.safe_load(cloudformation.render([diagnosis(fix)]))
    (resource,) = template["Resources"].values()
    assert resource["Properties"]["UserName"] == value
    assert resource["Properties"]["PolicyDocument"]["Statement"][0]["Action"] == value
