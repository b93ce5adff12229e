"""The functional core stays pure: `sla/` imports no AWS SDK and no adapter, so it is fast and testable alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SLA = Path(__file__).resolve().parents[1] / "sla"
FORBIDDEN = ("boto3", "botocore", "moto", "aws_lambda_powertools", "infra", "functions", "cli")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_module_of_sla_imports_the_aws_sdk_or_the_shell() -> None:
    offenders = {
        f"{path.name}: {module}"
        for path in sorted(SLA.glob("*.py"))
        for module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    }
    assert not offenders


def test_importing_the_whole_core_loads_no_aws_sdk() -> None:
    modules = [f"sla.{path.stem}" for path in sorted(SLA.glob("*.py")) if path.stem != "__init__"]
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; "
        "sys.exit(sorted({'boto3', 'botocore'} & set(sys.modules)) != [])"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


ROOT = SLA.parent
# Each layer and the top-level packages it may import from this project (ARCHITECTURE.md: down the list only).
MAY_IMPORT = {
    "sla": {"sla"},
    "infra": {"sla", "infra"},
    "functions": {"sla", "infra", "functions"},
    "local": {"sla", "infra", "functions", "local"},
    "cli": {"sla", "infra", "functions", "local", "cli"},
}


def layer_imports(layer: str) -> set[tuple[str, str]]:
    """(module file, imported project module) for every import of a layer, including lazy ones in functions."""
    return {
        (path.relative_to(ROOT).as_posix(), module)
        for path in sorted((ROOT / layer).rglob("*.py"))
        for module in imported_modules(path)
        if module.split(".")[0] in MAY_IMPORT
    }


def test_dependencies_point_down_the_layers_only() -> None:
    offenders = sorted(
        f"{source} imports {module}"
        for layer, allowed in MAY_IMPORT.items()
        for source, module in layer_imports(layer)
        if module.split(".")[0] not in allowed
    )
    assert not offenders


def test_the_cli_modules_import_no_module_that_imports_them() -> None:
    """`cli/main.py` is the entry point that loads every command; a command module importing it is a circle."""
    edges = {(source, module) for source, module in layer_imports("cli") if module.startswith("cli")}
    assert {source for source, module in edges if module == "cli.main"} == set()
    assert {module for source, module in edges if source == "cli/app.py"} == set()
