"""`[metrics]`: the watch daemon's /metrics endpoint, scraped over real HTTP on 127.0.0.1."""

from __future__ import annotations

import tomllib
import urllib.request
from pathlib import Path

import pytest
from test_watch_daemon import Daemon, append, file_source, line, write_config

from diagnostics.errors import ConfigError
from diagnostics.service.config import WatchConfig, parse_config
from diagnostics.testing.slack_receiver import SlackReceiver

ENCODED = (
    "2024-05-01T12:01:00Z terraform: Error: creating EC2 Instance: operation error EC2: "
    "RunInstances, https response error StatusCode: 403, RequestID: 5f1c, api error "
    "UnauthorizedOperation: You are not authorized to perform this operation. Encoded "
    "authorization failure message: Xy0-example-blob-that-is-long-enough-to-count-as-an-"
    "encoded-message-AAAABBBBCCCCDDDDEEEEFFFF\n"
)
NOISE = "2024-05-01T12:00:00Z app INFO all good\n"


def config_with(metrics: str) -> str:
    return f'{metrics}\n[[source]]\ntype = "stdin"\n[[sink]]\ntype = "stdout"\n'


def parsed(text: str) -> WatchConfig:
    return parse_config(tomllib.loads(text), Path("/etc/authz-diag/watch.toml"))


def test_metrics_are_off_unless_configured() -> None:
    """Without a [metrics] table nothing listens."""
    cfg = parse_config(tomllib.loads(config_with("")), Path("w.toml"))
    assert not cfg.metrics.enabled


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("[::1]:9464", "::1", 9464),
        ("localhost:0", "localhost", 0),
    ],
)
def test_loopback_listen_addresses_are_accepted(listen: str, host: str, port: int) -> None:
    """Loopback addresses (IPv4, bracketed IPv6, localhost) are accepted as given."""
    cfg = parse_config(
        tomllib.loads(config_with(f'[metrics]\nlisten = "{listen}"')), Path("w.toml")
    )
    assert (cfg.metrics.host, cfg.metrics.port) == (host, port)


def test_non_loopback_listen_is_refused_unless_allowed() -> None:
    """0.0.0.0 is refused with the reason and the way out; allow_remote = true accepts it."""
    with pytest.raises(ConfigError) as info:
        parsed(config_with('[metrics]\nlisten = "0.0.0.0:9464"'))
    text = str(info.value)
    assert "not a loopback address" in text
    assert "no authentication" in text
    assert "allow_remote = true" in text
    assert "[metrics]" in text
    cfg = parse_config(
        tomllib.loads(config_with('[metrics]\nlisten = "0.0.0.0:9464"\nallow_remote = true')),
        Path("w.toml"),
    )
    assert cfg.metrics.host == "0.0.0.0"


@pytest.mark.parametrize(
    ("listen", "says"),
    [
        ("9464", "must be HOST:PORT"),
        ("127.0.0.1:", "must be HOST:PORT"),
        ("127.0.0.1:99999", "above 65535"),
        ("::1:9464", "in brackets"),
        ("metrics.internal:9464", "not a loopback address"),
    ],
)
def test_bad_listen_values_say_what_to_write(listen: str, says: str) -> None:
    """A malformed or non-loopback listen value is an error naming the key and an example."""
    with pytest.raises(ConfigError, match=says) as info:
        parsed(config_with(f'[metrics]\nlisten = "{listen}"'))
    assert "key 'listen'" in str(info.value)


def test_unknown_metrics_key_is_an_error() -> None:
    """A typo in [metrics] is rejected, listing the keys it has."""
    with pytest.raises(ConfigError, match=r"unknown key 'port'.*allow_remote, listen"):
        parsed(config_with('[metrics]\nlisten = "127.0.0.1:9464"\nport = 1'))


def test_each_service_counts_in_its_own_registry() -> None:
    """Two services in one process do not share counters (no global registry)."""
    from prometheus_client import generate_latest

    from diagnostics.service.metrics import LiveView, ServiceMetrics

    def view() -> LiveView:
        return LiveView(sinks=list, sources=list, last_checkpoint=lambda: 0.0)

    a, b = ServiceMetrics(view()), ServiceMetrics(view())
    a.records("file-1", 3)
    assert b'authz_diag_records_total{source="file-1"} 3.0' in generate_latest(a.registry)
    assert b"authz_diag_records_total{" not in generate_latest(b.registry)


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics on 127.0.0.1 and parse it: (sample name, labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_scrape_after_appending_failures_counts_them(tmp_path: Path) -> None:
    """The real daemon's /metrics counts lines, failures, decodes, deliveries and the spool."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    log = logdir / "app.log"
    log.write_text("")
    with SlackReceiver() as rx:
        rx.fail(500, for_seconds=300)  # Slack is down: alerts wait in the spool
        cfg = write_config(
            tmp_path,
            file_source(logdir, "end"),
            extra='[metrics]\nlisten = "127.0.0.1:0"\n'
            '[[sink]]\ntype = "slack"\nwebhook_url_env = "TEST_SLACK_WEBHOOK"\n',
        )
        d = Daemon(tmp_path, cfg, env={"TEST_SLACK_WEBHOOK": rx.url})
        try:
            d.wait_ready()
            (event,) = [e for e in d.logs() if e.get("event") == "metrics listening"]
            port = int(event["port"])
            assert event["address"] == "127.0.0.1"
            append(log, NOISE + line(1) + ENCODED + line(2))
            d.wait_for(lambda: len(d.alerts) >= 3, what="three alerts")
            d.wait_for(
                lambda: scrape(port).get(("authz_diag_spool_depth", (("sink", "slack"),))) == 3,
                what="three Slack messages spooled",
            )
            m = scrape(port)
            rx.heal()
            d.wait_for(
                lambda: scrape(port).get(("authz_diag_spool_depth", (("sink", "slack"),))) == 0,
                timeout=30,
                what="the spool drained once Slack answers",
            )
        finally:
            assert d.stop() == 0, d.stderr()[-3000:]
    assert m[("authz_diag_records_total", (("source", "file-1"),))] == 4
    assert m[("authz_diag_failures_total", (("kind", "plain"),))] == 2
    assert m[("authz_diag_failures_total", (("kind", "encoded"),))] == 1
    assert m[("authz_diag_decodes_total", (("outcome", "disabled"),))] == 1
    assert m[("authz_diag_alerts_total", (("sink", "stdout"), ("status", "new")))] == 3
    assert m[("authz_diag_alerts_total", (("sink", "slack"), ("status", "new")))] == 3
    lag = m[("authz_diag_source_lag_seconds", (("source", "file-1"),))]
    assert 0 <= lag < 5, "a healthy file source is caught up within a few polls"
    assert 0 <= m[("authz_diag_checkpoint_age_seconds", ())] < 30
    assert m[("process_cpu_seconds_total", ())] > 0


ROOT = Path(__file__).resolve().parents[1]


def example_metrics_block() -> str:
    """The commented [metrics] table of systemd/config.example.toml, uncommented."""
    text = (ROOT / "systemd" / "config.example.toml").read_text()
    block = text.split("# [metrics]\n", 1)[1].split("\n\n", 1)[0]
    return "[metrics]\n" + "\n".join(x.removeprefix("# ") for x in block.splitlines())


def test_example_config_metrics_block_is_valid_and_matches_the_unit() -> None:
    """The documented [metrics] example parses, and the unit lets the daemon bind that port only."""
    cfg = parsed(config_with(example_metrics_block()))
    assert cfg.metrics.host == "127.0.0.1"
    unit = (ROOT / "systemd" / "authz-diagnostics.service").read_text()
    assert f"SocketBindAllow=tcp:{cfg.metrics.port}\n" in unit
    assert "SocketBindDeny=any\n" in unit


def test_port_in_use_stops_the_start_with_what_to_do(tmp_path: Path) -> None:
    """A taken [metrics] port fails the start with exit 2 and a message naming the fix."""
    import socket
    import subprocess

    from test_watch_daemon import watch_argv

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    logdir = tmp_path / "logs"
    logdir.mkdir()
    cfg = write_config(
        tmp_path, file_source(logdir), extra=f'[metrics]\nlisten = "127.0.0.1:{port}"\n'
    )
    try:
        proc = subprocess.run(
            [*watch_argv(), "watch", "--config", str(cfg)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        taken.close()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"[metrics] cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "choose another port" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_process_metrics_survive_a_hidden_proc_stat(tmp_path: Path) -> None:
    """Under ProcSubset=pid (/proc/stat hidden) the process metrics are still served."""
    import time

    from prometheus_client import CollectorRegistry
    from prometheus_client.parser import text_string_to_metric_families
    from prometheus_client.process_collector import ProcessCollector

    from diagnostics.service.metrics import process_collector

    proc = tmp_path / "proc"  # like the sandbox's /proc: this process only, no stat
    proc.mkdir()
    (proc / "self").symlink_to("/proc/self")

    def samples(registry: CollectorRegistry) -> dict[str, float]:
        from prometheus_client import generate_latest

        text = generate_latest(registry).decode()
        return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}

    plain = CollectorRegistry()
    ProcessCollector(proc=str(proc), registry=plain)
    assert "process_cpu_seconds_total" not in samples(plain), "the client alone reports nothing"
    ours = CollectorRegistry()
    process_collector(ours, proc=str(proc))
    got = samples(ours)
    assert got["process_cpu_seconds_total"] > 0
    assert abs(got["process_start_time_seconds"] - time.time()) < 3600
    assert got["process_resident_memory_bytes"] > 0
