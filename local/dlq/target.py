"""What the operations need of a stack whose dead letters they read (Target: the local one or a deployed
one), what the notifier answers a redriven batch (InvokeResult), and what a redrive did (Outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from local.dlq.letters import DeadLetter, Queue

Status = Literal["redriven", "kept", "expired", "dropped", "duplicate_risk"]


@dataclass(frozen=True)
class InvokeResult:
    """What the notifier answered a redriven batch: the records it reports failed, or its error."""

    failed: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.error is None


class Target(Protocol):
    """A stack whose dead letters are read: the local moto one (LocalTarget) or a deployed one (cli/dlq.py)."""

    where: str
    sqs: Any
    streams: Any
    wait_seconds: int
    """Long polling of a receive: 0 on moto; on SQS a short poll samples only some servers."""

    def queue_url(self, queue: Queue) -> str: ...

    def redrive_destination(self) -> str:
        """The ingest queue's URL, where the ingest DLQ's messages go back to."""
        ...

    def move_task(self) -> bool:
        """Whether SQS message move tasks may be tried (moto implements none)."""
        ...

    def invoke_notifier(self, function_arn: str, event: dict[str, Any]) -> InvokeResult: ...

    def now(self) -> int:
        """The instant the stream's 24 h are counted to (locally: the simulated clock of the run)."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What a redrive did with one message."""

    message_id: str
    summary: str
    status: Status
    detail: str

    @classmethod
    def of(cls, letter: DeadLetter, status: Status, detail: str) -> Outcome:
        return cls(letter.message_id, letter.summary(), status, detail)

    @property
    def left_in_queue(self) -> bool:
        return self.status in ("kept", "expired", "duplicate_risk")
