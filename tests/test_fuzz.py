"""Fuzzing every parser with hypothesis: nothing crashes, only the documented errors escape.

Profiles: ``ci`` (the default, 250 examples per test, all together well under 30 s) and
``deep`` (100,000 examples per test)::

    HYPOTHESIS_PROFILE=deep pytest -q -p no:cacheprovider --timeout=0 tests/test_fuzz.py

The profiles are applied per test (``@FUZZ``), never loaded globally, so the
other hypothesis tests in the suite keep their own settings.
"""

from __future__ import annotations

import json
import os
import resource
import string
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics.errors import ConfigError, DecodeError, InputError, RuleError
from diagnostics.extract import Extractor, extract_text, failure_from_record, failures_from_document
from diagnostics.model import InputStats, SourceRef
from diagnostics.request.context import DecodedMessageError, build_context, enrich, parse_decoded

# 250 examples each: the mutations reach past the first checks within that (the
# WORDS above), and hypothesis replays any failure it saved; ``deep`` is for hunting.
settings.register_profile(
    "ci", max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep",
    max_examples=100_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Words the parsers look for, so generated input reaches past the first check.
WORDS = [
    "User: arn:aws:iam::123456789012:user/a", " is not authorized to perform: ",
    "s3:GetObject", " on resource: ", "arn:aws:s3:::b/k", " because ",
    "no identity-based policy allows the s3:GetObject action", " with an explicit deny in a ",
    "Encoded authorization failure message: ", "AccessDenied", "UnauthorizedOperation",
    "(AccessDenied) when calling the GetObject operation", "api error AccessDenied:",
    '{"allowed":false,"explicitDeny":true,', '"context":{', "}", "\n", "\r\n", "\x00",
    "\x1b[31m", "\\n", "\\u0041", "Status Code: 403", "==> ", "│ Error: ", "\xff", "\udcff",
]  # fmt: skip
TEXT = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=30)), max_size=40).map("".join)
BYTES = st.one_of(
    st.binary(max_size=2000),
    TEXT.map(lambda t: t.encode("utf-8", "surrogateescape")),
)
SOURCE = SourceRef(path="fuzz.json")

JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
    st.sampled_from(["AccessDenied", "Client.UnauthorizedOperation", "s3.amazonaws.com",
                     "GetObject", "123456789012", "arn:aws:s3:::b"]),
)  # fmt: skip
JSON = st.recursive(
    JSON_LEAF,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "Records",
                    "detail",
                    "eventSource",
                    "eventName",
                    "errorCode",
                    "errorMessage",
                    "userIdentity",
                    "arn",
                    "accountId",
                    "recipientAccountId",
                    "awsRegion",
                    "eventID",
                    "resources",
                    "ARN",
                    "requestParameters",
                    "x",
                ]
            ),
            kids,
            max_size=6,
        ),
    ),
    max_leaves=25,
)


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@FUZZ
@given(data=BYTES, cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=6))
def test_extractor_survives_any_bytes_fed_in_any_chunks(data: bytes, cuts: list[int]) -> None:
    """Arbitrary bytes in arbitrary chunks never raise, and what is rejected names its origin."""
    stats = InputStats()
    ex = Extractor("fuzz.log", stats=stats, max_line_bytes=1024)
    out = []
    pos = 0
    for cut in sorted(cuts):
        out += ex.feed(data[pos:cut])
        pos = max(pos, cut)
        assert ex.safe_offset <= len(data)
    out += ex.feed(data[pos:])
    out += ex.finish()
    assert stats.bytes_read in (0, len(data))
    for f in out:
        assert f.source.path == "fuzz.log"
    for w in stats.warnings:
        assert "fuzz.log" in w


@FUZZ
@given(text=TEXT)
def test_plain_message_parsing_never_raises(text: str) -> None:
    """extract_text over generated log text returns failures or nothing, never an exception."""
    stats = InputStats()
    for f in extract_text(text, "fuzz.txt", stats):
        assert f.source.path == "fuzz.txt"
        # Hostile text never sneaks a line break into a single-line field.
        for value in (f.action, f.principal_arn, f.account_id):
            assert value is None or "\n" not in value


@FUZZ
@given(doc=JSON)
def test_cloudtrail_documents_and_records_never_raise(doc: Any) -> None:
    """Any JSON shape through the document and record parsers: failures or nothing."""
    for f in failures_from_document(doc, SOURCE):
        assert f.error_code is None or isinstance(f.error_code, str)
    if isinstance(doc, dict):
        failure_from_record(doc, SOURCE)


@FUZZ
@given(value=st.one_of(JSON, TEXT, BYTES))
def test_decoded_messages_parse_or_raise_the_documented_error(value: Any) -> None:
    """parse_decoded takes any value: a dict, or DecodedMessageError saying why."""
    failure = extract_text(
        "User: arn:aws:iam::123456789012:user/a is not authorized to perform: s3:GetObject "
        "on resource: arn:aws:s3:::b/k"
    )[0]
    raw = value if isinstance(value, (str, bytes)) else json.dumps(value)
    try:
        decoded = parse_decoded(raw)
    except DecodedMessageError as exc:
        assert str(exc)
        return
    build_context(enrich(failure, decoded), decoded)


RULE_KEYS = ["id", "title", "severity", "status", "match", "explanation", "fix", "action",
             "resource", "decision", "statements", "when", "note", "cases", "kind"]  # fmt: skip
TOML_VALUE = st.one_of(
    st.text(alphabet=string.printable, max_size=12).map(lambda s: orjson.dumps(s).decode()),
    st.integers(-5, 5).map(str),
    st.sampled_from(["true", "[]", '["s3:*"]', "{}", '{ action = "s3:Get*" }', '"high"',
                     '"stable"', '"core.x"', "[[", "=", '"""', "1979-05-27"]),
)  # fmt: skip


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(RULE_KEYS), TOML_VALUE).map(lambda kv: f"{kv[0]} = {kv[1]}"),
            st.sampled_from(["[match]", "[[fix]]", "[[cases]]", "[fix.statement]", ""]),
            st.text(max_size=20),
        ),
        max_size=12,
    )
)
def test_rule_files_load_or_raise_rule_error(lines: list[str]) -> None:
    """A generated rule file loads or RuleError names it; lint never crashes and names it too."""
    from diagnostics.rules import RuleSet, lint

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "fuzz.toml").write_text("\n".join(lines), encoding="utf-8", errors="replace")
        try:
            RuleSet.load([Path(tmp)])
        except RuleError as exc:
            assert "fuzz.toml" in str(exc), str(exc)
        problems = lint([Path(tmp)])
        # Each problem line says where it is (the old isinstance check could not fail).
        assert all("fuzz.toml" in p for p in problems), problems


CONFIG_KEYS = ["state_dir", "drain_timeout", "poll_interval", "rules_dirs", "type", "paths",
               "name", "format", "path", "detail", "group_wait", "enabled", "max_line_bytes",
               "webhook_url_env", "start_at", "endpoint_url", "follow_symlinks"]  # fmt: skip


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(CONFIG_KEYS), TOML_VALUE).map(
                lambda kv: f"{kv[0]} = {kv[1]}"
            ),
            st.sampled_from(
                [
                    "[decode]",
                    "[alerts]",
                    "[limits]",
                    "[[source]]",
                    "[[sink]]",
                    'type = "file"',
                    'type = "stdout"',
                    'paths = ["/x/*.log"]',
                ]
            ),
            st.binary(max_size=10).map(lambda b: b.decode("latin-1")),
        ),
        max_size=14,
    )
)
def test_watch_config_loads_or_raises_config_error(lines: list[str]) -> None:
    """A generated watch config loads or raises ConfigError naming the file; nothing else."""
    from diagnostics.service.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "watch.toml"
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogateescape")
        try:
            load_config(path)
        except ConfigError as exc:
            assert str(path) in str(exc)
        except UnicodeEncodeError:  # the generator wrote a lone surrogate; not a config
            pass


def test_fuzzing_memory_stays_bounded() -> None:
    """200 KB of random bytes through the extractor in small chunks adds little to peak RSS."""
    rng = __import__("random").Random(7)
    before = _rss_kb()
    ex = Extractor("big.log", max_line_bytes=4096)
    for _ in range(50):
        ex.feed(rng.randbytes(4096))
    ex.finish()
    # The extractor holds at most a line (4 KB) plus its look-back; never the input.
    assert _rss_kb() - before < 50_000


def test_documented_errors_are_diagnostics_errors() -> None:
    """The errors the fuzzers accept are the project's own, with what-to-do messages."""
    for err in (ConfigError, DecodeError, InputError, RuleError):
        assert err.__module__ == "diagnostics.errors"
    assert tomllib  # the config and rules loaders parse TOML with the standard library
