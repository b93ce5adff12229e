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
