"""The ``[metrics]`` table of the watch config: where ``/metrics`` listens, if anywhere.

Off by default.  ``listen`` must be a loopback address unless
``allow_remote = true``: the endpoint has no authentication, and it tells
whoever reaches it the names of your sources and sinks and how many
authorization failures each produced.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from diagnostics.errors import ConfigError

if TYPE_CHECKING:
    from diagnostics.service.config import ConfigTable

#: The address examples and error messages show; nothing listens unless configured.
EXAMPLE_LISTEN = "127.0.0.1:9464"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """``host``/``port`` to serve ``/metrics`` on; ``host`` None means off."""

    host: str | None = None
    port: int = 0
    allow_remote: bool = False

    @property
    def enabled(self) -> bool:
        return self.host is not None

    @property
    def listen(self) -> str:
        host = self.host or ""
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"


def split_listen(text: str, where: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` or ``"[::1]:9464"`` as (host, port); ConfigError otherwise."""
    example = f'e.g. listen = "{EXAMPLE_LISTEN}"'
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"{where}: key 'listen' {text!r} must be HOST:PORT; {example}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ConfigError(
            f"{where}: key 'listen' {text!r}: write an IPv6 address in brackets, "
            'e.g. listen = "[::1]:9464"'
        )
    port = int(port_text)
    if port > 65535:
        raise ConfigError(f"{where}: key 'listen' port {port} is above 65535; {example}")
    return host, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: where it resolves is not ours to promise


def parse_metrics(t: ConfigTable) -> MetricsConfig:
    listen = t.text("listen")
    allow_remote = t.flag("allow_remote", False)
    t.finish()
    if listen is None:
        return MetricsConfig(allow_remote=allow_remote)
    host, port = split_listen(listen, t.where)
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            f"{t.where}: key 'listen' {listen!r} is not a loopback address; /metrics has no "
            "authentication and shows your source and sink names and failure counts to "
            f'whoever reaches it.  Keep listen = "{EXAMPLE_LISTEN}" and scrape from this '
            "host, or set allow_remote = true and restrict the port with a firewall"
        )
    return MetricsConfig(host=host, port=port, allow_remote=allow_remote)
