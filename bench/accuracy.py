"""Reader accuracy on the real-text corpus (tests/fixtures/real/).

    python bench/accuracy.py              # per-case differences, per-field figures, summary
    python bench/accuracy.py --quiet      # figures and summary only
    python bench/accuracy.py --write      # also record the figures in BENCHMARKS.md

Scans every case offline (no decoding, bundled rules) the way
``authz-diag scan --no-decode --format json`` does, aligns what it found with
the expected failures and prints: each case's differences, then recall
(expected failures found), false alarms (failures found in negative cases,
and failures nobody expected in positive ones) and accuracy over the six
measured fields (principal, action, resource, policy type, explicit deny,
account), per field and overall.  A missed failure counts as wrong on each
of its fields.  The last line is the one-line summary.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from harness import publish

from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.testing.corpus import MEASURED, REAL_DIR, load_cases, scan_case
from diagnostics.testing.scoring import Totals, report_lines, score, total

#: Issue 21's bar for the reader on the real corpus.
GOALS = "recall >= 99%, 0 false alarms, field accuracy >= 98% (issue 21)"


def _pct(right: int, asked: int) -> str:
    return f"{100.0 * right / asked:.1f}% ({right}/{asked})" if asked else "n/a"


def _commit() -> str:
    """`` at commit abc1234`` of the checkout measured, when git can say."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REAL_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return ""
    return f", at commit {done.stdout.strip()}" if done.returncode == 0 else ""


def markdown(t: Totals) -> str:
    """The BENCHMARKS.md section: what was measured, how, and the figures."""
    rows = [
        ("recall (expected failures found)", _pct(t.matched, t.expected)),
        ("false alarms in negative cases", str(t.false_alarms)),
        ("unexpected failures in positive cases", str(t.extras)),
        ("field accuracy, six fields", _pct(t.field_right, t.field_asked)),
        *((f"  {key}", _pct(*t.fields[key])) for key in MEASURED),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"""## Reader accuracy on real pasted texts (issues 11 and 21)

`python bench/accuracy.py --write` scans each case of `tests/fixtures/real/`
(texts users pasted in public threads, exactly as pasted; sources in its
`SOURCES.md`) offline, as `authz-diag scan --no-decode --format json` does,
and compares the failures found with the expected ones.  These are counts,
not timings, so there is no baseline to divide by.  A missed failure counts
as wrong on each of its fields; "principal" is the ARN, or the principal as
written when the text gives no clean ARN.  Run it without `--write` to see
every remaining difference, case by case.

Corpus: {t.cases} cases ({t.negatives} negatives), {t.expected} expected failures{_commit()}.
Goal: {GOALS}.

| measure | result |
|---|---|
{table}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=REAL_DIR, help="the corpus directory")
    parser.add_argument("--quiet", action="store_true", help="leave out per-case differences")
    parser.add_argument("--write", action="store_true", help="record the figures in BENCHMARKS.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ruleset = RuleSet.load([bundled_rules_dir()])
    cases = load_cases(args.dir)
    if not cases:
        print(f"no cases in {args.dir}; is this a source checkout?", file=sys.stderr)
        return 2
    scores = [score(case, scan_case(case, ruleset)) for case in cases]
    lines = report_lines(scores)
    if args.quiet:
        lines = [line for line in lines if not line.startswith(tuple(s.slug + ":" for s in scores))]
    print("\n".join(lines[:-1]))
    print(f"({time.perf_counter() - started:.1f} s)")
    if args.write:
        publish("accuracy", markdown(total(scores)), write=True)
    print(lines[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
