"""The ``[metrics]`` table of the watch config: where ``/metrics`` listens, if anywhere.

Off by default.  ``listen`` must be a loopback address unless
``allow_remote = true``: the endpoint has no authentication, and it tells
whoever reaches it the names of your sources and sinks and how many
authorization failures each produced.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from diagnostics.config import ConfigProblem, key

#: The address examples and error messages show; nothing listens unless configured.
EXAMPLE_LISTEN = "127.0.0.1:9464"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The ``[metrics]`` table; ``host`` and ``port`` come from ``listen`` (None: off)."""

    listen: str | None = key(
        None,
        doc="HOST:PORT to serve /metrics on (unset: off); a loopback address unless "
        "allow_remote = true.",
        example=f'"{EXAMPLE_LISTEN}"',
    )
    allow_remote: bool = key(
        False, doc="Allow a non-loopback listen address (/metrics has no authentication).",
        example="true",
    )  # fmt: skip
    host: str | None = None
    port: int = 0

    @property
    def enabled(self) -> bool:
        return self.host is not None

    def config_checked(self, given: frozenset[str]) -> MetricsConfig:
        """Split ``listen`` into host and port; refuse a remote one unless allowed."""
        if self.listen is None:
            return self
        host, port = split_listen(self.listen)
        if not is_loopback(host) and not self.allow_remote:
            raise ConfigProblem(
                f"key 'listen' {self.listen!r} is not a loopback address; /metrics has no "
                "authentication and shows your source and sink names and failure counts to "
                f'whoever reaches it.  Keep listen = "{EXAMPLE_LISTEN}" and scrape from this '
                "host, or set allow_remote = true and restrict the port with a firewall"
            )
        return replace(self, host=host, port=port)


def split_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` or ``"[::1]:9464"`` as (host, port); ConfigError otherwise."""
    example = f'e.g. listen = "{EXAMPLE_LISTEN}"'
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigProblem(f"key 'listen' {text!r} must be HOST:PORT; {example}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ConfigProblem(
            f"key 'listen' {text!r}: write an IPv6 address in brackets, "
            'e.g. listen = "[::1]:9464"'
        )
    port = int(port_text)
    if port > 65535:
        raise ConfigProblem(f"key 'listen' port {port} is above 65535; {example}")
    return host, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: where it resolves is not ours to promise
