"""Baseline for P2: decompress every ``.json.gz`` under a directory and do nothing else.

    python bench/zlib_only.py DIR

The floor for any tool that reads CloudTrail deliveries in Python: the
same interpreter start, the same directory walk, and zlib.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path


def main(argv: list[str]) -> int:
    total = 0
    for path in sorted(Path(argv[0]).rglob("*.json.gz")):
        # wbits 47 = 32 + 15: accept the gzip header, as CloudTrail writes it.
        total += len(zlib.decompress(path.read_bytes(), wbits=47))
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
