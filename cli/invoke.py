"""`sla-engine invoke`: run one function's handler on a sample event, like `sam local invoke`, on moto."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from cli.app import CatalogOption, app, fail


@app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="Logical id in template.yaml, e.g. IngestFunction.")],
    event: Annotated[
        Path, typer.Option("--event", "-e", help="The event JSON file, e.g. events/sqs-ticket-opened.json.")
    ],
    catalog: CatalogOption = None,
) -> None:
    """Run FUNCTION's handler from template.yaml on the event in FILE, on an in-process moto backend.

    No Docker and no AWS account: the table, queues and topics are created from template.yaml in moto,
    and the handler's response is printed as JSON. The engine's clock is the wall clock.

    Example:

      sla-engine invoke IngestFunction --event events/sqs-ticket-opened.json
    """
    from local.engine import LocalEngine  # moto and the handlers load only when invoking

    try:
        payload = json.loads(event.read_text(encoding="utf-8"))
    except OSError as error:
        fail("--event", f"cannot read {event}: {error.strerror}")
    except json.JSONDecodeError as error:
        fail("--event", f"{event} is not JSON: {error.msg} at line {error.lineno}")
    with LocalEngine(catalog, start=int(time.time())) as engine:
        try:
            response = engine.invoke(function, payload)
        except ValueError as error:
            fail("FUNCTION", str(error))
    typer.echo(json.dumps(response, indent=2, default=str))
