"""The two ways a delivery can fail, as the notifier must treat them: retry it, or park it in the DLQ.

`code` is short and free of personal data (it is logged); `detail` may quote the endpoint's answer,
which can name an address, so it only goes to the dead-letter message and the outbox item.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

# AWS error codes worth retrying; anything else with a 4xx status will fail the same way again.
_RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalErrorException",
        "KMSThrottlingException",
    }
)


class DeliveryError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class TransientDeliveryError(DeliveryError):
    """Worth retrying later (throttling, 5xx, network): the stream record is retried."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (a rejected request, a missing secret): the effect goes to the notifier DLQ."""


def from_aws(error: ClientError | BotoCoreError, service: str) -> DeliveryError:
    """Map an AWS SDK failure to transient or permanent, by status and error code."""
    if isinstance(error, BotoCoreError):  # connection and timeout problems below the API
        return TransientDeliveryError(f"{service}_unreachable", type(error).__name__)
    body = error.response.get("Error", {})
    code = str(body.get("Code", "Unknown"))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    detail = str(body.get("Message", ""))
    if code in _RETRYABLE_CODES or status >= 500 or status == 429:
        return TransientDeliveryError(f"{service}_{code}", detail)
    return PermanentDeliveryError(f"{service}_{code}", detail)
