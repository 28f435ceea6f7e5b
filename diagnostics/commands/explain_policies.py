"""``explain --policy``: the policy documents beside a saved authorization-details answer.

``aws iam-toolbox get-request-authorization-policy`` prints
``{"policyDocument": {...}}`` for one policy URI.  Users save one file per
policy and name it either on the command line (``--policy URI=FILE``) or by
file name in a directory (``--policy DIR``: ``p-7q3x9k2m.json`` is the policy
whose URI ends in ``/p-7q3x9k2m``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from diagnostics.errors import InputError, UsageError
from diagnostics.troubleshooter.details import parse_document


def _read(path: Path) -> Mapping[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read policy file {path}: {exc.strerror}; check the path"
        ) from None
    try:
        document = parse_document(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not JSON ({exc}); save the output of "
            "`aws iam-toolbox get-request-authorization-policy` as it is"
        ) from None
    if document is None:
        raise InputError(
            f'{path} is not a policy: expected {{"policyDocument": {{...}}}} as '
            "`aws iam-toolbox get-request-authorization-policy` prints it, or a policy object"
        )
    return document


def _short(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def load_policies(specs: Iterable[str], uris: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """({policy URI: document}, warnings) for every ``--policy`` argument.

    ``uris`` are the URIs the answer lists, to match a directory's file names.
    """
    known = list(uris)
    documents: dict[str, Any] = {}
    warnings: list[str] = []
    for spec in specs:
        uri, sep, file = spec.rpartition("=")
        if sep and uri:
            documents[uri] = _read(Path(file))
            continue
        folder = Path(spec)
        if not folder.is_dir():
            raise UsageError(
                f"--policy {spec}: give URI=FILE (the policy's uri from the answer) "
                "or a directory of NAME.json files"
            )
        for path in sorted(folder.glob("*.json")):
            matches = [u for u in known if _short(u) == path.stem]
            if len(matches) != 1:
                why = "no" if not matches else "more than one"
                warnings.append(
                    f"{path}: {why} evaluated policy has a URI ending in {path.stem}; skipped "
                    "(use --policy URI=FILE)"
                )
                continue
            documents[matches[0]] = _read(path)
    return documents, warnings
