"""Reader accuracy on the real-text corpus (tests/fixtures/real/).

    python bench/accuracy.py              # per-case differences, per-field figures, summary
    python bench/accuracy.py --quiet      # figures and summary only

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
import sys
import time
from pathlib import Path

from diagnostics.rules import RuleSet, bundled_rules_dir
from diagnostics.testing.corpus import REAL_DIR, load_cases, report_lines, scan_case, score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=REAL_DIR, help="the corpus directory")
    parser.add_argument("--quiet", action="store_true", help="leave out per-case differences")
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
    print(lines[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
