"""The `sla-engine` typer app and what its commands share: one-line errors, catalog loading, instants and
durations in words.

Command modules add their commands to `app`; `cli/main.py` imports them all, and nothing imports `cli/main.py`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from infra.catalog_source import CatalogError, load_catalog
from sla import catalog_views
from sla.catalog import Catalog, unknown_countries
from sla.events import INSTANT_EXAMPLE, out_of_range

if TYPE_CHECKING:
    from local.engine import Backend

# The commands' words for durations, calendars and instants, shared with the read API (sla.catalog_views).
describe_calendar = catalog_views.describe_calendar
human = catalog_views.human
iso_local = catalog_views.iso_local
iso_utc = catalog_views.iso_utc

T = TypeVar("T", bound=str)
F = TypeVar("F", bound=Callable[..., Any])


# -- one-line errors and plain help, for every command ---------------------------------------------------


def error_line(option: str, problem: str) -> str:
    """`Error: <option>: <problem>` on one line, whatever line breaks the problem's text holds."""
    return f"Error: {option}: {' '.join(problem.split())}"


def _param_name(param: Any) -> str:
    """A parameter as the command line names it: its long option, or an argument's name in capitals."""
    if isinstance(param, TyperArgument) or getattr(param, "param_type_name", None) == "argument":
        return str(param.metavar or param.name or "ARGUMENT").upper()
    opts = list(getattr(param, "opts", None) or [])
    long_opts = [opt for opt in opts if opt.startswith("--")]
    return str((long_opts or opts or [param.name])[0])


def usage_error_line(error: Exception) -> str:
    """A usage error of typer (click) as one line naming the option or argument and the problem.

    Read by attributes rather than by class, as click's classes are private to typer.
    """
    ctx = getattr(error, "ctx", None)
    command = str(getattr(ctx, "command_path", "") or "sla-engine")
    message = str(getattr(error, "message", "") or error)
    param = getattr(error, "param", None)
    option = getattr(error, "option_name", None)
    kind = type(error).__name__
    if kind == "MissingParameter" and param is not None:
        help_text = str(getattr(param, "help", "") or "").strip()
        return error_line(_param_name(param), f"missing; {help_text}" if help_text else "missing")
    if param is not None:
        return error_line(_param_name(param), message)
    if kind == "NoSuchOption" and option:
        known = sorted(getattr(error, "possibilities", None) or [])
        hint = f"did you mean {' or '.join(known)}?" if known else f"see '{command} --help'"
        return error_line(str(option), f"no such option of {command}; {hint}")
    if option:  # "Option '--level' requires an argument."
        problem = message.removeprefix(f"Option '{option}' ").rstrip(".")
        return error_line(str(option), problem)
    unknown = _NO_SUCH_COMMAND.fullmatch(message)
    group = getattr(ctx, "command", None)
    if unknown and isinstance(group, TyperGroup):
        close = f" (did you mean {unknown['close']}?)" if unknown["close"] else ""
        commands = ", ".join(group.list_commands(ctx))  # type: ignore[arg-type]
        return error_line(unknown["name"], f"no such command{close}; the commands are {commands}")
    extra = _EXTRA_ARGUMENTS.fullmatch(message)
    if extra:
        return error_line(extra["args"], f"unexpected argument of {command}; see '{command} --help'")
    return error_line(command, message.rstrip("."))


# Click's wording of the two usage errors that name neither an option nor an argument; when it changes,
# the message is still shown whole, after the command's name.
_NO_SUCH_COMMAND = re.compile(r"No such command '(?P<name>.*)'\.(?: Did you mean '(?P<close>.*)'\?)?")
_EXTRA_ARGUMENTS = re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)")


class OneLineErrors(TyperGroup):
    """The app's group: every usage error, typer's own included, is one line `Error: <option>: <problem>`
    with exit status 2. Typer prints its own as a five-line box (usage, hint, a framed message); these
    lines are read by scripts and in CI logs as often as by people."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            outcome = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        except Exception as error:
            exit_code = getattr(error, "exit_code", None)
            if not isinstance(exit_code, int) or not hasattr(error, "format_message"):
                raise  # not a usage error: a bug, which typer shows with its traceback
            if type(error).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
                line = usage_error_line(error) if exit_code == 2 else f"Error: {error.format_message()}"
                typer.echo(line, err=True)
            sys.exit(exit_code)
        # Without standalone mode typer returns the status of a typer.Exit, and a command's own value.
        sys.exit(outcome if isinstance(outcome, int) else 0)

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        return _plain_help(super().get_help_option(ctx))


class PlainHelpGroup(TyperGroup):
    """A group of commands (such as `dlq`) whose `--help` shows no `<bool>` type, like the app's."""

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        return _plain_help(super().get_help_option(ctx))


def _plain_help(option: TyperOption | None) -> TyperOption | None:
    if option is not None:
        option.metavar = ""
    return option


class PlainHelpCommand(TyperCommand):
    """A command whose help names its arguments as `EVENTS`, not `{events}`, and shows no `<bool>` type
    beside a flag such as `--help`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.metavar = param.metavar or str(param.name).upper()
                param.__class__ = _NamedArgument  # adds no state: only how its help reads
            elif isinstance(param, TyperOption) and param.metavar is None:
                param.metavar = "" if param.is_flag else _metavar(param)

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        return _plain_help(super().get_help_option(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = _param_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class _NamedArgument(TyperArgument):
    """An argument whose help shows its name (EVENTS) and its text, not also a Python type (`<path>`)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _metavar(option: TyperOption) -> str | None:
    """A value's placeholder in words (TEXT, FILE, INTEGER) rather than a Python type (`<str>`, `<path>`);
    None keeps typer's display, e.g. an option's choices."""
    if getattr(getattr(option, "type_descriptor", None), "is_choice", False):
        return None
    bare = option.bare_type()
    return {"str": "TEXT", "Path": "FILE", "int": "INTEGER", "float": "NUMBER"}.get(bare, bare.upper())


class SlaTyper(typer.Typer):
    """Commands are PlainHelpCommand unless they name their own class."""

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[F], F]:
        return super().command(name, cls=cls or PlainHelpCommand, **kwargs)


app = SlaTyper(
    cls=OneLineErrors,
    name="sla-engine",
    help="""Support-tier and SLA engine for a hosting provider: SLA clocks, warnings and escalation.

Examples:

```
sla-engine plans
sla-engine due --level premium --severity high --opened 2026-04-03T17:30:00+02:00
sla-engine demo
```""",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)

CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        envvar="SLA_CATALOG_PATH",
        show_envvar=True,
        help="Operator's catalog TOML file, instead of the packaged default.",
        metavar="FILE",
    ),
]

BackendOption = Annotated[
    str,
    typer.Option(
        "--backend",
        help="Where the local engine keeps its state: memory (fast, linear in the history: any length) or "
        "moto (the AWS APIs emulated from template.yaml and the Lambda handlers as deployed: a few hundred "
        "events).",
        metavar="memory|moto",
    ),
]


def backend_choice(value: str) -> Backend:
    """The `--backend` value, or a one-line error listing the backends."""
    from local.engine import BACKENDS  # the engine loads with the commands that run it

    return choose("--backend", value, BACKENDS, "backend")


def fail(option: str, problem: str) -> NoReturn:
    """Stop on a bad argument the way typer's own usage errors do (status 2), but on one line naming it.

    One line because these errors are read by scripts and in CI logs as often as by people.
    """
    typer.echo(error_line(option, problem), err=True)
    raise typer.Exit(2)


def open_catalog(path: Path | None) -> Catalog:
    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        fail("--catalog", str(exc))
    problems = unknown_countries(catalog)  # the check a deployed function skips at cold start (slow import)
    if problems:
        fail("--catalog", f"{path or 'the packaged catalog'}: {'; '.join(problems)}")
    return catalog


def stdout_console() -> Console:
    # Created per command so that it writes to the sys.stdout of the moment (test runners swap it); wide
    # enough when piped that tables are not folded to 80 columns.
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))
    return console


def parse_instant(option: str, text: str) -> datetime:
    """An aware instant from the command line, within the instants the engine takes (those of the event
    contract, so no calendar overflows past year 9999); a naive one is refused, as its zone would be a
    guess."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        fail(option, f"{text!r} is not an ISO 8601 instant like {INSTANT_EXAMPLE}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        fail(option, f"{text!r} has no UTC offset; add one, like {text}+02:00 or {text}Z")
    problem = out_of_range(instant)
    if problem is not None:
        fail(option, problem)
    return instant


def choose(option: str, value: str, known: tuple[T, ...], what: str) -> T:
    """`value` as one of `known`, or a one-line error listing them (typer's choices print a panel)."""
    for candidate in known:
        if candidate == value:
            return candidate
    fail(option, f"unknown {what} {value!r}; known: {', '.join(known)}")
