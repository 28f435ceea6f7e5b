"""``scan --format terraform``: HCL that python-hcl2 parses and that says what the fixes say."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.policy.merge import merge_fixes
from diagnostics.render import terraform

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")

# python-hcl2 8 rejects a "$${" with no closing brace in the same string (Terraform's
# scanner reads it as a literal "${" either way): the template sequences here close.
HOSTILE = 'x"}\n# pwned ${file("passwd")} %{ if true }\\n */ \x1b[31m\u202e\U0001f600'


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


def unquote(raw: str) -> str:
    """An HCL quoted string's value; fails on a template sequence that would run."""
    assert raw[0] == '"' and raw[-1] == '"', raw
    body, out, i = raw[1:-1], [], 0
    simple = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            code = body[i + 1]
            if code in simple:
                out.append(simple[code])
                i += 2
            else:
                width = 4 if code == "u" else 8
                assert code in "uU", raw
                out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
                i += 2 + width
        elif body.startswith(("$${", "%%{"), i):
            out.append(body[i] + "{")
            i += 3
        else:
            assert not body.startswith(("${", "%{"), i), f"template sequence in {raw}"
            out.append(ch)
            i += 1
    return "".join(out)


def _blocks(parsed: dict[str, Any], kind: str, rtype: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in parsed.get(kind, []):
        for key, labels in entry.items():
            if unquote(key) == rtype:
                out.update({unquote(label): body for label, body in labels.items()})
    return out


def _as_policy(data: dict[str, Any]) -> list[dict[str, Any]]:
    """An aws_iam_policy_document block read back as IAM JSON statements."""
    statements = []
    for st in data["statement"]:
        out: dict[str, Any] = {"Sid": unquote(st["sid"]), "Effect": unquote(st["effect"])}
        for arg, key in (("actions", "Action"), ("not_actions", "NotAction")):
            if arg in st:
                out[key] = sorted(unquote(v) for v in st[arg])
        for arg, key in (("resources", "Resource"), ("not_resources", "NotResource")):
            if arg in st:
                out[key] = sorted(unquote(v) for v in st[arg])
        for block, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            for p in st.get(block, []):
                out.setdefault(key, {})[unquote(p["type"])] = sorted(
                    unquote(v) for v in p["identifiers"]
                )
        for c in st.get("condition", []):
            tests = out.setdefault("Condition", {}).setdefault(unquote(c["test"]), {})
            tests[unquote(c["variable"])] = sorted(unquote(v) for v in c["values"])
        statements.append(out)
    return statements


def _lists(statement: dict[str, Any]) -> dict[str, Any]:
    """A merged statement with every list field as a sorted list (as _as_policy reads them)."""
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key in ("Principal", "NotPrincipal"):
            kinds = {"*": "*"} if value == "*" else value
            out[key] = {k: sorted(v if isinstance(v, list) else [v]) for k, v in kinds.items()}
        elif key == "Condition":
            out[key] = {
                op: {k: sorted(v if isinstance(v, list) else [v]) for k, v in keys.items()}
                for op, keys in value.items()
            }
        elif key in ("Action", "NotAction", "Resource", "NotResource"):
            out[key] = sorted(value if isinstance(value, list) else [value])
        else:
            out[key] = value
    return out


def _canon(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def diagnosis(*fixes: Fix, note: str = "explained") -> Diagnosis:
    failure = Failure(kind="plain", source=SourceRef("app.log", 1), action="s3:GetObject")
    finding = Finding("test-rule", "title", "high", note, fixes=fixes)
    return Diagnosis(failure=failure, findings=(finding,))


def parse(text: str) -> dict[str, Any]:
    return hcl2.load(io.StringIO(text))


@pytest.fixture(scope="module")
def examples() -> str:
    proc = _scan("--format", "terraform", "examples/")
    assert proc.returncode == 1, proc.stderr
    return proc.stdout


def test_the_examples_print_terraform_that_python_hcl2_parses(examples: str) -> None:
    """`scan --format terraform examples/` is HCL: a policy document and its resource per target."""
    parsed = parse(examples)
    documents = _blocks(parsed, "data", "aws_iam_policy_document")
    roles = _blocks(parsed, "resource", "aws_iam_role_policy")
    users = _blocks(parsed, "resource", "aws_iam_user_policy")
    buckets = _blocks(parsed, "resource", "aws_s3_bucket_policy")
    assert {unquote(r["role"]) for r in roles.values()} >= {"ci-deployer", "backup-job"}
    assert {unquote(u["user"]) for u in users.values()} == {"alice"}
    assert {unquote(b["bucket"]) for b in buckets.values()} == {"partner-exports"}
    for label, body in {**roles, **users, **buckets}.items():
        assert body["policy"] == "${data.aws_iam_policy_document." + label + ".json}"
        assert label in documents
    # The trust, KMS key and boundary documents are there too, with where they go.
    assert len(documents) == len(merge_fixes(_kept(["examples/"])))
    assert "# merge it into the assume_role_policy of the aws_iam_role" in examples
    assert "# merge it into the policy of the aws_kms_key" in examples


def _kept(paths: list[str]) -> list[Diagnosis]:
    from diagnostics.rules import load_with_bundled
    from diagnostics.run.scan import scan

    # Relative to the checkout, as the CLI runs in the tests above.
    cwd = Path.cwd()
    os.chdir(REPO)
    try:
        return scan(paths, ruleset=load_with_bundled(), err=io.StringIO())[1]
    finally:
        os.chdir(cwd)


def test_each_document_reads_back_as_the_merged_policy(examples: str) -> None:
    """Every statement of every printed document says what `--format policy` says."""
    documents = _blocks(parse(examples), "data", "aws_iam_policy_document")
    merged = merge_fixes(_kept(["examples/"]))
    printed = sorted((_as_policy(d) for d in documents.values()), key=_canon)
    expected = sorted(
        ([_lists(s) for s in doc.document["Statement"]] for doc in merged), key=_canon
    )
    assert printed == expected


def test_failures_no_statement_fixes_are_listed_as_comments(examples: str) -> None:
    """The SCP explicit deny in the examples is named in a comment, not dropped."""
    assert "# failures no policy statement can fix:" in examples
    assert "ec2:TerminateInstances" in examples
    tail = examples.split("# failures no policy statement can fix:\n")[1]
    assert tail and all(ln.startswith("# ") for ln in tail.splitlines())


def test_conditions_principals_and_negations_become_blocks() -> None:
    """Conditions, principals of each kind, NotAction and NotResource keep their meaning."""
    statements = (
        {
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com", "AWS": ["arn:aws:iam::1:role/a"]},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
                "Bool": {"aws:SecureTransport": True},
            },
        },
        {"Effect": "Deny", "Principal": "*", "NotAction": "s3:Get*", "NotResource": "arn:x"},
    )
    fix = Fix("resource", "arn:aws:kms:us-east-1:1:key/k-1", statements)
    out = terraform.render([diagnosis(fix)])
    documents = _blocks(parse(out), "data", "aws_iam_policy_document")
    (document,) = documents.values()
    (merged,) = merge_fixes([diagnosis(fix)])
    expected = [_lists(s) for s in merged.document["Statement"]]
    for st in expected:
        for keys in st.get("Condition", {}).values():
            for key, values in keys.items():
                keys[key] = sorted("true" if v is True else v for v in values)
    assert _as_policy(document) == expected


def test_hostile_log_values_stay_inert_strings() -> None:
    """A resource or role name with quotes, ${, %{, newlines, */ and escapes is one string."""
    fix = Fix(
        "identity",
        f"arn:aws:iam::111122223333:role/{HOSTILE}",
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b/{HOSTILE}"},),
    )
    bucket_fix = Fix(
        "resource",
        f"arn:aws:s3:::{HOSTILE}",
        (
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::1:role/{HOSTILE}"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{HOSTILE}/*",
                "Condition": {"StringLike": {f"aws:{HOSTILE}": HOSTILE}},
            },
        ),
    )
    out = terraform.render([diagnosis(fix, bucket_fix), diagnosis(note=HOSTILE)])
    assert out.isascii()
    parsed = parse(out)
    (role,) = _blocks(parsed, "resource", "aws_iam_role_policy").values()
    assert unquote(role["role"]) == HOSTILE.rsplit("/", 1)[-1]
    (bucket,) = _blocks(parsed, "resource", "aws_s3_bucket_policy").values()
    assert unquote(bucket["bucket"]) == HOSTILE.split("/", 1)[0]  # the ARN's bucket part
    documents = _blocks(parsed, "data", "aws_iam_policy_document")
    resources = {
        unquote(r) for d in documents.values() for s in d["statement"] for r in s["resources"]
    }
    assert resources == {f"arn:aws:s3:::b/{HOSTILE}", f"arn:aws:s3:::{HOSTILE}/*"}
    (cond,) = next(d for d in documents.values() if "principals" in d["statement"][0])["statement"][
        0
    ]["condition"]
    assert (unquote(cond["variable"]), [unquote(v) for v in cond["values"]]) == (
        f"aws:{HOSTILE}",
        [HOSTILE],
    )
    # Only our own blocks exist: nothing the log wrote became a block or an attribute.
    assert set(parsed) <= {"data", "resource", "__comments__"}
    # The no-fix failure's note is one comment line each.
    for text in out.splitlines():
        assert text.startswith(("#", " ", "}", "data ", "resource ")) or not text, text


def test_an_unclosed_template_sequence_is_still_escaped() -> None:
    """A lone ``${`` or ``%{`` from a log is written ``$${``/``%%{``: a literal, not a template."""
    assert terraform.hcl_string("a${b") == '"a$${b"'
    assert terraform.hcl_string("a%{b") == '"a%%{b"'
    assert terraform.hcl_string("$${x}") == '"$$${x}"'  # reads back as "$${x}"
    assert unquote(terraform.hcl_string("$${x} %%{y}")) == "$${x} %%{y}"
