"""``authz-diag rules lint|test|schema [DIR...]``: check and run rule files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "rules",
        help="lint rule files, run their cases, or print the rule schema",
        description="Without DIR, the bundled rules; with DIRs, those dirs layered "
        "over the bundled rules (later dirs override by id) unless --only.",
    )
    p.add_argument("action", choices=("lint", "test", "schema"))
    # default=[] keeps argparse from listing the optional DIR as required.
    p.add_argument(
        "dirs",
        nargs="*",
        type=Path,
        default=[],
        metavar="DIR",
        help="rule directories (default: the bundled rules)",
    )
    p.add_argument(
        "--only", action="store_true", help="check only the given DIRs, not the bundled rules"
    )
    # `rules test --only DIR`: DIRs after an option arrive as leftovers (cli.main).
    p.set_defaults(run=run, trailing="dirs")


def _dirs(args: argparse.Namespace) -> list[Path]:
    from diagnostics.rules import bundled_rules_dir

    given: list[Path] = list(args.dirs)
    if args.only and given:
        return given
    return [bundled_rules_dir(), *given]


def run(args: argparse.Namespace) -> int:
    from diagnostics.rules import lint, run_cases
    from diagnostics.rules.docs import schema_markdown

    if args.action == "schema":
        sys.stdout.write(schema_markdown())
        return 0
    dirs = _dirs(args)
    problems = lint(dirs)
    if args.action == "lint":
        for line in problems:
            print(line)
        if not problems:
            print(f"ok: {len(dirs)} rule dir(s) clean", file=sys.stderr)
        return 1 if problems else 0
    if problems:
        for line in problems:
            print(line)
        print("fix the problems above, then run the cases", file=sys.stderr)
        return 1
    report = run_cases(dirs)
    for rule_id, results in report.by_rule().items():
        bad = [r for r in results if not r.ok]
        print(f"{'FAIL' if bad else 'ok  '} {rule_id} ({len(results) - len(bad)}/{len(results)})")
        for r in bad:
            print(f"     case {r.case!r}: {r.message}")
    passed = sum(r.ok for r in report.results)
    print(f"{passed}/{len(report.results)} cases passed", file=sys.stderr)
    return 0 if report.ok else 1
