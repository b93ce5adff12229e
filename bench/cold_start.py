"""Cold start: each handler's import and init against the bare stack, in fresh processes, in one run.

The bare stack is what any Powertools function on boto3 and pydantic pays before its own code:
`import boto3, pydantic, aws_lambda_powertools` and `Logger(); Metrics(); Tracer()`. A handler's cold start is
`import functions.<name>` (its module-level init included: Logger, Metrics, Tracer, batch processor). Goal:
at most 1.1x the bare stack (issue 8, item 7).

Each sample is a fresh interpreter timed from inside (interpreter start-up, the same for both sides, is left
out, so the ratio is the stricter one), in CPU time (user+sys: what the imports cost, steadier than wall time
on a shared machine) and in wall time. The subjects alternate round after round, in a rotated order, after a
discarded warm-up round (bytecode compiled, files in the page cache); figures are medians of RUNS samples
(BENCH_COLD_START_RUNS, 15 by default).

Separately, the dependency build a cold start does on first use (`dependencies()`: settings from the
environment, the packaged catalog, botocore clients created, no call made), against creating the same
clients with bare boto3 in the baseline process; and the total of both.

The environment is a deployed function's: the Globals and the function's variables of template.yaml (CFN
intrinsics replaced by a parameter's default or a placeholder), the variables the Lambda runtime sets
(LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, AWS_EXECUTION_ENV, X-Ray daemon address, ...), fake credentials,
region eu-west-1, no AWS config files, and AWS_ENDPOINT_URL pointing at a closed local port so that nothing
can reach AWS. Two modes:
- "Lambda, X-Ray on": POWERTOOLS_TRACE_DISABLED unset, as deployed (Tracing: Active). Each side's Tracer
  patches what it asks for: the bare `Tracer()` every library the X-Ray SDK supports that is installed (in
  this venv that includes dev-only packages, e.g. requests, which the Lambda artifact does not hold), a
  handler only the libraries it calls through.
- "tracing off": POWERTOOLS_TRACE_DISABLED=true on both sides, nothing patched: the ratio is the cost of the
  engine's own modules alone.
The Python is this venv's, not the runtime's 3.12 on arm64: the ratios are what to compare, not the ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
RUNS = int(os.environ.get("BENCH_COLD_START_RUNS", "15"))
GOAL = 1.1
REGION = "eu-west-1"
BASELINE = "bare stack"
# The clients each handler's dependency build creates (infra.wiring, infra.notify.delivery).
CLIENTS = {
    "ingest": ("dynamodb",),
    "sweeper": ("dynamodb",),
    "notifier": ("dynamodb", "ssm", "secretsmanager", "sns", "ses", "sqs"),
    "query": ("dynamodb",),
}
HANDLERS = tuple(CLIENTS)
ALL_CLIENTS = tuple(dict.fromkeys(name for names in CLIENTS.values() for name in names))

# Each program prints "<figure> <cpu seconds> <wall seconds>" lines.
_HANDLER_PROGRAM = """\
from time import perf_counter as wall, process_time as cpu
c0, w0 = cpu(), wall()
import functions.{name} as handler_module
c1, w1 = cpu(), wall()
handler_module.dependencies()
c2, w2 = cpu(), wall()
print("import", c1 - c0, w1 - w0)
print("build", c2 - c1, w2 - w1)
"""

_BASELINE_PROGRAM = """\
from time import perf_counter as wall, process_time as cpu
c0, w0 = cpu(), wall()
import boto3, pydantic, aws_lambda_powertools
from aws_lambda_powertools import Logger, Metrics, Tracer
Logger(); Metrics(); Tracer()
c1, w1 = cpu(), wall()
print("import", c1 - c0, w1 - w0)
from botocore.config import Config
config = Config(retries={{"mode": "standard", "max_attempts": 5}}, connect_timeout=3, read_timeout=5)
for name in {clients!r}:
    c, w = cpu(), wall()
    boto3.client(name, config=config)
    print("client:" + name, cpu() - c, wall() - w)
"""


# -- the environment of a deployed function ----------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """template.yaml with its short-form intrinsics (!Ref, !GetAtt, !Sub...) read as {tag: value}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def _resolve(value: Any, parameters: dict[str, Any]) -> str:
    """A variable's value: a parameter's default for a Ref to it, a placeholder for anything else."""
    if isinstance(value, dict):
        (tag, argument), *_ = value.items()
        if tag == "Ref" and isinstance(parameters.get(argument), dict) and "Default" in parameters[argument]:
            return str(parameters[argument]["Default"])
        return f"bench-{argument if isinstance(argument, str) else tag}"
    return str(value)


def lambda_environment(handler: str | None, trace_disabled: bool, config_dir: Path) -> dict[str, str]:
    template = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)
    parameters = template.get("Parameters", {})
    function_name, properties = "BareStack", {}
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if (
            resource.get("Type") == "AWS::Serverless::Function"
            and props.get("Handler") == f"functions.{handler}.handler"
        ):
            function_name, properties = logical_id, props
    if handler is not None and not properties:
        raise SystemExit(f"template.yaml has no function with Handler functions.{handler}.handler")
    globals_ = template.get("Globals", {}).get("Function", {})
    variables = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    runtime = properties.get("Runtime", globals_.get("Runtime", "python3.12"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(config_dir),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": str(ROOT),
        # What the Lambda runtime sets.
        "LAMBDA_TASK_ROOT": str(ROOT),
        "LAMBDA_RUNTIME_DIR": str(ROOT),
        "_HANDLER": f"functions.{handler}.handler" if handler else "bare.handler",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": f"sla-engine-bench-{function_name}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", globals_.get("MemorySize", 128))),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/sla-engine-bench-{function_name}",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "AKIABENCHCOLDSTART00",
        "AWS_SECRET_ACCESS_KEY": "bench-cold-start-not-a-secret",
        "AWS_SESSION_TOKEN": "bench-cold-start-not-a-token",
        # No config files (Lambda has none), and any call would hit a closed local port, not AWS.
        "AWS_CONFIG_FILE": str(config_dir / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(config_dir / "no-credentials"),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **{name: _resolve(value, parameters) for name, value in variables.items()},
    }
    if trace_disabled:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


# -- sampling ----------------------------------------------------------------------------------------------

Sample = dict[str, tuple[float, float]]
"""One process's figures: name -> (CPU ms, wall ms)."""
CPU, WALL = 0, 1


def _sample(program: str, env: dict[str, str]) -> Sample:
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"cold-start sample failed:\n{done.stderr}")
    figures = {}
    for line in done.stdout.splitlines():
        name, cpu, wall = line.split()
        figures[name] = (float(cpu) * 1000, float(wall) * 1000)
    return figures


def _rounds(subjects: list[str]) -> Iterator[list[str]]:
    yield subjects  # warm-up, discarded
    for n in range(RUNS):
        k = n % len(subjects)
        yield subjects[k:] + subjects[:k]


def measure(trace_disabled: bool) -> dict[str, list[Sample]]:
    """RUNS samples of each subject (the bare stack and each handler), taken in alternation."""
    subjects = [BASELINE, *HANDLERS]
    samples: dict[str, list[Sample]] = {subject: [] for subject in subjects}
    with tempfile.TemporaryDirectory(prefix="cold-start-") as config_dir:
        envs = {
            subject: lambda_environment(
                None if subject == BASELINE else subject, trace_disabled, Path(config_dir)
            )
            for subject in subjects
        }
        programs = {subject: _HANDLER_PROGRAM.format(name=subject) for subject in HANDLERS}
        programs[BASELINE] = _BASELINE_PROGRAM.format(clients=ALL_CLIENTS)
        for number, order in enumerate(_rounds(subjects)):
            for subject in order:
                figures = _sample(programs[subject], envs[subject])
                if number > 0:
                    samples[subject].append(figures)
    return samples


@dataclass(frozen=True)
class Row:
    handler: str
    import_ms: float  # median CPU ms of import+init
    baseline_ms: float  # median CPU ms of the bare stack
    ratio: float
    wall_ratio: float
    build_ms: float  # median CPU ms of dependencies()
    bare_clients_ms: float  # median CPU ms of creating the same clients with bare boto3
    total_ratio: float  # (import+init+build) over (bare stack+bare clients)

    @property
    def met(self) -> bool:
        return self.ratio <= GOAL


def _median(samples: list[Sample], *names: str, clock: int = CPU) -> float:
    return statistics.median(sum(sample[name][clock] for name in names) for sample in samples)


def rows(samples: dict[str, list[Sample]]) -> list[Row]:
    base = samples[BASELINE]
    result = []
    for handler in HANDLERS:
        own = samples[handler]
        clients = [f"client:{name}" for name in CLIENTS[handler]]
        result.append(
            Row(
                handler=handler,
                import_ms=_median(own, "import"),
                baseline_ms=_median(base, "import"),
                ratio=_median(own, "import") / _median(base, "import"),
                wall_ratio=_median(own, "import", clock=WALL) / _median(base, "import", clock=WALL),
                build_ms=_median(own, "build"),
                bare_clients_ms=_median(base, *clients),
                total_ratio=_median(own, "import", "build") / _median(base, "import", *clients),
            )
        )
    return result


def _report(title: str, samples: dict[str, list[Sample]]) -> None:
    print(f"-- {title}: {RUNS} fresh processes per subject, alternating; medians, CPU ms")
    print(
        f"   {'handler':<9} {'import+init':>11} {'bare stack':>10} {'ratio':>6}  {'goal <= 1.1x':<12}"
        f" {'wall ratio':>10} {'deps build':>10} {'bare clients':>12} {'total ratio':>11}"
    )
    for row in rows(samples):
        print(
            f"   {row.handler:<9} {row.import_ms:>11.1f} {row.baseline_ms:>10.1f} {row.ratio:>5.2f}x"
            f"  {'met' if row.met else 'NOT MET':<12} {row.wall_ratio:>9.2f}x {row.build_ms:>10.1f}"
            f" {row.bare_clients_ms:>12.1f} {row.total_ratio:>10.2f}x"
        )


def run() -> None:
    print(
        f"python {sys.version.split()[0]}; goal: a handler's import+init <= {GOAL}x the bare stack's"
        " (import boto3, pydantic, aws_lambda_powertools; Logger(); Metrics(); Tracer())"
    )
    print(
        "ratio: medians of CPU time (user+sys, steadier than wall time on a shared machine); wall ratio: the same"
        " in wall time.\ndeps build: dependencies() on first use (settings, catalog, engine modules, clients,"
        " no call); bare clients: the same\nclients from bare boto3; total ratio: import+init+build over bare"
        " stack+bare clients."
    )
    _report("Lambda, X-Ray on (POWERTOOLS_TRACE_DISABLED unset)", measure(trace_disabled=False))
    _report("tracing off (POWERTOOLS_TRACE_DISABLED=true)", measure(trace_disabled=True))


if __name__ == "__main__":
    run()
