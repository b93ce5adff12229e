"""What keeps a handler's cold start near the bare stack's (issue 8, item 7), checked without timing anything.

`make bench` (bench/cold_start.py) times each handler's import against `import boto3, pydantic,
aws_lambda_powertools` with Logger, Metrics and Tracer. The time goes where the modules go, so these tests
import each handler in a fresh interpreter, in the environment the bench measures in (a deployed function's
variables, LAMBDA_TASK_ROOT set and POWERTOOLS_TRACE_DISABLED unset, so X-Ray is on and the Tracer patches;
fake credentials; AWS endpoints on a closed local port), and look at `sys.modules`:
- the import loads Powertools and no more: not the engine (settings, catalog, models, store: the
  dependencies load them on first use), not Powertools' parser models (its batch utility loads them, for
  type hints only, when pydantic is already imported), nothing local-only or slow;
- the Tracer patches only what the handler calls through, not every library the X-Ray SDK supports;
- the dependency build on first use (clients created, no call made) loads nothing local-only or slow either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.cold_start import HANDLERS, ROOT, lambda_environment

# Never in a deployed function: slow (holidays: 150 ms, loaded by the first fold of a calendar with public
# holidays) or local-only (the moto harness, the template reader, the CLI).
SLOW_OR_LOCAL = ("holidays", "yaml", "moto", "local.engine", "local.stack", "local.replay", "cli")
# Loaded by the dependencies on first use, not by the import.
ENGINE = (
    "sla",
    "infra.settings",
    "infra.catalog_source",
    "infra.store",
    "infra.ticket_service",
    "infra.sweep",
    "infra.notify.delivery",
    "infra.notify.outbox",
    "pydantic_settings",
    "pydantic.main",
    "tomllib",
)
POWERTOOLS_PARSER = "aws_lambda_powertools.utilities.parser"
# What each handler's Tracer patches: the AWS SDK, and for the notifier its webhooks (urllib on http.client).
PATCHED = {
    "ingest": ["botocore"],
    "sweeper": ["botocore"],
    "notifier": ["botocore", "httplib"],
    "query": ["botocore"],
}
# What `Tracer()` alone would patch here if installed (requests is, through moto), at import.
NOT_PATCHED = ("requests", "sqlite3", "httpx", "pymongo", "pynamodb", "psycopg2", "sqlalchemy")

_PROGRAM = """\
import json, sys
import functions.{name} as handler_module
from aws_xray_sdk.core import patcher
imported = sorted(sys.modules)
handler_module.dependencies()
print(json.dumps({{
    "tracer_disabled": handler_module.tracer.disabled,
    "patched": sorted(patcher._PATCHED_MODULES),
    "imported": imported,
    "built": sorted(sys.modules),
}}))
"""


def _matching(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [module for module in modules if any(module == n or module.startswith(f"{n}.") for n in names)]


@pytest.fixture(scope="module")
def cold_starts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Per handler, a fresh interpreter's modules after the import and after the dependency build."""
    config_dir = tmp_path_factory.mktemp("aws")
    found = {}
    for name in HANDLERS:
        env = lambda_environment(name, trace_disabled=False, config_dir=config_dir)
        done = subprocess.run(
            [sys.executable, "-c", _PROGRAM.format(name=name)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        found[name] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_the_environment_is_a_deployed_functions(cold_starts: dict[str, dict[str, Any]]) -> None:
    assert Path(ROOT, "template.yaml").is_file()
    for name in HANDLERS:
        assert cold_starts[name]["tracer_disabled"] is False, name  # X-Ray on, as in Lambda


@pytest.mark.parametrize("name", HANDLERS)
def test_importing_a_handler_loads_nothing_slow_or_local_only(
    cold_starts: dict[str, dict[str, Any]], name: str
) -> None:
    assert _matching(cold_starts[name]["imported"], SLOW_OR_LOCAL) == []


@pytest.mark.parametrize("name", HANDLERS)
def test_importing_a_handler_leaves_the_engine_to_the_first_use(
    cold_starts: dict[str, dict[str, Any]], name: str
) -> None:
    imported = cold_starts[name]["imported"]
    assert f"functions.{name}" in imported
    assert _matching(imported, ENGINE) == []


@pytest.mark.parametrize("name", HANDLERS)
def test_powertools_batch_utility_does_not_load_its_parser_models(
    cold_starts: dict[str, dict[str, Any]], name: str
) -> None:
    assert _matching(cold_starts[name]["built"], (POWERTOOLS_PARSER,)) == []


@pytest.mark.parametrize("name", HANDLERS)
def test_the_tracer_patches_only_what_the_handler_calls_through(
    cold_starts: dict[str, dict[str, Any]], name: str
) -> None:
    assert cold_starts[name]["patched"] == PATCHED[name]
    assert _matching(cold_starts[name]["imported"], NOT_PATCHED) == []


@pytest.mark.parametrize("name", HANDLERS)
def test_the_dependency_build_loads_nothing_slow_or_local_only(
    cold_starts: dict[str, dict[str, Any]], name: str
) -> None:
    built = cold_starts[name]["built"]
    assert _matching(built, ("sla", "infra.settings")) != []  # the engine did load
    assert _matching(built, SLOW_OR_LOCAL) == []
