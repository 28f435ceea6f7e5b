"""The socket's long-line count agrees with the extractor's rule however the bytes are chunked."""

from __future__ import annotations

import random

from diagnostics.sources.long_lines import LongLines


def _naive(data: bytes, limit: int) -> tuple[int | None, int]:
    lines = data.split(b"\n")
    long = [i + 1 for i, text in enumerate(lines) if len(text) > limit]
    return (long[0] if long else None), len(long)


def test_long_lines_match_a_plain_split_for_random_chunkings() -> None:
    """First long line and count are those of splitting on newlines, for any chunk boundaries."""
    rng = random.Random(8)
    for _ in range(300):
        limit = rng.choice([1, 3, 8, 50])
        lines = [
            b"x" * rng.choice([0, 1, limit - 1, limit, limit + 1, 3 * limit]) for _ in range(20)
        ]
        data = b"\n".join(lines) + rng.choice([b"", b"\n"])
        tracker = LongLines(limit)
        pos = 0
        while pos < len(data):
            step = rng.randrange(1, 4 * limit + 3)
            tracker.feed(data[pos : pos + step])
            pos += step
        assert (tracker.first, tracker.count) == _naive(data, limit), (limit, data)


def test_the_reply_names_the_line_the_limit_and_what_to_do() -> None:
    """The reply says which line, how many more, the limit, and to split or raise the bound."""
    tracker = LongLines(1024)
    tracker.feed(b"ok\n" + b"y" * 2000 + b"\nok\n" + b"z" * 1025)
    reply = tracker.reply()
    assert reply is not None
    assert reply.startswith("line 2 (1 more) is longer than max_line_bytes (1024)")
    assert "split" in reply and "[limits] max_line_bytes" in reply
    assert LongLines(1024).reply() is None
