"""The Lambda package that scripts/build_function.py builds (as `sam build` and `make build` run it).

It must start on the runtime template.yaml declares, from the package alone: the handlers are imported and
their cold start built by that Python version in a process that sees only the package (and, behind it, the
boto3 and botocore the Lambda runtime provides). The package for the declared architecture must hold only
wheels for that runtime and machine (or pure Python), the engine's three packages without the local harness,
and nothing of the build machine: no bytecode, no console scripts, no boto3 or botocore of its own.

The builds run pip against PyPI (pip's own cache, ~/.cache/pip, keeps repeated runs short) with the runtime's
Python version, which the machines have under pyenv: a machine without it fails these tests, with that reason.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
BUILD_SCRIPT = ROOT / "scripts" / "build_function.py"
ENGINE_PACKAGES = ("sla", "infra", "functions")
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer"}
HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}  # e_machine of the ELF header
BUILD_TIMEOUT = 900


def _load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_function", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_function = _load_build_script()


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags as {"!Tag": value}."""


def _tagged(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {f"!{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _tagged)
TEMPLATE_DATA: dict[str, Any] = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)
FUNCTIONS = {
    name: resource
    for name, resource in TEMPLATE_DATA["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
GLOBALS = TEMPLATE_DATA.get("Globals", {}).get("Function", {})


def declared(function: str, key: str) -> Any:
    return FUNCTIONS[function]["Properties"].get(key, GLOBALS.get(key))


def runtime_builds() -> dict[tuple[str, str, tuple[str, ...]], list[str]]:
    """The functions grouped by (Python version, architecture, requirement files): one package build serves
    each group."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for function in FUNCTIONS:
        files = tuple(path.name for path in build_function.requirement_files(function))
        groups.setdefault((*build_function.runtime_of(TEMPLATE, function), files), []).append(function)
    return groups


def others_own_modules(files: tuple[str, ...]) -> list[str]:
    """Top-level modules of the functions' own requirements (requirements-<Function>.txt) not in `files`:
    an engine module that needs one of them (the report's matplotlib) may not import from this package."""
    names = []
    for path in sorted(ROOT.glob("requirements-*.txt")):
        if path.name not in files:
            lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
            names += [re.split(r"[^A-Za-z0-9_.-]", line, maxsplit=1)[0].lower() for line in lines if line]
    return names


def runtime_python(version: str) -> str:
    try:
        return str(build_function.find_python(version))
    except build_function.BuildError as error:
        pytest.fail(
            f"python{version}, the runtime template.yaml declares, is not on this machine (`pyenv which "
            f"python{version}` or ~/.pyenv/versions/{version}*/bin/python{version}): {error}"
        )


def run(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> None:
    stdout, stderr = process.communicate(timeout=BUILD_TIMEOUT)
    assert process.returncode == 0, f"{' '.join(map(str, process.args))} failed:\n{stdout}\n{stderr}"


def start_build(function: str, target: Path, arch: str | None = None) -> subprocess.Popen[str]:
    return run(
        [sys.executable, str(BUILD_SCRIPT), function, str(target), *(["--arch", arch] if arch else [])]
    )


def build(function: str, target: Path, arch: str | None = None) -> Path:
    finish(start_build(function, target, arch))
    return target


# ----- the template as the build reads it --------------------------------------------------------------


def test_the_build_reads_the_template_as_yaml_does() -> None:
    assert build_function.functions_of(TEMPLATE) == list(FUNCTIONS)
    for function, resource in FUNCTIONS.items():
        runtime, architectures = declared(function, "Runtime"), declared(function, "Architectures")
        assert build_function.runtime_of(TEMPLATE, function) == (
            runtime.removeprefix("python"),
            architectures[0],
        ), function
        metadata = resource.get("Metadata", {})
        # sam copies ProjectRootDirectory to a scratch directory before it runs the Makefile: the build
        # script's directory, never the repository with its .venv.
        assert metadata.get("BuildMethod") == "makefile", function
        assert (ROOT / metadata["ContextPath"] / "Makefile").is_file(), function
        assert (ROOT / metadata["ProjectRootDirectory"]).resolve() == BUILD_SCRIPT.parent, function


# ----- the package starts on the runtime ----------------------------------------------------------------


def handler_of(function: str) -> str:
    return str(FUNCTIONS[function]["Properties"]["Handler"])


def _placeholder(name: str, value: Any) -> str:
    """A stand-in for a template value that only exists once deployed (a !Ref, !GetAtt or !Sub)."""
    if isinstance(value, (str, int, float, bool)):
        return str(value)
    (tag, argument), *_ = value.items()
    if tag == "!Ref":
        parameter = TEMPLATE_DATA.get("Parameters", {}).get(argument)
        if parameter is not None and "Default" in parameter:
            return str(parameter["Default"])
        return f"{argument}-placeholder@example.com" if "Sender" in argument else f"{argument}-placeholder"
    if tag == "!Sub" and isinstance(argument, str):
        return re.sub(r"\$\{([^}]*)\}", lambda match: match.group(1).replace(".", "-"), argument)
    return f"arn:aws:placeholder:eu-west-1:123456789012:{name.lower()}"


def lambda_environment(function: str, root: Path) -> dict[str, str]:
    """What Lambda sets before the handler module is imported, with this function's template variables."""
    variables = {
        **GLOBALS.get("Environment", {}).get("Variables", {}),
        **FUNCTIONS[function]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(root),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{declared(function, 'Runtime')}",
        "AWS_LAMBDA_FUNCTION_NAME": f"sla-engine-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(declared(function, "MemorySize") or 128),
        "_HANDLER": handler_of(function),
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        # Anything that does call AWS while the module loads fails at once instead of waiting on a network.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        **{name: _placeholder(name, value) for name, value in variables.items()},
    }


# Run by the runtime's Python with -I -S -B: no PYTHON* variables (so no PYTHONPATH: isolated mode ignores
# it), no site-packages of that interpreter, no bytecode written into the package. The probe puts on sys.path
# what Lambda does: the package first, then the runtime's boto3 and botocore.
PROBE = r"""
import importlib, json, pkgutil, sys, time
package, sdk, handler = sys.argv[1:4]
all_modules = "--all-modules" in sys.argv[4:]
optional = set(sys.argv[sys.argv.index("--optional") + 1 :]) if "--optional" in sys.argv else set()
sys.path[:0] = [package, sdk]
report = {}
started = time.perf_counter()
module_name, _, attribute = handler.rpartition(".")
module = importlib.import_module(module_name)
report["handler_callable"] = callable(getattr(module, attribute, None))
# The cold start, as the first event runs it: settings from the environment, clients, the catalog.
if callable(getattr(module, "dependencies", None)):
    report["dependencies"] = type(module.dependencies()).__name__
report["seconds"] = round(time.perf_counter() - started, 3)
# What the handlers load only on first use must be in the package too: every engine module imports.
failed = {}
for top in ("sla", "infra", "functions") if all_modules else ():
    root = importlib.import_module(top)
    for info in pkgutil.walk_packages(root.__path__, top + "."):
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as error:
            if (error.name or "").split(".")[0] not in optional:
                failed[info.name] = f"{type(error).__name__}: {error}"
        except Exception as error:
            failed[info.name] = f"{type(error).__name__}: {error}"
report["failed_modules"] = failed
report["files"] = {
    name: getattr(loaded, "__file__", None) for name, loaded in sys.modules.items() if "." not in name
}
print(json.dumps(report))
"""


def start_runtime_sdk(python: str, target: Path) -> subprocess.Popen[str]:
    """Install boto3 and botocore as the Lambda runtime provides them, for the runtime's Python version.

    As old as pyproject.toml allows (`boto3>=X.Y` gives boto3 and botocore X.Y.0, a matching pair): the
    engine must not need a newer SDK than the oldest it declares, whatever the runtime ships that week.
    """
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bounds = [re.fullmatch(r"boto3>=([\d.]+)", spec) for spec in dependencies["dependencies"]]
    bound = next((match for match in bounds if match), None)
    assert bound is not None, "pyproject.toml: boto3 needs a lower bound (boto3>=X.Y)"
    release = ".".join([*bound.group(1).split("."), "0", "0"][:3])
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    command += ["--only-binary=:all:", "--target", str(target), f"boto3=={release}", f"botocore=={release}"]
    return run(command)


def test_every_handler_starts_on_the_runtime_python_from_the_package_alone(tmp_path: Path) -> None:
    arch = HOST_ARCH[platform.machine().lower()]
    problems = []
    for (version, _, files), functions in runtime_builds().items():
        python = runtime_python(version)
        package, sdk = tmp_path / f"package-{functions[0]}-{arch}", tmp_path / f"runtime-sdk-{functions[0]}"
        building, installing = start_build(functions[0], package, arch), start_runtime_sdk(python, sdk)
        try:
            finish(building)
            finish(installing)
        finally:
            for process in (building, installing):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        stdlib = Path(
            subprocess.check_output([python, "-I", "-S", "-c", "import os; print(os.__file__)"], text=True)
        ).parent
        # One process per function, as Lambda runs them, side by side; the first also imports every module.
        running = {
            function: subprocess.Popen(
                [python, "-I", "-S", "-B", "-c", PROBE, str(package), str(sdk), handler_of(function)]
                + (
                    ["--all-modules", "--optional", *others_own_modules(files)]
                    if function == functions[0]
                    else []
                ),
                cwd=tmp_path,
                env=lambda_environment(function, package),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for function in functions
        }
        for function, process in running.items():
            stdout, stderr = process.communicate(timeout=180)
            if process.returncode != 0:
                problems.append(f"{function} ({handler_of(function)}) does not start:\n{stderr[-3000:]}")
                continue
            report = json.loads(stdout.splitlines()[-1])
            if not report["handler_callable"]:
                problems.append(f"{function}: {handler_of(function)} is not a callable")
            if report["failed_modules"]:
                problems.append(f"{function}: engine modules that do not import: {report['failed_modules']}")
            for name, file in report["files"].items():
                allowed = [package] + ([sdk] if name in RUNTIME_PROVIDED | {"urllib3"} else [])
                if file and not any(Path(file).is_relative_to(place) for place in (*allowed, stdlib)):
                    problems.append(f"{function}: module {name} came from {file}, not from the package")
            for name in ("boto3", "botocore"):
                file = report["files"].get(name)
                if file and not Path(file).is_relative_to(sdk):
                    problems.append(f"{function}: {name} came from {file}, not from the runtime")
            for name in ("yaml", "moto", "typer", "rich", "cli", "local"):
                if name in report["files"]:
                    problems.append(f"{function}: {name} is loaded")
    assert not problems, "\n".join(problems)


# ----- the package for the declared architecture holds nothing else -----------------------------------


def _elf_machine(path: Path) -> str | None:
    with path.open("rb") as file:
        header = file.read(20)
    if header[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little" if header[5] == 1 else "big"), "other")


def _wheel_tags(dist_info: Path) -> list[str]:
    return re.findall(r"^Tag:\s*(\S+)", (dist_info / "WHEEL").read_text(encoding="utf-8"), re.M)


def _tag_fits(tag: str, version: str, machine: str) -> bool:
    python, abi, platform_tag = tag.split("-")
    if platform_tag == "any":
        return abi == "none" and python.startswith("py3")
    minor = int(version.split(".")[1])
    fits_platform = platform_tag.startswith("manylinux") and platform_tag.endswith(f"_{machine}")
    fits_abi = abi == f"cp3{minor}" or (abi == "abi3" and int(python.removeprefix("cp3")) <= minor)
    return fits_platform and fits_abi


def test_the_package_for_the_declared_architecture_holds_runtime_wheels_and_the_engine_only(
    tmp_path: Path,
) -> None:
    problems: list[str] = []
    for (version, arch, _), functions in runtime_builds().items():
        machine = build_function.MACHINES[arch]
        package = build(functions[0], tmp_path / f"package-{functions[0]}-{arch}")
        files = [path for path in package.rglob("*") if path.is_file()]
        relative = {path.relative_to(package).as_posix() for path in files}

        for path in files:
            found = _elf_machine(path)
            name = path.name
            if found is not None and found != machine:
                problems.append(f"{name}: compiled for {found}, not {machine}")
            if name.endswith(".so") and ".libs/" not in path.relative_to(package).as_posix():
                tag = re.search(r"\.(cpython-\d+-[^.]+|abi3)\.so$", name)
                expected = f"cpython-{version.replace('.', '')}-{machine}-linux-gnu"
                if tag is None or tag.group(1) not in (expected, "abi3"):
                    problems.append(f"{path.relative_to(package)}: not a {expected} or abi3 extension")
        for dist_info in package.glob("*.dist-info"):
            tags = _wheel_tags(dist_info)
            if not any(_tag_fits(tag, version, machine) for tag in tags):
                problems.append(f"{dist_info.name}: wheel tags {tags} do not fit python{version} {machine}")

        bytecode = sorted(p for p in relative if "__pycache__/" in p or p.endswith((".pyc", ".pyo")))
        if bytecode:
            problems.append(f"bytecode: {bytecode[:5]}")
        if (package / "bin").exists():
            problems.append(f"console scripts: {sorted(p.name for p in (package / 'bin').iterdir())}")
        modules = {path.name.removesuffix(".py") for path in package.iterdir()}
        for unwanted in ("yaml", "_yaml", "moto", *RUNTIME_PROVIDED):
            if unwanted in modules:
                problems.append(f"module {unwanted} is in the package")
        dists = {
            re.sub(r"[-_.]+", "-", dist.name.split("-")[0]).lower() for dist in package.glob("*.dist-info")
        }
        if dists & RUNTIME_PROVIDED:
            problems.append(f"left to the runtime, yet bundled: {sorted(dists & RUNTIME_PROVIDED)}")
        local_dirs = [
            path
            for path in package.rglob("*")
            if path.is_dir()
            and path.name in ("local", "cli")
            and (path.parent == package or path.relative_to(package).parts[0] in ENGINE_PACKAGES)
        ]
        if local_dirs:
            problems.append(f"local-only packages: {[str(p.relative_to(package)) for p in local_dirs]}")

        # Only the requirements (each top-level entry belongs to an installed distribution) and the engine.
        recorded = set()
        for dist_info in package.glob("*.dist-info"):
            recorded.add(dist_info.name)
            for row in (dist_info / "RECORD").read_text(encoding="utf-8").splitlines():
                recorded.add(row.split(",")[0].split("/")[0])
        stray = sorted(p.name for p in package.iterdir() if p.name not in recorded | set(ENGINE_PACKAGES))
        if stray:
            problems.append(f"neither a requirement nor the engine: {stray}")
        # ...and all of the engine: every module of the three packages.
        sources = {
            path.relative_to(ROOT).as_posix()
            for package_name in ENGINE_PACKAGES
            for path in (ROOT / package_name).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        }
        missing = sorted(sources - relative)
        if missing:
            problems.append(f"engine files missing from the package: {missing}")
    assert not problems, "\n".join(problems)
