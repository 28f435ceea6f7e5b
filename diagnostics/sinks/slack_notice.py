"""The note a Slack message carries when earlier alerts were dropped from a full spool."""

from __future__ import annotations

import orjson

from diagnostics.sinks.spool import Dropped

#: Slack allows at most 50 blocks per message.
MAX_BLOCKS = 50


def notice_text(dropped: Dropped) -> str:
    return (
        f"{dropped.total} earlier alert(s) were dropped while Slack was unreachable (the spool "
        f"was full): {dropped.words()}; see the daemon's log (slack.spool_full) or the file "
        "sink for them"
    )


def with_drop_notice(body: bytes, dropped: Dropped) -> bytes:
    """``body`` (a webhook payload) with a first block and text saying what was ``dropped``."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(payload, dict):
        return body
    note = notice_text(dropped)
    block = {"type": "context", "elements": [{"type": "mrkdwn", "text": f":warning: {note}"}]}
    blocks = payload.get("blocks")
    if isinstance(blocks, list):
        # Right under the header, and within Slack's block limit.
        at = (
            1 if blocks and isinstance(blocks[0], dict) and blocks[0].get("type") == "header" else 0
        )
        payload["blocks"] = [*blocks[:at], block, *blocks[at:]][:MAX_BLOCKS]
    payload["text"] = f"{note}. {payload.get('text', '')}"
    return orjson.dumps(payload)
