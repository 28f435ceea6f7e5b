"""Generate reproducible benchmark corpora.

    python bench/generate.py applog --size 512M --seed 1 [--out bench/out/app-512M.log]
    python bench/generate.py cloudtrail --files 100 --seed 1 [--out bench/out/cloudtrail-100]

Each corpus gets a manifest beside it (``<out>.manifest.json``) with the
counts a correct scan must report, so benchmarks check correctness as well
as speed.  The same seed and arguments always give byte-identical output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from gen_applog import MIB, generate_applog
from gen_cloudtrail import generate_cloudtrail
from harness import DEFAULT_OUT

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMG]?)(?:i?B)?$", re.I)


def parse_size(text: str) -> int:
    """``512M`` -> 536870912 (binary units: K, M, G); a bare number is bytes."""
    m = _SIZE.match(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"size {text!r} is not like 512M, 64K, 1G or 1048576")
    unit = {"": 1, "K": 1024, "M": MIB, "G": 1024 * MIB}[m.group(2).upper()]
    return int(float(m.group(1)) * unit)


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def write_manifest(out: Path, manifest: dict[str, Any]) -> Path:
    path = manifest_path(out)
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path


def load_manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(manifest_path(out).read_text())
    return data


def applog(out: Path, size: int, seed: int, density: float) -> dict[str, Any]:
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = generate_applog(out, size=size, seed=seed, failures_per_mib=density)
    write_manifest(out, manifest)
    at_rest(out)
    return manifest


def cloudtrail(
    out: Path, *, files: int, records: int, seed: int, error_rate: float, authz_share: float
) -> dict[str, Any]:
    if out.exists():
        # A stale tree with other files would change the expected counts.
        shutil.rmtree(out)
    out.mkdir(parents=True)
    manifest = generate_cloudtrail(
        out,
        files=files,
        records=records,
        seed=seed,
        error_rate=error_rate,
        authz_share=authz_share,
    )
    write_manifest(out, manifest)
    return manifest


def at_rest(path: Path) -> None:
    """Date ``path`` an hour back: a log at rest, which scan reads through mmap."""
    then = time.time() - 3600
    os.utime(path, (then, then))


def ensure_applog(out: Path, size: int, seed: int, density: float) -> dict[str, Any]:
    """Reuse ``out`` when its manifest says it was made with these arguments."""
    if out.exists() and manifest_path(out).exists():
        m = load_manifest(out)
        same = (m["size_requested"], m["seed"], m["failures_per_mib"]) == (size, seed, density)
        if same and out.stat().st_size == m["bytes"]:
            return m
    return applog(out, size, seed, density)


def ensure_cloudtrail(
    out: Path, *, files: int, records: int, seed: int, error_rate: float, authz_share: float
) -> dict[str, Any]:
    if out.is_dir() and manifest_path(out).exists():
        m = load_manifest(out)
        wanted = (files, records, seed, error_rate, authz_share)
        have = (m["files"], m["records_per_file"], m["seed"], m["error_rate"], m["authz_share"])
        if wanted == have and len(list(out.rglob("*.json.gz"))) == files:
            return m
    return cloudtrail(
        out,
        files=files,
        records=records,
        seed=seed,
        error_rate=error_rate,
        authz_share=authz_share,
    )


def summary(manifest: dict[str, Any]) -> str:
    """What was generated and what a correct scan must find, for people and logs."""
    exp = manifest["expected"]
    if manifest["corpus"] == "applog":
        return (
            f"{manifest['path']}: {manifest['bytes']:,} bytes, {manifest['lines']:,} lines, "
            f"seed {manifest['seed']}\n"
            f"  expected failures: {exp['failures']} {exp['by_kind']}\n"
            f"  by format: {exp['by_format']}\n"
            f"  near-misses (must not be reported): {manifest['near_misses']}\n"
            f"  lines grep -cE counts: {manifest['grep_matching_lines']}"
        )
    return (
        f"{manifest['path']}: {manifest['files']} files x {manifest['records_per_file']} records "
        f"({manifest['json_bytes']:,} bytes JSON, {manifest['gz_bytes']:,} gzipped), "
        f"seed {manifest['seed']}\n"
        f"  expected authorization failures: {exp['failures']}; records with errorCode: "
        f"{exp['records_with_error']}\n"
        f"  by errorCode: {exp['by_error_code']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="corpus", required=True)
    a = sub.add_parser("applog", help="an application log with failures among noise")
    a.add_argument("--size", type=parse_size, default=parse_size("512M"))
    a.add_argument("--seed", type=int, default=1)
    a.add_argument(
        "--failures-per-mib", type=float, default=2.0, help="average failures per MiB (default 2)"
    )
    a.add_argument("--out", type=Path)
    c = sub.add_parser("cloudtrail", help="a CloudTrail delivery tree of .json.gz files")
    c.add_argument("--files", type=int, default=100)
    c.add_argument("--records", type=int, default=1000)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--error-rate", type=float, default=0.05)
    c.add_argument("--authz-share", type=float, default=0.5, help="share of errors that are authz")
    c.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.corpus == "applog":
        out = args.out or DEFAULT_OUT / f"app-{args.size // MIB}M-s{args.seed}.log"
        manifest = applog(out, args.size, args.seed, args.failures_per_mib)
    else:
        out = args.out or DEFAULT_OUT / f"cloudtrail-{args.files}-s{args.seed}"
        manifest = cloudtrail(
            out,
            files=args.files,
            records=args.records,
            seed=args.seed,
            error_rate=args.error_rate,
            authz_share=args.authz_share,
        )
    print(summary(manifest))
    print(f"  manifest: {manifest_path(out)} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
