"""``authz-diag explain`` of saved IAM Access Troubleshooter details, through the console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import toolbox_shapes as shapes

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")
EXAMPLES = REPO / "examples" / "troubleshooter"
SCP_EXAMPLE = str(EXAMPLES / "scp-explicit-deny.json")
RUN_EXAMPLE = str(EXAMPLES / "runinstances-passrole-createtags.json")
SCP_URI = (
    "arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-7q3x9k2m"
)


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    # No credentials and no network needed: explain works offline.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [AUTHZ_DIAG, "explain", *args],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO,
        check=False,
    )


def test_scp_example_attributes_the_deny_with_the_policy_directory() -> None:
    """The README example names the SCP, Sid and OU, quotes the statement and offers no Allow."""
    out = run(SCP_EXAMPLE, "--policy", str(EXAMPLES / "policies"))
    assert out.returncode == 0, out.stderr
    assert "[IAM Access Troubleshooter details]" in out.stdout
    assert (
        "Why       s3:CreateBucket denied by SCP p-7q3x9k2m at ou-ab12-workloads "
        "(statement DenyOutsideRegions)" in out.stdout
    )
    flat = " ".join(out.stdout.split())  # the explanation is wrapped at 96 columns
    assert "The denying statement:" in flat
    assert 'aws:RequestedRegion ["eu-west-1", "eu-central-1"] holds (request: ap-south-1)' in flat
    assert "Fix:" not in out.stdout


def test_scp_example_as_json_has_no_fix_and_a_still_denied_recheck() -> None:
    """JSON output: the SCP is the policy, fixes are empty, the re-check says it stays denied."""
    out = run(SCP_EXAMPLE, "--policy", f"{SCP_URI}={EXAMPLES / 'policies' / 'p-7q3x9k2m.json'}",
              "--format", "json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    obj = orjson.loads(out.stdout)
    assert (obj["policy_type"], obj["policy_arn"], obj["explicit_deny"]) == ("scp", SCP_URI, True)
    assert [f["fixes"] for f in obj["findings"]] == [[]]
    assert obj["verification"][0]["status"] == "still_denied"
    assert SCP_URI in obj["authorization_details"]["documents"]


def test_run_instances_example_fixes_the_role_for_each_evaluation() -> None:
    """RunInstances: one fix per denied evaluation, for the role, each proved by the re-check."""
    out = run(RUN_EXAMPLE, "--format", "json")
    assert out.returncode == 0, out.stderr
    obj = orjson.loads(out.stdout)
    fixes = [fix for f in obj["findings"] for fix in f["fixes"]]
    assert {fix["applies_to"] for fix in fixes} == {"arn:aws:iam::111122223333:role/ci-deployer"}
    conditions = [fix["statements"][0]["Condition"]["StringEquals"] for fix in fixes]
    assert conditions == [
        {"iam:PassedToService": "ec2.amazonaws.com"},
        {"ec2:CreateAction": "RunInstances"},
    ]
    assert [v["status"] for v in obj["verification"]] == ["allows", "allows"]
    assert obj["action"] == "ec2:RunInstances"


def test_details_from_stdin_and_parse_notes_in_the_output() -> None:
    """Pasted details with odd entries are explained, the oddities listed in parse_notes."""
    raw = shapes.run_instances()
    raw["evaluations"].append({"resource": "x"})
    out = run("-", "--format", "json", stdin=orjson.dumps(raw))
    assert out.returncode == 0, out.stderr
    obj = orjson.loads(out.stdout)
    assert any("has no action" in n for n in obj["parse_notes"])


def test_policy_option_errors_say_what_to_do() -> None:
    """Bad --policy arguments exit 2 with a message naming the fix; unmatched files are warned."""
    decoded = REPO / "examples" / "decoded-message.json"
    out = run(str(decoded), "--policy", str(EXAMPLES / "policies"))
    assert out.returncode == 2 and "goes with saved authorization details" in out.stderr
    out = run(SCP_EXAMPLE, "--policy", "no-such-dir")
    assert out.returncode == 2 and "give URI=FILE" in out.stderr
    out = run(SCP_EXAMPLE, "--policy", f"{SCP_URI}={RUN_EXAMPLE}")
    assert out.returncode == 2 and "is not a policy" in out.stderr
    out = run(SCP_EXAMPLE, "--policy", str(EXAMPLES))
    assert out.returncode == 0
    assert "no evaluated policy has a URI ending in scp-explicit-deny" in out.stderr
    # The document was not given: the text says how to fetch it.
    assert "get-request-authorization-policy" in " ".join(out.stdout.split())


def test_text_that_is_neither_shape_names_both() -> None:
    """Input that is neither a decoded message nor details says what either looks like."""
    out = run("-", stdin=b'{"something": 1}')
    assert out.returncode == 2
    assert "get-request-authorization-details" in out.stderr


def test_readme_shows_the_real_output_of_the_scp_example() -> None:
    """The README's Access Troubleshooter example is what the command prints today."""
    out = subprocess.run(
        [AUTHZ_DIAG, "explain", "examples/troubleshooter/scp-explicit-deny.json",
         "--policy", "examples/troubleshooter/policies"],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert out.stdout.rstrip() in readme


def test_a_scan_json_line_with_details_is_explained() -> None:
    """A `scan --format json` line that carries resolved details is explained from them."""
    line = {"kind": "plain", "authorization_details": shapes.scp_explicit_deny()}
    out = run("-", stdin=orjson.dumps(line))
    assert out.returncode == 0, out.stderr
    assert "denied by SCP p-7q3x9k2m at ou-ab12-workloads" in out.stdout


def test_the_mcp_explain_tool_takes_saved_details_too() -> None:
    """An agent pasting get-request-authorization-details output gets the same attribution."""
    from diagnostics.mcp_server.server import explain_text
    from diagnostics.rules import load_with_bundled

    answer = explain_text(orjson.dumps(shapes.scp_explicit_deny()).decode(), load_with_bundled())
    (d,) = answer["diagnoses"]
    assert "denied by SCP p-7q3x9k2m at ou-ab12-workloads" in d["findings"][0]["title"]
    assert d["findings"][0]["fixes"] == []


def test_text_shows_each_fix_with_its_own_recheck() -> None:
    """Under each fix the text view shows the re-check of that fix's evaluation only."""
    out = run(RUN_EXAMPLE).stdout
    pass_role, create_tags = out.split("Fix: add to")[1:]
    assert pass_role.count("✓ evaluator") == 1 and "allows iam:PassRole" in pass_role
    assert create_tags.count("✓ evaluator") == 1 and "allows ec2:CreateTags" in create_tags
