"""The one-pass marker searches and the bytes.find fallback pick exactly the same lines."""

from __future__ import annotations

import importlib.util

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.extract.inputs.marker_backends import ORDER, available, compiled
from diagnostics.extract.inputs.markers import MARKERS, marker_lines

PIECES = [*MARKERS, b"\n", b"x" * 50, b"uthori", b"Access", b"error", b"\n\n", b"y" * 3000]


BACKENDS = [name for name, _ in ORDER if compiled(MARKERS, name).find is not None]


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.sampled_from(PIECES), max_size=80),
    max_line=st.sampled_from([16, 64, 1024, 1 << 20]),
    cut=st.integers(min_value=0, max_value=1 << 16),
)
def test_one_pass_equals_find(backend: str, parts: list[bytes], max_line: int, cut: int) -> None:
    """For any buffer, end and line bound, every matcher returns the find loop's line starts."""
    buf = bytearray(b"".join(parts))
    end = min(cut, len(buf))
    fast = marker_lines(buf, end, max_line, backend=backend)
    slow = marker_lines(buf, end, max_line, one_pass=False)
    assert fast == slow
    buf += b"still resizable"  # the search released its view of the buffer


def test_fallback_finds_marker_lines() -> None:
    """Without the compiled matcher, each line holding a marker is found once, in order."""
    buf = bytearray(b"a\nx uthoriz uthoriz\nb\nAccessDenied errorCode\nexplicitDeny")
    assert marker_lines(buf, len(buf), 1024, one_pass=False) == [2, 22, 45]
    assert marker_lines(buf, 40, 1024, one_pass=False) == [2, 22]
    assert marker_lines(buf, 30, 1024, one_pass=False) == [2]  # a marker cut by the end


def test_the_fastest_installed_matcher_runs_and_is_named() -> None:
    """Hyperscan runs where its wheel installed (else ahocorasick-rs), as --version names it."""
    expected = "hyperscan" if importlib.util.find_spec("hyperscan") else "ahocorasick-rs"
    assert "ahocorasick-rs" in BACKENDS
    assert compiled(MARKERS).name == available() == expected


def test_an_unknown_backend_falls_back_to_find() -> None:
    """Asking for a matcher that is not installed gives the find loop, with the same lines."""
    assert compiled(MARKERS, "no-such-lib").find is None
    buf = bytearray(b"a\nx uthoriz\n")
    assert marker_lines(buf, len(buf), 1024, backend="no-such-lib") == [2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_matchers_are_safe_across_threads(backend: str) -> None:
    """Sources scanning on several threads at once each get every line (no shared scratch)."""
    import threading

    buf = bytearray(b"".join(b"line %d uthoriz\nnoise\n" % n for n in range(2000)))
    want = marker_lines(buf, len(buf), 1024, one_pass=False)
    results: list[list[int]] = []

    def scan() -> None:
        for _ in range(20):
            results.append(marker_lines(buf, len(buf), 1024, backend=backend))

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and all(r == want for r in results)
