"""`sla-engine serve`: the QueryFunction handler on a local HTTP server, over the local engine. Development only.

A request is turned into the event API Gateway's HTTP API (payload 2.0) hands the function, and the
handler's answer back into an HTTP response, so what runs is the deployed handler, resolver and service.
No token is checked: the caller's claims come from the development headers of SPEC section 8,
`X-Sla-Scope` (space-separated scopes, e.g. `sla/agent`) and `X-Sla-Customer-Id`, and are put where the
JWT authorizer puts a verified token's (`requestContext.authorizer.jwt`). A browser cannot set headers on a
page it opens, so the same two names are also taken as query parameters (`?x-sla-scope=sla/agent`): the
board forwards them to its own reads as headers. Deployed, nothing reads either: the handler only trusts
the authorizer's claims.

The engine is replayed up to `at` first (local.replay), then stands still at `at`, so every answer is the
same until the server stops; `live` lets its clock run on from `at` with the wall clock, and the sweeper
fires what comes due on the way, before each request.
"""

from __future__ import annotations

import contextlib
import threading
import time
from base64 import b64decode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from local.engine import Backend, Engine, FakeLambdaContext, open_engine
from local.replay import play, schedule

DEV_HEADERS = ("x-sla-scope", "x-sla-customer-id")
NOTICE = (
    "Development only: no token is checked. The caller's claims come from the X-Sla-Scope and "
    "X-Sla-Customer-Id headers (or the same names as query parameters, for a browser)."
)


def api_event(method: str, target: str, headers: dict[str, str], request_id: str = "local") -> dict[str, Any]:
    """The HTTP API (payload 2.0) event of a request, with the development claims where a JWT's would be."""
    parts = urlsplit(target)
    lowered = {name.lower(): value for name, value in headers.items()}
    query = parse_qsl(parts.query, keep_blank_values=True)
    claims_from = {name: value for name, value in query if name in DEV_HEADERS}
    claims_from.update({name: lowered[name] for name in DEV_HEADERS if name in lowered})
    kept = [(name, value) for name, value in query if name not in DEV_HEADERS]
    scopes = claims_from.get("x-sla-scope", "").split()
    claims: dict[str, str] = {}
    if scopes:
        claims["scope"] = " ".join(scopes)
    if claims_from.get("x-sla-customer-id"):
        claims["customer_id"] = claims_from["x-sla-customer-id"]
    parameters: dict[str, str] = {}
    for name, value in kept:  # API Gateway joins a repeated parameter's values with commas
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": urlencode(kept),
        "headers": {name: value for name, value in lowered.items() if name not in DEV_HEADERS},
        "queryStringParameters": parameters or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": claims, "scopes": scopes or None}},
        },
        "isBase64Encoded": False,
    }


@dataclass
class Served:
    """A running server: its address, the engine behind it and a way to stop both."""

    server: ThreadingHTTPServer
    engine: Engine
    at: int

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@contextmanager
def serving(
    lines: list[str],
    at: int | None,
    port: int = 8000,
    live: bool = False,
    backend: Backend = "memory",
    catalog_path: Path | None = None,
    host: str = "127.0.0.1",
    log: Callable[[str], None] | None = None,
) -> Iterator[Served]:
    """The engine replayed up to `at` (default: the last delivery) and a server answering with the
    QueryFunction handler, until the context exits. Port 0 takes any free port; `log` is told each request
    (its method and path: a query string may carry a token)."""
    deliveries, start, _ = schedule(lines)
    last = max((d.at for d in deliveries if d.at is not None), default=None)
    standing = at if at is not None else last if last is not None else int(time.time())
    with open_engine(
        backend, catalog_path, start=min(start or standing, standing), keep_sent=False
    ) as engine:
        play(engine, deliveries, standing)
        # The engine wires the QueryFunction handler at its simulated now (local.engine): standing at `at`,
        # or moved on with the wall clock before each request when live.
        lock = threading.Lock()  # the resolver keeps the request being resolved on the class: one at a time
        began = time.monotonic()

        def clock() -> int:
            return standing + int(time.monotonic() - began) if live else standing

        server = ThreadingHTTPServer((host, port), _handler_class(engine, lock, clock, live, log))
        thread = threading.Thread(target=server.serve_forever, name="sla-serve", daemon=True)
        thread.start()
        try:
            yield Served(server, engine, standing)
        finally:
            server.shutdown()
            server.server_close()


def _handler_class(
    engine: Engine,
    lock: threading.Lock,
    clock: Callable[[], int],
    live: bool,
    log: Callable[[str], None] | None,
) -> type[BaseHTTPRequestHandler]:
    from functions import query  # after the engine set the functions' environment, as Lambda would

    class Handler(BaseHTTPRequestHandler):
        server_version = "sla-engine-serve"

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            event = api_event(method, self.path, dict(self.headers.items()))
            with lock:
                if live:
                    engine.advance_to(clock())  # the sweeper fires what came due, as deployed
                with contextlib.redirect_stdout(engine.logs):  # the handler's metrics, as `invoke` keeps them
                    response = query.handler(event, FakeLambdaContext("QueryFunction"))
            body = response.get("body") or ""
            data = b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
            self.send_response(int(response.get("statusCode", 500)))
            for name, value in (response.get("headers") or {}).items():
                self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            if log is not None:  # the method and path only: a query string may carry a token
                log(f"{self.command} {urlsplit(self.path).path}")

    return Handler
