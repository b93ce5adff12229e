"""Reading a dead-letter queue without losing or doubling a message: receive each message once and keep it
hidden while it is worked on, release what is left (visibility 0), select messages by id or position."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from local.dlq.letters import DeadLetter, Queue
from local.dlq.target import Target

PEEK_SECONDS = 30
"""How long a listed message is hidden from other readers at most; `list` and `show` release it at once."""
WORK_SECONDS = 300
"""How long a message being redriven stays hidden: long enough for its copy to be sent and itself deleted."""
SYSTEM_ATTRIBUTES = ["All"]


def _receive(sqs: Any, url: str, count: int, visibility: int, wait: int) -> list[DeadLetter]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, count)),
        VisibilityTimeout=visibility,
        WaitTimeSeconds=wait,
        MessageSystemAttributeNames=SYSTEM_ATTRIBUTES,
        MessageAttributeNames=["All"],
    )
    return [DeadLetter.of(message) for message in response.get("Messages", [])]


def release(sqs: Any, url: str, letters: Iterable[DeadLetter]) -> None:
    """Make received messages visible again at once (visibility timeout 0)."""
    pending = list(letters)
    for start in range(0, len(pending), 10):
        chunk = pending[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
                for index, letter in enumerate(chunk)
            ],
        )


def order(letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    return sorted(letters, key=lambda letter: (letter.sent_ms, letter.summary(), letter.message_id))


def collect(sqs: Any, url: str, limit: int | None, visibility: int, wait: int) -> list[DeadLetter]:
    """Receive until the queue has nothing visible left (or `limit` messages), each message once."""
    found: dict[str, DeadLetter] = {}
    while limit is None or len(found) < limit:
        wanted = 10 if limit is None else limit - len(found)
        batch = _receive(sqs, url, wanted, visibility, wait)
        fresh = [letter for letter in batch if letter.message_id not in found]
        for letter in batch:
            found[letter.message_id] = letter  # a message received again: the newest receipt handle counts
        if not fresh:  # empty, or only messages whose hiding ran out while the queue was read: all seen
            break
    return list(found.values())


def peek(target: Target, queue: Queue, limit: int | None = None) -> list[DeadLetter]:
    """The queue's messages, oldest first, left in the queue: received, then made visible again at once.

    Receiving counts: the receive count each message shows includes this look.
    """
    url = target.queue_url(queue)
    letters = collect(target.sqs, url, limit, PEEK_SECONDS, target.wait_seconds)
    release(target.sqs, url, letters)
    return order(letters)


def find(target: Target, queue: Queue, wanted: str) -> DeadLetter | None:
    """The message with id `wanted`, or at position `wanted` (1 is the oldest) of `peek`'s order."""
    for index, letter in enumerate(peek(target, queue), start=1):
        if wanted in (letter.message_id, str(index)):
            return letter
    return None


class UnknownMessages(ValueError):
    """A redrive named messages the queue does not have; nothing was done."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(f"no message {', '.join(names)}")
        self.names = list(names)


def select(
    sqs: Any, url: str, letters: list[DeadLetter], only: Sequence[str]
) -> tuple[list[DeadLetter], list[DeadLetter]]:
    """(selected, others): all when `only` is empty; else those whose id or position (1 = oldest) is named.

    A name that matches no message releases them all and raises UnknownMessages, before anything is moved.
    """
    if not only:
        return letters, []
    ordered = order(letters)
    positions = {str(index): letter.message_id for index, letter in enumerate(ordered, 1)}
    wanted = {positions.get(name, name) for name in only}
    unknown = [name for name in only if positions.get(name, name) not in {x.message_id for x in ordered}]
    if unknown:
        release(sqs, url, ordered)
        raise UnknownMessages(unknown)
    chosen = [letter for letter in ordered if letter.message_id in wanted]
    return chosen, [letter for letter in ordered if letter.message_id not in wanted]


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
