"""Noise lines that look like real application and CI logs, and near-misses.

Near-misses contain words a careless matcher would take for an AWS
authorization failure ("access denied", "Forbidden", "is not authorized to
perform this action") but are not one; a correct scan reports none of them.
"""

from __future__ import annotations

import random
from collections.abc import Callable

PATHS = ("/api/v1/orders", "/api/v1/payments", "/healthz", "/metrics", "/login", "/static/app.js")
AGENTS = ("Mozilla/5.0 (X11; Linux x86_64)", "kube-probe/1.29", "curl/8.5.0", "Go-http-client/2.0")
LOGGERS = ("orders.worker", "payments.api", "ingest.consumer", "billing.cron", "http.access")
WORDS = (
    "processed",
    "batch",
    "committed",
    "offset",
    "cache",
    "refreshed",
    "retrying",
    "connection",
    "pool",
    "resized",
    "scheduled",
    "job",
    "completed",
    "flushed",
    "segment",
    "rotated",
)


def _clock(n: int) -> str:
    # A plausible, monotonic time of day from the line number (50 lines a second).
    sec = 9 * 3600 + n // 50
    return f"{sec // 3600 % 24:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{n % 1000:03d}"


def _nginx(rng: random.Random, n: int) -> str:
    status = rng.choice((200, 200, 200, 200, 201, 204, 301, 304, 404, 500))
    return (
        f"10.0.{rng.randrange(256)}.{rng.randrange(256)} - - [27/Nov/2026:{_clock(n)[:8]} +0000] "
        f'"GET {rng.choice(PATHS)}/{rng.randrange(100000)} HTTP/1.1" {status} '
        f'{rng.randrange(50, 90000)} "-" "{rng.choice(AGENTS)}"'
    )


def _python(rng: random.Random, n: int) -> str:
    level = rng.choice(("INFO", "INFO", "INFO", "DEBUG", "WARNING"))
    words = " ".join(rng.choices(WORDS, k=rng.randint(3, 9)))
    return (
        f"2026-11-27 {_clock(n)} {level} [{rng.choice(LOGGERS)}] {words} "
        f"id={rng.getrandbits(48):012x} items={rng.randrange(500)} in {rng.random() * 90:.1f}ms"
    )


def _json(rng: random.Random, n: int) -> str:
    return (
        f'{{"level":"info","time":"2026-11-27T{_clock(n)}Z","logger":"{rng.choice(LOGGERS)}",'
        f'"msg":"request completed","path":"{rng.choice(PATHS)}","status":200,'
        f'"duration_ms":{rng.random() * 40:.2f},"trace_id":"{rng.getrandbits(64):016x}"}}'
    )


def _java(rng: random.Random, n: int) -> str:
    cls = rng.choice(("OrderService", "PaymentGateway", "LedgerWriter", "RetryTemplate"))
    return f"\tat com.acme.{cls.lower()}.{cls}.process({cls}.java:{rng.randrange(30, 900)})"


def _ci(rng: random.Random, n: int) -> str:
    step = rng.choice(
        (
            "Initializing provider plugins...",
            '- Finding hashicorp/aws versions matching "~> 5.0"...',
            "Refreshing state...",
            f"aws_s3_bucket.logs[{rng.randrange(40)}]: Refreshing state... [id=acme-logs]",
            f"##[group]Run make test SHARD={rng.randrange(8)}",
            f"ok  \tgithub.com/acme/orders/internal/store\t{rng.random() * 3:.3f}s",
        )
    )
    return f"2026-11-27T{_clock(n)}Z {step}"


def _k8s(rng: random.Random, n: int) -> str:
    return (
        f"I1127 {_clock(n)}     {rng.randrange(1, 40)} controller.go:{rng.randrange(100, 400)}] "
        f'"Reconciled" object="default/orders-{rng.getrandbits(20):05x}" '
        f"duration={rng.random():.3f}s"
    )


# -- near-misses -------------------------------------------------------------


def _nm_nginx_403(rng: random.Random, n: int) -> str:
    return (
        f'10.0.9.{rng.randrange(256)} - - [27/Nov/2026:{_clock(n)[:8]} +0000] "GET /admin '
        f'HTTP/1.1" 403 153 "-" "{rng.choice(AGENTS)}" access denied by rule'
    )


def _nm_spring(rng: random.Random, n: int) -> str:
    return (
        f"2026-11-27 {_clock(n)} WARN [http-nio-8080-exec-{rng.randrange(20)}] "
        "o.s.s.w.a.ExceptionTranslationFilter: Access is denied (user is anonymous); "
        "org.springframework.security.access.AccessDeniedException: Access Denied"
    )


def _nm_rbac(rng: random.Random, n: int) -> str:
    return (
        'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:ci:'
        f'deployer-{rng.randrange(9)}" cannot list resource "pods" in API group "" in the '
        'namespace "orders"'
    )


def _nm_ci_user(rng: random.Random, n: int) -> str:
    # grep counts this line; an AWS failure it is not (no ARN, no service:Action).
    return (
        f"2026-11-27T{_clock(n)}Z ERROR: User {rng.choice(('bob', 'carol', 'ci'))} is not "
        "authorized to perform this action. Ask a project maintainer for the Developer role."
    )


def _nm_postgres(rng: random.Random, n: int) -> str:
    return (
        f"2026-11-27 {_clock(n)} UTC [{rng.randrange(1000, 9999)}] app@orders ERROR:  "
        "permission denied for table invoices"
    )


NoiseMaker = Callable[[random.Random, int], str]

#: name -> (weight, maker); weights sum to about a thousand.
NOISE: dict[str, tuple[int, NoiseMaker]] = {
    "nginx": (300, _nginx),
    "python": (300, _python),
    "json": (200, _json),
    "java_frame": (80, _java),
    "ci": (60, _ci),
    "k8s": (55, _k8s),
}
NEAR_MISSES: dict[str, tuple[int, NoiseMaker]] = {
    "nm_nginx_403": (2, _nm_nginx_403),
    "nm_spring_access_denied": (1, _nm_spring),
    "nm_k8s_rbac_forbidden": (1, _nm_rbac),
    "nm_ci_not_authorized": (1, _nm_ci_user),
    "nm_postgres_permission": (1, _nm_postgres),
}
