"""The loopback STS double in its own process, driven over stdin/stdout.

    python bench/sts_server.py --latency 0.05

Prints the endpoint URL on its first line, then answers one command per
line: ``reset`` (forget the call log), ``calls`` (a JSON list of the
monotonic arrival times of DecodeAuthorizationMessage calls), ``quit``.

A separate process keeps the double's own CPU work (HTTP parsing, XML) off
the decoder's interpreter lock, as a remote STS endpoint would be.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from diagnostics.testing.sts_double import DECODE, StsCall, StsDouble, decoded_message


def answer(blob: str, call: StsCall) -> dict[str, Any]:
    del call
    return decoded_message(resource=f"arn:aws:s3:::bench/{blob[:12]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args(argv)
    with StsDouble(default=answer, latency=args.latency) as sts:
        print(sts.endpoint_url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                sts.reset_calls()
                print("ok", flush=True)
            elif command == "calls":
                times = [c.received_at for c in sts.calls if c.action == DECODE]
                print(json.dumps(times), flush=True)
            elif command == "quit":
                break
            else:
                print(f"error: unknown command {command!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
