"""Build one Lambda package of template.yaml: the runtime's wheels, the engine's code, nothing else.

    python scripts/build_function.py IngestFunction ARTIFACTS_DIR [--arch x86_64] [--template PATH]

`sam build` runs it through the Makefile's `build-<Function>` targets (BuildMethod: makefile) with
ARTIFACTS_DIR set; `make build` runs it directly when `sam` is not installed; tests/test_artifact.py runs it
into a temporary directory. The package holds:

- requirements.txt, and the function's own `requirements-<Function>.txt` when there is one (ReportFunction's
  matplotlib: only the function that draws the report carries it), installed with `pip install --target` for the function's Runtime and Architectures as the
  template declares them (a function's own Properties, else Globals): `--platform manylinux2014_<machine>
  --python-version <X.Y> --implementation cp --only-binary=:all:`, with pip run by a Python of that version
  (pip evaluates dependency markers such as `python_version` against the interpreter that runs it), found on
  PATH as `pythonX.Y` or under pyenv; no bytecode (`--no-compile`), no console scripts (`bin/`) and no data
  files (`share/`);
- minus boto3, botocore and s3transfer, and whatever only they needed (urllib3): the Lambda runtime provides
  boto3 and botocore as a matching pair, and a bundled botocore (aws-xray-sdk, the Powertools tracer's
  dependency, asks for one) would shadow the runtime's while its boto3 stays the runtime's;
- the packages `sla`, `infra` and `functions` without `__pycache__`; the local harness (`local/`) and the
  command line (`cli/`) are packages of their own and stay out.

Standard library only, and Python 3.9+ syntax: it starts under any `python3` and re-executes itself under the
runtime's Python version before it installs anything.
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEMPLATE = ROOT / "template.yaml"
REQUIREMENTS = ROOT / "requirements.txt"
PACKAGES = ("sla", "infra", "functions")
# Provided by the Lambda Python runtime as a matching pair (with s3transfer); never bundled.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
# Lambda's names of the architectures, and the machine names of their manylinux wheels.
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
REEXEC_MARK = "SLA_BUILD_REEXEC"
FUNCTION_TYPE = "AWS::Serverless::Function"


class BuildError(Exception):
    """The package cannot be built as the template asks; the message says what to do."""


# ----- the template: the few keys the build needs ---------------------------------------------------------


def _value(text: str) -> str | list[str]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return [item.strip().strip("'\"") for item in text[1:-1].split(",") if item.strip()]
    return text.strip("'\"")


def _entries(text: str) -> Iterator[tuple[tuple[str, ...], str | list[str]]]:
    """(key path, value) of each `key: value` or `key:` + block list of a block-style YAML mapping.

    Not a YAML parser: it follows keys by indentation and reads one plain, quoted or `[a, b]` value, or a
    block list of plain items (a key with nested mappings yields an empty list). That is all the build reads
    from template.yaml (the functions, their Runtime and Architectures), so the build needs no PyYAML;
    tests/test_artifact.py checks what it reads against a real YAML parse.
    """
    stack: list[tuple[int, str]] = []
    lines = text.splitlines()
    for number, raw in enumerate(lines):
        line = re.sub(r"\s+#.*$", "", raw).rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+):(?:\s+(.*))?", line)
        if match is None:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(1)))
        path = tuple(key for _, key in stack)
        if match.group(2):
            yield path, _value(match.group(2))
            continue
        items = []
        for following in lines[number + 1 :]:
            item = re.fullmatch(r"(\s*)-\s+(.*?)\s*(#.*)?", following)
            if item is None or len(item.group(1)) < indent:
                break
            items.append(str(_value(item.group(2))))
        yield path, items


def template_value(text: str, path: tuple[str, ...]) -> str | list[str] | None:
    return next((value for at, value in _entries(text) if at == path), None)


def functions_of(template: Path) -> list[str]:
    """The logical ids of the template's AWS::Serverless::Function resources, in template order."""
    return [
        path[1]
        for path, value in _entries(template.read_text(encoding="utf-8"))
        if len(path) == 3 and path[0] == "Resources" and path[2] == "Type" and value == FUNCTION_TYPE
    ]


def runtime_of(template: Path, function: str) -> tuple[str, str]:
    """(Python version "X.Y", Lambda architecture) of `function`: its own Properties, else Globals."""
    text = template.read_text(encoding="utf-8")
    if template_value(text, ("Resources", function, "Type")) != FUNCTION_TYPE:
        raise BuildError(f"{template}: no AWS::Serverless::Function {function!r}")
    declared = {}
    for key in ("Runtime", "Architectures"):
        own = template_value(text, ("Resources", function, "Properties", key))
        declared[key] = own if own is not None else template_value(text, ("Globals", "Function", key))
    runtime, architectures = declared["Runtime"], declared["Architectures"] or ["x86_64"]
    version = re.fullmatch(r"python(3\.\d+)", str(runtime))
    if version is None:
        raise BuildError(f"{template}: {function} Runtime is {runtime!r}, not pythonX.Y")
    if not isinstance(architectures, list) or len(architectures) != 1 or architectures[0] not in MACHINES:
        raise BuildError(
            f"{template}: {function} Architectures is {architectures!r}, not [arm64] or [x86_64]"
        )
    return version.group(1), architectures[0]


# ----- the interpreter: pip must run on the runtime's Python version ---------------------------------------


def _reports(python: str, version: str) -> bool:
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            check=False, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def find_python(version: str) -> str:
    """A `pythonX.Y` that runs: this one, on PATH, or under pyenv (its versions need not be activated)."""
    if "{}.{}".format(*sys.version_info[:2]) == version:
        return sys.executable
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    installed = sorted(
        glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*", "bin", f"python{version}")),
        key=lambda path: [int(part) for part in re.findall(r"\d+", Path(path).parents[1].name)],
        reverse=True,
    )
    on_path = shutil.which(f"python{version}")  # may be a pyenv shim of a version not activated: tried
    for candidate in [*([on_path] if on_path else []), *installed]:
        if _reports(candidate, version):
            return candidate
    raise BuildError(
        f"the template's runtime is python{version}, and no python{version} was found on PATH or under "
        f"{pyenv_root}/versions: install it (e.g. `pyenv install {version}`); pip must run on the runtime's "
        "Python version to resolve its dependencies for it"
    )


# ----- dependencies ------------------------------------------------------------------------------------


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_class() -> Any:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip's own copy: the interpreter that runs pip always has it
        from pip._vendor.packaging.requirements import Requirement
    return Requirement


def target_environment(version: str, machine: str) -> dict[str, str]:
    """The marker environment of the Lambda runtime (Amazon Linux, CPython `version` on `machine`)."""
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{version}.0",
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{version}.0",
        "python_version": version,
        "sys_platform": "linux",
    }


def _installed(target: Path) -> dict[str, Path]:
    found = {}
    for dist_info in target.glob("*.dist-info"):
        name = re.search(r"^Name:\s*(\S+)", (dist_info / "METADATA").read_text(encoding="utf-8"), re.M)
        if name:
            found[_canonical(name.group(1))] = dist_info
    return found


def requirement_files(function: str) -> list[Path]:
    """What a function's package installs: requirements.txt, then the function's own additions."""
    own = ROOT / f"requirements-{function}.txt"
    return [REQUIREMENTS, *([own] if own.is_file() else [])]


def prune(target: Path, requirements: list[Path], environment: dict[str, str]) -> list[str]:
    """Remove the runtime-provided distributions and what only they needed; return the removed names.

    Walks the requirements' dependency graph as the runtime would see it (markers evaluated for its Python
    and machine, extras followed), never entering boto3, botocore or s3transfer. A distribution the walk
    needs but pip did not install (a marker that reads differently on the build machine) stops the build.
    """
    Requirement = _requirement_class()
    installed = _installed(target)
    pending = []
    lines = [(path, raw) for path in requirements for raw in path.read_text(encoding="utf-8").splitlines()]
    for path, raw in lines:
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-"):
            raise BuildError(f"{path}: options such as {line.split()[0]!r} are not supported")
        requirement = Requirement(line) if line else None
        if requirement and (
            requirement.marker is None or requirement.marker.evaluate({**environment, "extra": ""})
        ):
            pending.append(requirement)
    needed: set[str] = set()
    extras_seen: set[tuple[str, str]] = set()
    while pending:
        requirement = pending.pop()
        name = _canonical(requirement.name)
        if name in RUNTIME_PROVIDED:
            continue
        if name not in installed:
            raise BuildError(f"{name} is needed on the runtime and pip did not install it")
        extras = {_canonical(extra) for extra in requirement.extras} | {""}
        new = {(name, extra) for extra in extras} - extras_seen
        if not new:
            continue
        extras_seen |= new
        needed.add(name)
        metadata = (installed[name] / "METADATA").read_text(encoding="utf-8")
        for spec in re.findall(r"^Requires-Dist:\s*(.+)$", metadata, re.M):
            dependency = Requirement(spec)
            applies = dependency.marker is None or any(
                dependency.marker.evaluate({**environment, "extra": extra}) for _, extra in new
            )
            if applies:
                pending.append(dependency)
    removed = sorted(set(installed) - needed)
    for name in removed:
        _uninstall(target, installed[name])
    return removed


def _uninstall(target: Path, dist_info: Path) -> None:
    root = target.resolve()
    directories = set()
    with (dist_info / "RECORD").open(encoding="utf-8", newline="") as record:
        rows = [row for row in csv.reader(record) if row]
    for row in rows:
        path = (target / row[0]).resolve()
        if root not in path.parents:  # console scripts recorded outside the target: bin/ goes anyway
            continue
        path.unlink(missing_ok=True)
        directories.update(parent for parent in path.parents if root in parent.parents)
    shutil.rmtree(dist_info, ignore_errors=True)
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        for cache in directory.glob("__pycache__"):
            shutil.rmtree(cache)
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def install_requirements(python: str, target: Path, version: str, machine: str, files: list[Path]) -> None:
    command = [
        python, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-input", "--no-warn-script-location",
        "--platform", f"manylinux2014_{machine}",
        "--python-version", version,
        "--implementation", "cp",
        "--only-binary=:all:",
        "--no-compile",
        "--target", str(target),
        *(argument for path in files for argument in ("--requirement", str(path))),
    ]  # fmt: skip
    result = subprocess.run(command, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise BuildError(f"pip failed ({' '.join(command)}):\n{result.stdout}")


# ----- the engine's code -------------------------------------------------------------------------------


def copy_packages(target: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        return {name for name in names if name == "__pycache__" or name.endswith((".pyc", ".pyo"))}

    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=ignore)


def clean(target: Path) -> None:
    """No console scripts, no data files beside the packages (fonttools, matplotlib's dependency, installs a
    man page under share/), no bytecode: pip's `--no-compile` leaves none, and none may come from elsewhere."""
    shutil.rmtree(target / "bin", ignore_errors=True)
    shutil.rmtree(target / "share", ignore_errors=True)
    for cache in list(target.rglob("__pycache__")):
        shutil.rmtree(cache)
    for compiled in list(target.rglob("*.py[co]")):
        compiled.unlink()


def build(function: str, target: Path, template: Path, arch: str | None = None, python: str = "") -> None:
    """Build `function`'s package into `target`, pip run by `python` (default: found for the runtime)."""
    version, declared_arch = runtime_of(template, function)
    machine = MACHINES[arch or declared_arch]
    python = python or find_python(version)
    if target.exists() and any(target.iterdir()):
        raise BuildError(f"{target} is not empty: build into a new or empty directory")
    target.mkdir(parents=True, exist_ok=True)
    files = requirement_files(function)
    install_requirements(python, target, version, machine, files)
    removed = prune(target, files, target_environment(version, machine))
    clean(target)
    copy_packages(target)
    print(
        f"{function}: python{version} {machine} package in {target}"
        f" (left to the runtime: {', '.join(removed) or 'nothing'})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("function", nargs="?", help="logical id of an AWS::Serverless::Function")
    parser.add_argument("artifacts_dir", nargs="?", type=Path, help="new or empty directory for the package")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--list", action="store_true", help="print the template's functions and exit")
    parser.add_argument(
        "--arch", choices=sorted(MACHINES), help="override the template's architecture (tests: the host's)"
    )
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(functions_of(args.template)))
        return 0
    if args.function is None or args.artifacts_dir is None:
        parser.error("a function and an artifacts directory are required")
    try:
        python = find_python(runtime_of(args.template, args.function)[0])
        if os.path.realpath(python) != os.path.realpath(sys.executable) and not os.environ.get(REEXEC_MARK):
            # Re-run under the runtime's Python, which has pip (and pip's `packaging`) whatever python3 has.
            arguments = sys.argv[1:] if argv is None else argv
            os.execve(python, [python, __file__, *arguments], {**os.environ, REEXEC_MARK: "1"})
        build(args.function, args.artifacts_dir.resolve(), args.template, args.arch, python)
    except BuildError as error:
        print(f"build_function: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
