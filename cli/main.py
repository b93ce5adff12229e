"""The `sla-engine` command line: the support catalog and due times, as an operator or an agent asks for them.

The entry point: each command lives in its own module and adds itself to `cli.app.app` when imported here.
Imports stay light (no boto3, no holidays until a calendar needs them) so that `--help` answers at once.
"""

from cli import demo, dlq, due, invoke, plans, replay, report, sample, serve, simulate  # noqa: F401  (each registers its command)
from cli.app import app

__all__ = ["app"]
