"""Regenerate tests/fixtures/real/SOURCES.md from the corpus' .expect.json files.

    python tools/real_sources.py            # rewrite SOURCES.md
    python tools/real_sources.py --check    # exit 1 when SOURCES.md is out of date

The table (slug, tool, title, URL) is what tests/test_real_corpus.py checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diagnostics.testing.corpus import REAL_DIR, Case, load_cases

HEADER = """# Sources of the real-text corpus

Each case is an error text exactly as a user pasted it in the public page
named here (`<slug>.txt`), with the failures a careful reader sees in it
(`<slug>.expect.json`).  The texts are facts quoted from these pages; the
expected values are this project's.  Regenerate this file with
`python tools/real_sources.py` after adding a case.

| slug | tool | title | URL |
|---|---|---|---|
"""


def _cell(text: str) -> str:
    # A table cell is one line and may not contain an unescaped pipe.
    return " ".join(text.split()).replace("|", "\\|")


def render(cases: list[Case]) -> str:
    rows = [
        f"| {c.slug} | {_cell(str(c.expect.get('tool', '')))} | "
        f"{_cell(str(c.expect.get('title', '')))} | {_cell(str(c.expect.get('url', '')))} |\n"
        for c in cases
    ]
    return HEADER + "".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=REAL_DIR, help="the corpus directory")
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    target = args.dir / "SOURCES.md"
    text = render(load_cases(args.dir))
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date; run python tools/real_sources.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({text.count(chr(10)) - HEADER.count(chr(10))} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
