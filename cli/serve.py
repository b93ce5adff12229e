"""`sla-engine serve`: the read API (SPEC section 8) and the live board on this machine, for development."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from cli.app import BackendOption, CatalogOption, app, backend_choice, fail, parse_instant
from infra.catalog_source import CatalogError

DEMO_AT = "2026-04-08T03:30:00Z"
"""An instant of the demo's week with one ticket breached and still waiting and one not yet due."""
DEMO_COMMAND = f"sla-engine serve --demo --at {DEMO_AT}"
"""What `sla-engine demo` suggests last: the read API and the board on the week it just showed."""


@app.command()
def serve(
    events: Annotated[
        Path | None,
        typer.Option("--events", metavar="FILE", help="Replay this JSON Lines file of events first."),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Replay the week of `sla-engine demo` instead of a file.")
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="ISO8601",
            help="Replay up to this instant and answer as of it; default: the file's last event.",
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free port).")] = 8000,
    live: Annotated[
        bool, typer.Option("--live", help="Let the clock run on from --at with the wall clock.")
    ] = False,
    catalog: CatalogOption = None,
    backend: BackendOption = "memory",
) -> None:
    """Serve the QueryFunction handler on http://127.0.0.1:PORT over the local engine. Development only.

    The same handler as deployed, behind a plain local HTTP server instead of API Gateway: no token is
    checked, the caller's claims come from the headers X-Sla-Scope (e.g. sla/agent) and X-Sla-Customer-Id
    (SPEC section 8), or the same names as query parameters for a browser. The engine replays --events up
    to --at first; the clock then stands at --at (every answer the same until you stop it) unless --live.

    Examples:

    ```
    sla-engine serve --events events/scenario.jsonl --at 2026-04-08T12:00:00Z
    sla-engine serve --demo --at 2026-04-08T03:30:00Z
    curl -H 'X-Sla-Scope: sla/agent' 'http://127.0.0.1:8000/v1/queue?limit=10'
    curl -H 'X-Sla-Customer-Id: C-100' http://127.0.0.1:8000/v1/tickets/T-1/wait
    open 'http://127.0.0.1:8000/v1/board?x-sla-scope=sla/agent'
    ```
    """
    from local.serve import NOTICE, serving  # the engine loads only when serving

    if not 0 <= port <= 65_535:
        fail("--port", f"{port} is not a port number (0 to 65535)")
    standing = int(parse_instant("--at", at).timestamp()) if at is not None else None
    lines: list[str] = []
    if demo and events is not None:
        fail("--demo", "takes no --events: it replays the demo's own week")
    if demo:
        from cli.demo_scenario import scenario_events

        lines = [json.dumps(event) for event in scenario_events()]
    elif events is not None:
        try:
            lines = events.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            fail("--events", f"cannot read {events}: {error.strerror}")
    chosen = backend_choice(backend)
    from contextlib import nullcontext

    from cli.demo_lines import demo_catalog  # the demo's week runs on the demo's catalog

    chosen_catalog = demo_catalog(catalog) if demo else nullcontext(catalog)
    try:
        with (
            chosen_catalog as catalog_path,
            serving(lines, standing, port, live, chosen, catalog_path, log=typer.echo) as served,
        ):
            clock = "runs on from" if live else "stands at"
            typer.echo(f"WARNING: {NOTICE}")
            typer.echo(
                f"Serving the read API on {served.url} ({chosen} backend); the clock {clock} {_iso(served.at)}."
            )
            typer.echo(f"  curl -H 'X-Sla-Scope: sla/agent' {served.url}/v1/queue")
            typer.echo(f"  board: {served.url}/v1/board?x-sla-scope=sla/agent")
            typer.echo("Stop with Ctrl-C.")
            while True:
                time.sleep(3600)
    except CatalogError as error:
        fail("--catalog", str(error))
    except OSError as error:  # the port is taken, or not ours to bind
        fail("--port", f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}")
    except KeyboardInterrupt:
        typer.echo("Stopped.")


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
