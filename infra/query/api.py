"""The read API's routes (SPEC section 8) on Powertools' APIGatewayHttpResolver, in front of the query service.

The resolver validates each parameter against the route's annotations (pydantic, `enable_validation`) and
each answer against its model, and the OpenAPI document is generated from the same annotations
(`infra.query.openapi`), so the contract cannot drift from the code. Who asks comes from the JWT authorizer's
claims in the HTTP API v2 event (`requestContext.authorizer.jwt`), never from a header: deployed, API
Gateway has checked the token; locally, `sla-engine serve` puts the development headers there.

Every failure answers `{"error": {"status", "message", "field"}}`: 400 naming the parameter at fault, 403
for a customer asking what only agents see, 404 for an unknown route and for a ticket the caller may not
see (the same body as a ticket that does not exist), 503 when the store is throttled and 500 for anything
else, never with a stack trace or an exception's text (`on_failure` is told, for the logs and metrics).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import AfterValidator

from infra.errors import TransientStoreError
from infra.query.board import board_page
from infra.query.service import AGENT_SCOPE, DEFAULT_PAGE, MAX_PAGE, Caller, QueryError, QueryService
from sla.events import IDENTIFIER_MAX_CHARS, IDENTIFIER_PATTERN, check_identifier
from sla.read_views import DueAnswer, ErrorBody, QueuePage, TicketSla, Wait
from sla.vocabulary import Component, Metric, Severity

Clock = Callable[[], int]
TicketId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=IDENTIFIER_MAX_CHARS,
        json_schema_extra={"pattern": IDENTIFIER_PATTERN},
        description="The ticket's id, as the control panel's events name it.",
    ),
    AfterValidator(check_identifier),
]
Line = Annotated[
    str | None,
    Query(max_length=64, description="A support line of the catalog (its own queue); empty: every line."),
]
Level = Annotated[str | None, Query(max_length=64, description="A support level of the catalog.")]


def _errors(*statuses: int) -> dict[int, Any]:
    described = {
        400: "A parameter is invalid: `field` names it.",
        403: "Agents only: the token lacks the sla/agent scope.",
        404: "No such ticket, or one the caller may not see (the same answer).",
    }
    answers: dict[int, Any] = {200: {"description": "The answer."}}  # its schema: the route's return type
    for status in statuses:
        answers[status] = {
            "description": described[status],
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
    return answers


def error_response(status: int, message: str, field: str | None = None) -> Response[str]:
    body = {"error": {"status": status, "message": message, "field": field}}
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store"}
"""Answers are per caller and per instant: no shared cache may keep them."""


def caller_of(app: APIGatewayHttpResolver) -> Caller:
    """The caller's claims, as the HTTP API's JWT authorizer verified them.

    The agent scope is read from `scopes` (filled when a route names authorization scopes) or from the
    token's own `scope` claim (space-separated, OAuth 2.0's) or `scp` (a list, some providers' form, which
    API Gateway hands over as the text `[a b]`)."""
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.jwt_claim if authorizer else {}
    scopes = set((authorizer.jwt_scopes if authorizer else None) or ())
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            scopes.update(value.removeprefix("[").removesuffix("]").split())
        elif isinstance(value, list):
            scopes.update(str(item) for item in value)
    customer = claims.get("customer_id")
    return Caller(AGENT_SCOPE in scopes, customer if isinstance(customer, str) and customer else None)


def build_app(
    service: QueryService,
    clock: Clock,
    on_failure: Callable[[Exception], None] | None = None,
    on_queue_read: Callable[[int], None] | None = None,
) -> APIGatewayHttpResolver:
    """The resolver with every route of SPEC section 8; `clock` gives the instant each answer is as of."""
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.get(
        "/v1/tickets/<ticket_id>/sla",
        summary="A ticket's SLA clocks",
        description="Ongoing and completed cycles of each metric, with the working time left (JSM's way).",
        responses=_errors(400, 404),
        tags=["tickets"],
    )
    def ticket_sla(ticket_id: TicketId) -> TicketSla:
        return service.ticket_sla(caller_of(app), ticket_id, clock())

    @app.get(
        "/v1/tickets/<ticket_id>/wait",
        summary="The customer's visible wait",
        description="Its place in its line's queue, the promise, and an estimate from the last 30 days.",
        responses=_errors(400, 404),
        tags=["tickets"],
    )
    def wait(ticket_id: TicketId) -> Wait:
        return service.wait(caller_of(app), ticket_id, clock())

    @app.get(
        "/v1/queue",
        summary="The agents' queue",
        description="Open tickets that owe something, breached first (most overdue first), then by due "
        "time, then enterprise before business before premium before standard, then ticket id.",
        responses=_errors(400, 403),
        tags=["agents"],
    )
    def queue(
        line: Line = None,
        level: Level = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=512, description="A page's `next_cursor`.")] = None,
    ) -> QueuePage:
        read = service.queue(caller_of(app), clock(), line, level, limit, cursor)
        if on_queue_read is not None:
            on_queue_read(read.items_read)
        return read.page

    @app.get(
        "/v1/board",
        summary="The live board (HTML)",
        description="The queue with countdowns that tick in the browser, refreshed every 30 s. The page "
        "forwards the token it was opened with (`access_token`) to its queue reads.",
        responses={
            **_errors(403),
            200: {"description": "The page.", "content": {"text/html": {"schema": {"type": "string"}}}},
        },
        tags=["agents"],
    )
    def board() -> Response[str]:
        service.require_agent(caller_of(app))
        page = board_page()
        return Response(200, "text/html; charset=utf-8", page.html, headers={**NO_STORE, **page.headers})

    @app.get("/v1/plans", summary="The support catalog", tags=["catalog"])
    def plans() -> dict[str, Any]:
        return service.plans()

    @app.get(
        "/v1/due",
        summary="When a promise falls due",
        description="The answer of `sla-engine due --format json`.",
        responses=_errors(400),
        tags=["catalog"],
    )
    def due(
        level: Annotated[str, Query(min_length=1, max_length=64)],
        severity: Annotated[Severity, Query()],
        opened: Annotated[str, Query(min_length=1, max_length=64, description="ISO 8601 with an offset.")],
        metric: Annotated[Metric | None, Query()] = None,
        component: Annotated[Component | None, Query()] = None,
        timezone: Annotated[str, Query(min_length=1, max_length=64)] = "Europe/Paris",
        country: Annotated[str, Query(min_length=2, max_length=2)] = "FR",
        subdivision: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
        line: Annotated[
            str | None,
            Query(
                min_length=1, max_length=64, description="A support line: who its route pages at `opened`."
            ),
        ] = None,
    ) -> DueAnswer:
        return service.due(level, severity, opened, metric, component, timezone, country, subdivision, line)

    document: list[str] = []  # generated on first request, then kept: the routes do not change

    @app.get(
        "/v1/openapi.json",
        summary="This document",
        responses={
            200: {
                "description": "OpenAPI 3.1.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
        tags=["catalog"],
    )
    def openapi() -> Response[str]:
        if not document:
            from infra.query.openapi import openapi_text

            document.append(openapi_text(app))
        return Response(200, content_types.APPLICATION_JSON, document[0])

    # -- errors --------------------------------------------------------------------------------------

    @app.not_found
    def unknown_route(_: NotFoundError) -> Response[str]:
        return error_response(404, "no such route")

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid(error: RequestValidationError) -> Response[str]:
        first = error.errors()[0] if error.errors() else {}
        location = [str(part) for part in first.get("loc", ())]
        field = location[-1] if len(location) > 1 else None
        message = str(first.get("msg", "invalid request"))
        return error_response(400, f"{field}: {message}" if field else message, field)

    @app.exception_handler(QueryError)  # type: ignore[untyped-decorator]
    def refused(error: QueryError) -> Response[str]:
        return error_response(error.status, error.message, error.field)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def failed(error: Exception) -> Response[str]:
        if on_failure is not None:
            on_failure(error)
        if isinstance(error, TransientStoreError):
            return error_response(503, "the store is busy; try again in a few seconds")
        return error_response(500, "internal error")

    return app
