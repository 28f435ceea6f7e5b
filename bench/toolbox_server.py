"""The loopback iam-toolbox double in its own process, driven over stdin/stdout.

    python bench/toolbox_server.py --latency 0.05 --ids 300

Serves the SCP-deny sample answer (and its two policy documents) for the IDs
``bench_ids(N)``.  Prints the endpoint URL on its first line, then answers
one command per line: ``reset`` (forget the call log), ``calls`` (a JSON
list of the monotonic arrival times of every call), ``quit``.  A separate
process keeps the double's CPU work off the resolver's interpreter lock.
"""

from __future__ import annotations

import argparse
import json
import sys

from diagnostics.testing.toolbox_double import ToolboxDouble
from diagnostics.testing.toolbox_samples import SCP_DOCUMENTS, scp_deny_details


def bench_ids(count: int) -> list[str]:
    """``count`` distinct authorization IDs (lower-case letters and digits)."""
    return [f"p8bench{i:06d}" for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--ids", type=int, default=300)
    args = parser.parse_args(argv)
    answer = scp_deny_details()
    with ToolboxDouble(latency=args.latency) as double:
        for authorization_id in bench_ids(args.ids):
            double.add_details(authorization_id, answer, SCP_DOCUMENTS)
        print(double.endpoint_url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                double.reset_calls()
                print("ok", flush=True)
            elif command == "calls":
                print(json.dumps([c.received_at for c in double.calls]), flush=True)
            elif command == "quit":
                break
            else:
                print(f"error: unknown command {command!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
