"""The DynamoDB table that lets exactly one daemon send a notification.

One item per notification key (sink, alert group, what the alert says):

    pk       the key                         owner   who claimed or sent it
    status   "claimed" | "sent"              until   epoch seconds the item holds
    expires  epoch seconds, the table's TTL attribute (housekeeping only)

A claim is one conditional ``PutItem``: it succeeds when no item exists, when
the item's ``until`` has passed (a sent notification's window is over, or a
claimer died and its lease ran out), or when the item is this process's own
unsent claim (a retry after its sink failed).  After its sink accepted the
notification the owner marks the item ``sent`` for the window.  DynamoDB's
TTL deletes items lazily, days late at times, so correctness never depends
on it: ``until`` is compared in the condition itself.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from diagnostics.errors import ConfigError
from diagnostics.support.logconfig import get_logger

log = get_logger()

#: What a claim found: ``mine`` (send it), ``sent`` (someone did: drop it),
#: ``busy`` (someone is sending it now: try again later).
Claim = Literal["mine", "sent", "busy"]
#: Items outlive their window by this much before TTL may delete them.
TTL_SLACK = 86400.0


def default_owner() -> str:
    """``host:pid:random``: unique per process, readable in the table."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def create_table(client: Any, name: str) -> None:
    """Create the table as docs/scale-out.md describes (on-demand, TTL on ``expires``)."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )


class DedupTable:
    """Claims and confirmations in one DynamoDB table; thread-safe (boto3 clients are)."""

    def __init__(
        self,
        name: str,
        *,
        window: float,
        lease: float = 60.0,
        owner: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not name:
            raise ConfigError('dedup_table needs a table name, e.g. dedup_table = "authz-dedup"')
        self.name = name
        self.window = window
        self.lease = lease
        self.owner = owner or default_owner()
        self._region = region
        self._endpoint = endpoint_url
        self._client = client
        self._clock = clock

    def _ddb(self) -> Any:
        if self._client is None:
            from diagnostics.sources.aws_common import AwsOptions, make_client

            self._client = make_client("dynamodb", AwsOptions(self._region, self._endpoint))
        return self._client

    def claim(self, key: str) -> Claim:
        """Try to become the one process that sends ``key``."""
        from botocore.exceptions import ClientError

        now = self._clock()
        until = now + self.lease
        try:
            self._ddb().put_item(
                TableName=self.name,
                Item={
                    "pk": {"S": key},
                    "owner": {"S": self.owner},
                    "status": {"S": "claimed"},
                    "until": {"N": f"{until:.3f}"},
                    "expires": {"N": str(int(until + self.window + TTL_SLACK))},
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #u < :now OR (#o = :me AND #s = :claimed)"
                ),
                ExpressionAttributeNames={"#u": "until", "#o": "owner", "#s": "status"},
                ExpressionAttributeValues={
                    ":now": {"N": f"{now:.3f}"},
                    ":me": {"S": self.owner},
                    ":claimed": {"S": "claimed"},
                },
            )
            return "mine"
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        item = self._ddb().get_item(
            TableName=self.name, Key={"pk": {"S": key}}, ConsistentRead=True
        )
        status = item.get("Item", {}).get("status", {}).get("S")
        return "sent" if status == "sent" else "busy"

    def confirm(self, key: str) -> None:
        """Record that this process's sink accepted ``key``: others drop it for the window."""
        self.confirm_many([key])

    def confirm_many(self, keys: list[str]) -> None:
        """``confirm`` each key, 25 per call (the BatchWriteItem limit).

        One call per key would widen the gap between the sink's write and the
        record of it: a process killed in that gap leaves claims that run out
        and are sent again by another.
        """
        now = self._clock()
        until = now + self.window
        items = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": key},
                        "owner": {"S": self.owner},
                        "status": {"S": "sent"},
                        "until": {"N": f"{until:.3f}"},
                        "expires": {"N": str(int(until + TTL_SLACK))},
                    }
                }
            }
            for key in dict.fromkeys(keys)
        ]
        for i in range(0, len(items), 25):
            todo: list[Any] = items[i : i + 25]
            # Unprocessed items (throttling) are retried a few times, then
            # left to run out like a dead claim: a duplicate, never a loss.
            for attempt in range(5):
                answer = self._ddb().batch_write_item(RequestItems={self.name: todo})
                todo = answer.get("UnprocessedItems", {}).get(self.name, [])
                if not todo:
                    break
                time.sleep(0.05 * 2**attempt)

    def release(self, key: str) -> None:
        """Give up an unsent claim (the sink refused it), so another process may send it."""
        from botocore.exceptions import ClientError

        try:
            self._ddb().delete_item(
                TableName=self.name,
                Key={"pk": {"S": key}},
                ConditionExpression="#o = :me AND #s = :claimed",
                ExpressionAttributeNames={"#o": "owner", "#s": "status"},
                ExpressionAttributeValues={":me": {"S": self.owner}, ":claimed": {"S": "claimed"}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
