"""Decoder: real boto3 calls over HTTP against the loopback STS double."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from diagnostics.decode import DecodeCache, Decoder, DecodeSettings
from diagnostics.errors import ConfigError
from diagnostics.lookup.key import LookupKey
from diagnostics.model import Failure, SourceRef
from diagnostics.support.state import StateDB
from diagnostics.testing import StsDouble, decoded_message, fake_blob

BASE_KEY = "AKIAEXAMPLEBASE00001"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake base credentials; no shared config, no instance metadata lookups."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", BASE_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink botocore's retry backoff (1 s base for throttling) so retries run fast."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(
        ExponentialBackoff,
        "_DEFAULT_BACKOFF_CONFIG",
        {"throttling_base_scale": 0.01, "non_throttling_base_scale": 0.005},
    )


@pytest.fixture
def sts() -> Iterator[StsDouble]:
    with StsDouble(default=lambda blob, call: decoded_message(resource=f"arn:x:{blob[:8]}")) as d:
        yield d


def settings(sts: StsDouble, **kw: object) -> DecodeSettings:
    values: dict[str, object] = {
        "endpoint_url": sts.endpoint_url,
        "max_per_second": 1000.0,
        "retry_mode": "standard",
        "timeout": 5.0,
    }
    values.update(kw)
    return DecodeSettings(**values)  # type: ignore[arg-type]


def encoded(blob: str, line: int = 1, **kw: object) -> Failure:
    return Failure("encoded", SourceRef("-", line), encoded_message=blob, **kw)  # type: ignore[arg-type]


def test_success_returns_the_parsed_message(sts: StsDouble) -> None:
    """An encoded failure comes back with its DecodedMessage parsed into an object."""
    blob = fake_blob(1)
    sts.add_message(blob, decoded_message(action="ec2:RunInstances"))
    with Decoder(settings(sts)) as decoder:
        result = decoder.decode(encoded(blob))
    assert result.error is None
    assert result.decoded is not None
    assert result.decoded["context"]["action"] == "ec2:RunInstances"
    assert [c.access_key_id for c in sts.calls] == [BASE_KEY]
    assert decoder.stats.calls == 1
    assert decoder.stats.decoded == 1


def test_throttling_then_success_retries(sts: StsDouble) -> None:
    """Two Throttling answers are retried by botocore and the third attempt decodes."""
    blob = fake_blob(2)
    sts.fail_next("throttle", 2)
    with Decoder(settings(sts)) as decoder:
        result = decoder.decode(encoded(blob))
    assert result.decoded is not None
    assert [(c.encoded_message, c.error_code) for c in sts.calls] == [
        (blob, "Throttling"),
        (blob, "Throttling"),
        (blob, None),
    ]


def test_throttling_with_adaptive_mode_recovers(sts: StsDouble) -> None:
    """The default adaptive retry mode also gets through a throttle to the answer."""
    sts.fail_next("throttle", 1)
    with Decoder(settings(sts, retry_mode="adaptive")) as decoder:
        result = decoder.decode(encoded(fake_blob(3)))
    assert result.decoded is not None
    assert sts.call_count() == 2


def test_throttled_beyond_retries_says_what_to_do(sts: StsDouble) -> None:
    """Throttling on every attempt gives an error naming the attempts and the rate knob."""
    sts.fail_next("throttle", None)
    with Decoder(settings(sts, max_attempts=3, max_per_second=7)) as decoder:
        result = decoder.decode(encoded(fake_blob(4)))
        again = decoder.decode(encoded(fake_blob(4)))
    assert result.decoded is None
    assert result.error is not None
    assert "throttling" in result.error
    assert "after 3 attempts" in result.error
    assert "max_per_second, now 7" in result.error
    # Throttling says nothing about the blob, so it is not cached: the next try calls again.
    assert again.error == result.error
    assert sts.call_count() == 6
    assert decoder.stats.errors == {"throttled": 2}


def test_access_denied_gives_the_statement(sts: StsDouble) -> None:
    """AccessDenied on the decode names the caller and prints the exact statement to add."""
    sts.fail_next("access_denied")
    blob = fake_blob(5)
    with Decoder(settings(sts)) as decoder:
        result = decoder.decode(encoded(blob))
    assert result.error is not None
    assert sts.base_identity in result.error
    assert '"Action": "sts:DecodeAuthorizationMessage"' in result.error
    assert '"Resource": "*"' in result.error
    assert "--no-decode" in result.error
    assert blob not in result.error


def test_access_denied_for_assumed_role_names_the_role(sts: StsDouble) -> None:
    """When the base identity is a role session, the statement goes to the role, not the session."""
    sts.base_identity = "arn:aws:sts::123456789012:assumed-role/Daemon/i-0abc"
    sts.fail_next("access_denied")
    with Decoder(settings(sts)) as decoder:
        result = decoder.decode(encoded(fake_blob(6)))
    assert result.error is not None
    assert "identity policy of arn:aws:iam::123456789012:role/Daemon" in result.error


@pytest.mark.parametrize("kind", ["invalid", "expired"])
def test_invalid_or_expired_message(sts: StsDouble, kind: str) -> None:
    """An invalid or expired message says so and tells the user to get a fresh one."""
    sts.fail_next(kind)  # type: ignore[arg-type]
    with Decoder(settings(sts)) as decoder:
        result = decoder.decode(encoded(fake_blob(7)))
    assert result.error is not None
    assert "invalid or expired" in result.error
    assert "re-run the failing command" in result.error
    assert decoder.stats.errors == {"invalid": 1}


def test_internal_error_then_success(sts: StsDouble) -> None:
    """Two 500 answers are retried and the third attempt decodes."""
    sts.fail_next("internal_error", 2)
    with Decoder(settings(sts)) as decoder:
        result = decoder.decode(encoded(fake_blob(8)))
    assert result.decoded is not None
    assert [c.status for c in sts.calls] == [500, 500, 200]


def test_persistent_5xx_is_reported_as_aws_side(sts: StsDouble) -> None:
    """5xx on every attempt gives an error that names the code and says to retry later."""
    sts.fail_next("unavailable", None)
    with Decoder(settings(sts, max_attempts=2)) as decoder:
        result = decoder.decode(encoded(fake_blob(9)))
    assert result.error is not None
    assert "ServiceUnavailable" in result.error
    assert "retry later" in result.error


def test_hanging_endpoint_times_out_with_advice() -> None:
    """An STS endpoint that never answers gives an 'could not reach' error after the timeout."""
    with StsDouble(hang_seconds=10) as sts:
        url = sts.endpoint_url
        sts.fail_next("hang", None)
        with Decoder(settings(sts, timeout=0.3, max_attempts=2)) as decoder:
            result = decoder.decode(encoded(fake_blob(10)))
    assert result.error is not None
    assert result.error.startswith(f"could not reach {url}")
    assert "ReadTimeout" in result.error
    assert "--no-decode" in result.error
    assert sts.call_count() == 2


def test_unreachable_endpoint() -> None:
    """A closed port gives the same actionable 'could not reach' error."""
    with StsDouble() as sts:
        url = sts.endpoint_url
    s = DecodeSettings(endpoint_url=url, retry_mode="standard", max_attempts=1, timeout=1)
    with Decoder(s) as decoder:
        result = decoder.decode(encoded(fake_blob(11)))
    assert result.error is not None
    assert result.error.startswith(f"could not reach {url}")


def test_no_credentials_is_clear_and_makes_no_call(
    sts: StsDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without credentials the error explains how to configure them, and STS is not called."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with Decoder(settings(sts)) as decoder:
        result = decoder.decode(encoded(fake_blob(12)))
    assert result.error is not None
    for advice in ("aws configure", "AWS_PROFILE", "--profile", "instance", "--no-decode"):
        assert advice in result.error
    assert sts.call_count(None) == 0
    assert decoder.stats.errors == {"no_credentials": 1}


def test_unknown_profile_is_named(sts: StsDouble) -> None:
    """A --profile that does not exist is named in the error, with the same advice."""
    with Decoder(settings(sts, profile="nosuch")) as decoder:
        result = decoder.decode(encoded(fake_blob(13)))
    assert result.error is not None
    assert "'nosuch'" in result.error
    assert "aws configure" in result.error
    assert sts.call_count(None) == 0


def test_failures_that_need_no_sts_call(sts: StsDouble) -> None:
    """Decoded, plain, truncated, too long and non-base64url failures never reach STS."""
    inline = decoded_message(action="s3:PutObject")
    with Decoder(settings(sts)) as decoder:
        already = decoder.decode(Failure("decoded", SourceRef("-"), decoded=inline))
        plain = decoder.decode(Failure("plain", SourceRef("-"), action="s3:GetObject"))
        cut = decoder.decode(encoded(fake_blob(14), truncated=True))
        long = decoder.decode(encoded("A" * 10_241))
        wrapped = decoder.decode(encoded("abc\ndef"))
    assert already.decoded == inline
    assert already.error is None
    assert plain.decoded is None
    assert plain.error is None
    assert cut.error is not None
    assert "cut off" in cut.error
    assert "original output" in cut.error
    assert long.error is not None
    assert "10,241 characters" in long.error
    assert wrapped.error is not None
    assert "base64url" in wrapped.error
    assert sts.call_count(None) == 0
    assert decoder.stats.errors == {"truncated": 1, "malformed": 2}


def test_decode_many_keeps_order_with_concurrency(sts: StsDouble) -> None:
    """Results come back in input order although later ones finish first."""
    blobs = [fake_blob(i) for i in range(40)]
    release = threading.Event()

    def answer(blob: str, call: object) -> dict[str, object]:
        if blob == blobs[0]:
            release.wait(2)  # the first answer waits until others have finished
        elif blob == blobs[20]:
            release.set()
        return decoded_message(resource=f"arn:aws:s3:::b/{blobs.index(blob)}")

    with StsDouble(default=answer) as double, Decoder(settings(double, concurrency=8)) as d:
        out = list(d.decode_many(encoded(b, i) for i, b in enumerate(blobs)))
        order = [c.encoded_message for c in double.calls]
    assert [f.encoded_message for f, _ in out] == blobs
    assert [r.decoded["context"]["resource"] for _, r in out if r.decoded] == [
        f"arn:aws:s3:::b/{i}" for i in range(40)
    ]
    # The double logs calls as it answers them: the first blob was answered after the 21st.
    assert order.index(blobs[0]) > order.index(blobs[20])


def test_same_blob_is_decoded_once_across_decode_many(sts: StsDouble) -> None:
    """The same blob many times in one run makes one STS call; the rest are cache hits."""
    sts.latency = 0.05
    blob = fake_blob(15)
    failures = [encoded(blob, i) for i in range(12)] + [encoded(fake_blob(16), 99)]
    with Decoder(settings(sts, concurrency=8)) as decoder:
        out = list(decoder.decode_many(failures))
    assert sts.call_count() == 2
    assert all(r.decoded for _, r in out)
    assert sum(r.cached for _, r in out) == 11
    assert decoder.stats.cache_hits == 11


def test_decode_many_holds_a_bounded_window(sts: StsDouble) -> None:
    """decode_many pulls at most 4 x concurrency failures ahead of what it has yielded."""
    pulled = 0

    def source() -> Iterator[Failure]:
        nonlocal pulled
        for i in range(100):
            pulled += 1
            yield encoded(fake_blob(f"w{i}", 600), i)

    lead = 0
    with Decoder(settings(sts, concurrency=3)) as decoder:
        for n, _ in enumerate(decoder.decode_many(source()), start=1):
            lead = max(lead, pulled - n)
    assert n == 100
    assert lead <= 12


def test_negative_result_is_cached(sts: StsDouble) -> None:
    """An invalid message is remembered: asking again makes no second call."""
    sts.fail_next("invalid")
    blob = fake_blob(17)
    with Decoder(settings(sts)) as decoder:
        first = decoder.decode(encoded(blob))
        second = decoder.decode(encoded(blob))
    assert first.error == second.error
    assert second.cached
    assert sts.call_count() == 1


def test_negative_entry_expires_sooner(sts: StsDouble) -> None:
    """A negative entry lives negative_ttl seconds of the cache clock, then STS is asked again."""
    now = [1_000_000.0]
    cache = DecodeCache(clock=lambda: now[0])
    sts.fail_next("invalid")
    blob = fake_blob(18)
    with Decoder(settings(sts, negative_ttl=600), cache) as decoder:
        decoder.decode(encoded(blob))
        now[0] += 599
        assert decoder.decode(encoded(blob)).cached
        now[0] += 2
        result = decoder.decode(encoded(blob))
    assert result.decoded is not None
    assert sts.call_count() == 2


def test_cache_survives_reopening_the_state_db(sts: StsDouble, tmp_path: Path) -> None:
    """Blobs decoded once are answered from the state database after a restart, with no call."""
    blobs = [fake_blob(f"p{i}") for i in range(5)]
    db = StateDB.in_dir(tmp_path)
    with Decoder(settings(sts), DecodeCache(db)) as decoder:
        first = [r for _, r in decoder.decode_many(encoded(b) for b in blobs)]
    db.close()
    assert sts.call_count() == 5

    db = StateDB.in_dir(tmp_path)
    with Decoder(settings(sts), DecodeCache(db)) as decoder:
        second = [r for _, r in decoder.decode_many(encoded(b) for b in blobs)]
    db.close()
    assert sts.call_count() == 5
    assert [r.decoded for r in second] == [r.decoded for r in first]
    assert all(r.cached for r in second)
    stored = (tmp_path / "state.sqlite3").read_bytes()
    assert blobs[0].encode() not in stored  # keyed by hash: blobs never land on disk


def test_rate_limit_is_respected_at_the_double(sts: StsDouble) -> None:
    """No one-second window at STS sees more than max_per_second (+1 burst), retries included."""
    rate = 20.0
    sts.fail_next("throttle", 5)
    # Enough attempts that the 5 throttles, however they fall on the 8 threads,
    # never use up one blob's retries: this test is about the rate.
    with Decoder(settings(sts, max_per_second=rate, concurrency=8, max_attempts=6)) as decoder:
        out = list(decoder.decode_many(encoded(fake_blob(f"r{i}")) for i in range(45)))
    assert all(r.decoded for _, r in out)
    stamps = sorted(c.received_at for c in sts.calls)
    assert len(stamps) == 50
    busiest = max(sum(1 for t in stamps[i:] if t < start + 1.0) for i, start in enumerate(stamps))
    # +1 for the bucket's burst, +1 for scheduling jitter: on a loaded CI
    # machine the double's threads can stamp two requests sent 50 ms apart
    # together.  Without the limiter all 50 land within a fraction of a second.
    assert busiest <= rate + 2
    assert stamps[-1] - stamps[0] >= (50 - 1 - 1) / rate * 0.9


def test_settings_are_validated() -> None:
    """Bad settings are refused with a message that shows the expected form."""
    with pytest.raises(ConfigError, match=r"\{account\}"):
        DecodeSettings(role_arn_template="arn:aws:iam::123456789012:role/Decoder")
    with pytest.raises(ConfigError, match="max_per_second"):
        DecodeSettings(max_per_second=0)
    with pytest.raises(ConfigError, match="session_name"):
        DecodeSettings(session_name="has space")
    assert DecodeSettings().session_name.startswith("authz-diag-")


def test_scan_with_nothing_to_decode_never_imports_boto3() -> None:
    """A decoder fed only failures that need no call leaves boto3 and botocore unimported."""
    code = """
import sys
from diagnostics.decode import Decoder, DecodeSettings
from diagnostics.model import Failure, SourceRef
import diagnostics.testing
d = Decoder(DecodeSettings())
fs = [Failure("plain", SourceRef("-")), Failure("encoded", SourceRef("-"), encoded_message="ab",
      truncated=True), Failure("decoded", SourceRef("-"), decoded={"allowed": False})]
assert len(list(d.decode_many(fs))) == 3
d.close()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_expired_decoded_messages_leave_the_disk_while_running(tmp_path: Path) -> None:
    """A long-running daemon sweeps expired rows hourly, not only at the next restart."""
    from diagnostics.decode.cache import PRUNE_EVERY
    from diagnostics.support.state import StateDB

    now = [1_000_000.0]
    db = StateDB.in_dir(tmp_path)
    cache = DecodeCache(db, ttl=60.0, clock=lambda: now[0])
    cache.put_decoded(LookupKey("", "old-blob"), {"allowed": False})
    now[0] += PRUNE_EVERY + 1  # the old row expired long ago
    cache.put_decoded(LookupKey("", "new-blob"), {"allowed": False})
    rows = db.query("SELECT count(*) FROM decode_cache")
    assert rows == [(1,)]
