"""botocore's service names, endpoint prefixes and signing names, read once ahead of time.

An event source host (``api.ecr``, ``streams.dynamodb``) names a service by
its endpoint prefix, which only the service models say.  Reading every model
takes seconds (about 7 s on a loaded 2-core machine), too long for the first
unknown event source on the daemon's main thread, so the three names of each
service are extracted from the installed botocore by
``tools/regen_endpoint_index.py`` into ``diagnostics/data/botocore_endpoints.json``.
``tests/test_iam_endpoint_index.py`` fails when the installed botocore differs.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass

import orjson

DATA_NAME = "botocore_endpoints.json"


@dataclass(frozen=True, slots=True)
class ServiceNames:
    """One botocore service: its model name, endpoint prefix and signing name (maybe empty)."""

    name: str
    endpoint_prefix: str
    signing_name: str


@dataclass(frozen=True, slots=True)
class EndpointIndex:
    """Every service of one botocore release."""

    botocore_version: str
    services: tuple[ServiceNames, ...]


def _from_json(doc: object) -> EndpointIndex:
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        raise ValueError(f"{DATA_NAME} is not an endpoint index; run tools/regen_endpoint_index.py")
    services = tuple(
        ServiceNames(str(name), str(names[0]), str(names[1]))
        for name, names in sorted(doc["services"].items())
    )
    return EndpointIndex(str(doc.get("botocore_version", "")), services)


def to_json(index: EndpointIndex) -> bytes:
    """The data file's bytes: one sorted object, stable across runs."""
    doc = {
        "botocore_version": index.botocore_version,
        "services": {s.name: [s.endpoint_prefix, s.signing_name] for s in index.services},
    }
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


@functools.cache
def shipped() -> EndpointIndex:
    """The index bundled with the package (a few milliseconds to read)."""
    data = importlib.resources.files("diagnostics") / "data" / DATA_NAME
    return _from_json(orjson.loads(data.read_bytes()))


def from_botocore() -> EndpointIndex:
    """The index of the installed botocore: reads every service model (seconds)."""
    import botocore
    import botocore.session

    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    services = []
    for name in session.get_available_services():
        meta = loader.load_service_model(name, "service-2").get("metadata", {})
        services.append(
            ServiceNames(
                name, str(meta.get("endpointPrefix") or ""), str(meta.get("signingName") or "")
            )
        )
    return EndpointIndex(botocore.__version__, tuple(sorted(services, key=lambda s: s.name)))
