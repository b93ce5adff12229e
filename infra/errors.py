"""The store's failures in the engine's own words: one place maps DynamoDB's error codes to them.

The handlers only need to know one thing about a failure: retry it (transient) or record it (permanent).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)


PERMANENT_CODES = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})


class StoreError(Exception):
    """A store operation failed."""


class TransientStoreError(StoreError):
    """Worth retrying: throttling, a concurrent transaction or a version conflict that outlived our retries."""


class VersionConflict(TransientStoreError):
    """Another writer saved the ticket first; re-read and re-fold."""


class PermanentStoreError(StoreError):
    """DynamoDB refused the write itself (an item or transaction limit, a validation error): retrying the
    same write cannot succeed, so the caller records it with its reason instead of retrying."""


class AlreadyRecorded(StoreError):
    """The item exists already: the write was a repeat of one that landed."""


class ConflictingEvent(StoreError):
    """The event id already names another event: one of different content on the same ticket, or one on
    another ticket. The first version is kept; the caller records this one as rejected with `reason`."""

    def __init__(self, event_id: str, reason: str) -> None:
        super().__init__(reason)
        self.event_id = event_id
        self.reason = reason


def translate(error: ClientError, conflict_reasons: list[str] | None = None) -> StoreError:
    """Map a ClientError (and a cancelled transaction's per-item reasons) to the store's own errors."""
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return AlreadyRecorded(code)
    if code == "TransactionCanceledException":
        reasons = conflict_reasons or []
        if "ConditionalCheckFailed" in reasons:
            return VersionConflict(",".join(reasons))
        if "TransactionConflict" in reasons:
            return VersionConflict(",".join(reasons))  # a concurrent writer on one of our items: re-read
        if "ValidationError" in reasons or "ItemCollectionSizeLimitExceeded" in reasons:
            return PermanentStoreError(",".join(reasons))
        return TransientStoreError(",".join(reasons) or code)
    if code in TRANSIENT_CODES:
        return TransientStoreError(code)
    if code in PERMANENT_CODES:
        return PermanentStoreError(f"{code}: {excerpt_message(error)}")
    return StoreError(code or str(error))


def excerpt_message(error: ClientError, limit: int = 200) -> str:
    """DynamoDB's message, cut short: it may quote the item that was refused."""
    message = str(error.response.get("Error", {}).get("Message", ""))
    return message if len(message) <= limit else message[:limit] + "…"


def cancellation_reasons(error: ClientError) -> list[str]:
    """The per-item codes of a cancelled transaction, in the order of its items ('None' where it passed)."""
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]
