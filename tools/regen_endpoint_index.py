"""Regenerate diagnostics/data/botocore_endpoints.json from the installed botocore.

Run it after upgrading botocore (tests/test_iam_endpoint_index.py says when)::

    .venv/bin/python tools/regen_endpoint_index.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from diagnostics.iam.endpoint_index import DATA_NAME, from_botocore, to_json

OUT = Path(__file__).resolve().parents[1] / "diagnostics" / "data" / DATA_NAME


def main() -> int:
    index = from_botocore()
    OUT.write_bytes(to_json(index))
    print(f"{OUT}: {len(index.services)} services from botocore {index.botocore_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
