"""A small JSON POST client for webhooks (PagerDuty, Slack-compatible), with bounded retries.

urllib rather than a third-party HTTP library: two endpoints, one verb, and nothing more to ship in the
Lambda package. The transport is a plain callable so tests and the local replay can answer without a
network; the retry policy lives above it, so it is the same whatever the transport is.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from infra.notify.errors import PermanentDeliveryError, TransientDeliveryError

MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "sla-engine-notifier/1"
# json.dumps with options builds an encoder per call; one, shared, writes the same compact UTF-8 JSON.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def text(self, limit: int = 500) -> str:
        return self.body[:limit].decode("utf-8", errors="replace")


class NetworkError(OSError):
    """The request may not have reached the endpoint (refused, reset, timed out): always worth a retry."""


class Transport(Protocol):
    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResponse: ...


def urllib_transport(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResponse:
    """POST over the network; every HTTP status comes back as a response, only transport failures raise."""
    check_url(url)  # urllib would also open file:// and ftp:// URLs
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return HttpResponse(answer.status, answer.read(MAX_BODY_BYTES), dict(answer.headers.items()))
    except urllib.error.HTTPError as error:
        with error:
            return HttpResponse(error.code, error.read(MAX_BODY_BYTES), dict(error.headers.items()))
    except (OSError, http.client.HTTPException) as error:
        raise NetworkError(type(error).__name__) from error


def check_url(url: str) -> None:
    """HTTPS only, except plain HTTP to a loopback address (local fakes): a secret must not travel in clear.

    The URL itself is never put into the error: a webhook URL is a credential.
    """
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return
    raise PermanentDeliveryError(
        "invalid_url", "the endpoint URL must be https (or http to a loopback address)"
    )


class JsonPoster:
    """POST a JSON document; retry 429, 5xx and network errors with capped exponential backoff and full jitter.

    Full jitter (a random delay between 0 and the exponential cap) keeps a batch of retries from hitting a
    throttled endpoint in lockstep. A 429's Retry-After is honoured, within the same cap, so one slow
    endpoint cannot hold the Lambda past its timeout.
    """

    def __init__(
        self,
        transport: Transport = urllib_transport,
        *,
        max_attempts: int = 3,
        timeout: float = 3.0,
        base_delay: float = 0.25,
        max_delay: float = 4.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.transport = transport
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.jitter = jitter

    def post(self, url: str, document: Mapping[str, Any], service: str) -> HttpResponse:
        """The 2xx response; PermanentDeliveryError on any other 4xx, TransientDeliveryError when retries run out."""
        check_url(url)
        body = _COMPACT_JSON.encode(document).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT}
        last: TransientDeliveryError | None = None
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self._delay(attempt, last))
            try:
                response = self.transport(url, body, headers, self.timeout)
            except NetworkError as error:
                last = TransientDeliveryError(f"{service}_network", str(error))
                continue
            if 200 <= response.status < 300:
                return response
            if response.status == 429 or response.status >= 500:
                last = _Retryable(f"{service}_http_{response.status}", response.text(), response)
                continue
            raise PermanentDeliveryError(f"{service}_http_{response.status}", response.text())
        assert last is not None
        raise TransientDeliveryError(last.code, f"{self.max_attempts} attempts; last: {last.detail}")

    def _delay(self, attempt: int, last: TransientDeliveryError | None) -> float:
        cap = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        delay = self.jitter() * cap
        if isinstance(last, _Retryable):
            retry_after = _retry_after(last.response)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.max_delay))
        return delay


class _Retryable(TransientDeliveryError):
    def __init__(self, code: str, detail: str, response: HttpResponse) -> None:
        super().__init__(code, detail)
        self.response = response


def _retry_after(response: HttpResponse) -> float | None:
    for name, value in response.headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None  # an HTTP date: fall back to our own backoff
    return None
