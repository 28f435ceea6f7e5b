"""The reader on the SDK x protocol x variant matrix of docs/error-shapes.md.

    python bench/shapes.py            # the score, per shape and per variant, and failing ids
    python bench/shapes.py --quiet    # the summary line only

Counts, not timings: no baseline to divide by.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from diagnostics.testing.error_shapes import matrix, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    total = right = 0
    by_shape: Counter[str] = Counter()
    by_variant: Counter[str] = Counter()
    first: dict[str, str] = {}
    for shape, svc, renderings in matrix():
        for r in renderings:
            total += 1
            wrong = problems(r)
            if not wrong:
                right += 1
                continue
            by_shape[shape.id] += 1
            by_variant[r.id] += 1
            first.setdefault(f"{shape.id}/{svc.name}/{r.id}", "; ".join(wrong))
    if not args.quiet:
        print("misses by shape:", dict(by_shape.most_common()))
        print("misses by variant/carrier:", dict(by_variant.most_common(20)))
        for key, why in list(first.items())[:60]:
            print(f"  {key}: {why}")
    print(f"matrix: {right}/{total} renderings right ({100.0 * right / total:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
