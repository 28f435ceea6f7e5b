"""``scan --iac DIR``: each fix names the Terraform or CloudFormation resource of its target."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import hcl2

from diagnostics.iac.search import index_tree

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")
TREE = "examples/terraform"


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


def _line_of(path: str, text: str) -> int:
    lines = (REPO / path).read_text().splitlines()
    return next(n for n, t in enumerate(lines, 1) if t.startswith(text))


def test_text_names_the_file_and_line_of_the_role_in_the_example_tree() -> None:
    """The ci-deployer fix of the terraform example says where examples/terraform defines it."""
    proc = _scan("--iac", TREE, "examples/terraform-apply.log")
    assert proc.returncode == 1, proc.stderr
    line = _line_of(f"{TREE}/iam.tf", 'resource "aws_iam_role" "ci_deployer"')
    expected = f"defined in {TREE}/iam.tf:{line} (aws_iam_role.ci_deployer)"
    fix_lines = proc.stdout.splitlines()
    at = [i for i, t in enumerate(fix_lines) if "Fix: add to the identity policy of" in t]
    assert at and all(fix_lines[i + 1].strip() == expected for i in at)


def test_json_carries_defined_in() -> None:
    """`--format json` gets a defined_in list of applies_to, path, line and resource."""
    proc = _scan("--format", "json", "--iac", TREE, "examples/aws-cli.txt")
    found = [d for raw in proc.stdout.splitlines() for d in json.loads(raw)["defined_in"]]
    line = _line_of(f"{TREE}/iam.tf", 'resource "aws_iam_user" "alice"')
    assert {
        "applies_to": "arn:aws:iam::111122223333:user/alice",
        "path": f"{TREE}/iam.tf",
        "line": line,
        "resource": "aws_iam_user.alice",
    } in found
    without = _scan("--format", "json", "examples/aws-cli.txt")
    assert all(json.loads(raw)["defined_in"] == [] for raw in without.stdout.splitlines())


def test_terraform_output_refers_to_the_resource_it_found() -> None:
    """With --iac, the role policy names aws_iam_role.ci_deployer.name, and still parses."""
    proc = _scan("--format", "terraform", "--iac", TREE, "examples/")
    assert "  role = aws_iam_role.ci_deployer.name\n" in proc.stdout
    assert "  bucket = aws_s3_bucket.partner_exports.id\n" in proc.stdout
    assert "# defined in examples/terraform/iam.tf:" in proc.stdout
    hcl2.load(io.StringIO(proc.stdout))


def test_cloudformation_yaml_json_and_cdk_templates_are_searched(tmp_path: Path) -> None:
    """RoleName, UserName and BucketName in YAML, JSON and cdk.out templates are found."""
    (tmp_path / "stack.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Resources:\n"
        "  # the deployer\n"
        "  DeployerRole:\n"
        "    Type: AWS::IAM::Role\n"
        "    Properties:\n"
        "      RoleName: !Sub '${Env}-x'\n"
        "      Path: /apps/\n"
        "  IngestRole:\n"
        "    Type: 'AWS::IAM::Role'\n"
        "    Properties:\n"
        '      RoleName: "ingest-role"  # set by hand\n'
        "      Path: /apps/\n"
        "Outputs:\n"
        "  X:\n"
        "    Value: 1\n"
    )
    (tmp_path / "cdk.out").mkdir()
    body = {
        "Resources": {
            "Exports1234": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "exports"}},
            "Alice": {"Type": "AWS::IAM::User", "Properties": {"UserName": "alice"}},
        }
    }
    (tmp_path / "cdk.out" / "App.template.json").write_text(json.dumps(body, indent=1))
    index = index_tree(str(tmp_path))
    (ingest,) = index.find("arn:aws:sts::1:assumed-role/ingest-role/session")
    assert (ingest.file, ingest.line, ingest.resource) == (
        str(tmp_path / "stack.yaml"),
        9,
        "IngestRole (AWS::IAM::Role)",
    )
    assert index.find("arn:aws:iam::1:role/apps/ingest-role") == [ingest]
    assert index.find("arn:aws:iam::1:role/other/ingest-role") == []  # another path
    (bucket,) = index.find("arn:aws:s3:::exports/some/key")  # an object's bucket
    assert bucket.resource == "Exports1234 (AWS::S3::Bucket)" and bucket.line == 3
    assert [d.resource for d in index.find("arn:aws:iam::1:user/alice")] == [
        "Alice (AWS::IAM::User)"
    ]


def test_terraform_json_and_nested_names_are_told_apart(tmp_path: Path) -> None:
    """.tf.json resources are found; an inline_policy's or an interpolated name is not a role's."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "worker" {\n'
        '  name = "${var.env}-worker"\n'
        "  inline_policy {\n"
        '    name = "reader"\n'
        '    policy = jsonencode({ Statement = [{ Action = "s3:*", Resource = "}" }] })\n'
        "  }\n"
        "}\n"
        'resource "aws_iam_role" "reader_role" {\n'
        '  path = "/svc/"\n'
        '  name = "reader"\n'
        "}\n"
    )
    doc = {"resource": {"aws_iam_group": {"ops": {"name": "ops"}}}}
    (tmp_path / "groups.tf.json").write_text(json.dumps(doc, indent=2))
    index = index_tree(str(tmp_path))
    (reader,) = index.find("arn:aws:iam::1:role/svc/reader")
    assert (reader.line, reader.resource) == (8, "aws_iam_role.reader_role")
    assert index.find("arn:aws:iam::1:role/dev-worker") == []
    (ops,) = index.find("arn:aws:iam::1:group/ops")
    assert (ops.resource, ops.line) == ("aws_iam_group.ops", 4)


def test_a_bad_iac_tree_is_a_clear_error_or_a_warning(tmp_path: Path) -> None:
    """A missing --iac directory exits 2 saying what to name; an unreadable file is warned."""
    proc = _scan("--iac", str(tmp_path / "nope"), "examples/aws-cli.txt")
    assert proc.returncode == 2
    assert "not a directory" in proc.stderr and "Terraform" in proc.stderr
    (tmp_path / "bad.tf").write_bytes(b'resource "aws_iam_user" "a" {\n  name = "\xff\xfe"\n')
    (tmp_path / "big.yaml").write_text("Resources:\n" + "  A: " + "x" * 100 + "\n")
    (tmp_path / "locked.tf").write_text('resource "aws_iam_user" "u" {\n  name = "alice"\n}\n')
    (tmp_path / "locked.tf").chmod(0)
    try:
        proc = _scan("--iac", str(tmp_path), "examples/aws-cli.txt")
    finally:
        (tmp_path / "locked.tf").chmod(0o600)
    assert proc.returncode == 1, proc.stderr
    if os.geteuid() != 0:  # root reads a mode-0 file anyway
        assert "warning: --iac: could not read" in proc.stderr


def test_policy_formats_name_where_each_target_is_defined() -> None:
    """`--format policy` notes and `--format policy-text` comments say where the tree defines it."""
    line = _line_of(f"{TREE}/iam.tf", 'resource "aws_iam_role" "backup_job"')
    note = f"defined in {TREE}/iam.tf:{line} (aws_iam_role.backup_job)"
    entries = json.loads(_scan("--format", "policy", "--iac", TREE, "examples/").stdout)
    (backup,) = [
        e for e in entries if e["applies_to"] == "arn:aws:iam::111122223333:role/backup-job"
    ]
    assert note in backup["notes"]
    text = _scan("--format", "policy-text", "--iac", TREE, "examples/").stdout
    header = "# identity policy for arn:aws:iam::111122223333:role/backup-job:"
    lines = text.splitlines()
    at = next(i for i, t in enumerate(lines) if t.startswith(header))
    assert lines[at + 1] == f"# {note}"
