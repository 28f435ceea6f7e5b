"""The text view marks a fix that allows the denied pair but not the whole call."""

from __future__ import annotations

from diagnostics.diagnose.verify import check_fixes
from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.render.text import render

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/ops"
SNAPSHOTS = "arn:aws:ec2:us-east-1::snapshot/*"


def _rendered_create_snapshot_fix(*resources: str) -> str:
    """The text view of a denied CreateSnapshot whose fix grants ``resources``, verified."""
    failure = Failure(
        kind="plain",
        source=SourceRef("-"),
        principal_arn=USER,
        account_id=ACCOUNT,
        region="us-east-1",
        action="ec2:CreateSnapshot",
        resource=SNAPSHOTS,
    )
    statement = {"Effect": "Allow", "Action": "ec2:CreateSnapshot", "Resource": list(resources)}
    fix = Fix("identity", USER, (statement,))
    d = check_fixes(Diagnosis(failure, findings=(Finding("r", "t", "medium", "e", (fix,)),)))
    return render(d)


def test_an_incomplete_fix_is_shown_with_a_cross_and_what_it_also_needs() -> None:
    """A snapshot-only CreateSnapshot fix reads "✗ incomplete ... also needs" the volume."""
    text = _rendered_create_snapshot_fix(SNAPSHOTS)
    (mark,) = [ln for ln in text.splitlines() if "incomplete" in ln]
    assert mark.lstrip().startswith("✗ incomplete")
    assert "also needs the required volume resource" in mark
    assert "✓" not in text


def test_a_complete_fix_keeps_its_check_mark() -> None:
    """A fix that also grants the volume is shown as allowed with a ✓."""
    text = _rendered_create_snapshot_fix(SNAPSHOTS, f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/*")
    assert "✓ evaluator: allows ec2:CreateSnapshot" in text and "incomplete" not in text
