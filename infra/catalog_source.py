"""Reading the support catalog from the packaged default or an operator's file.

The operator changes a promise by pointing configuration (`SLA_CATALOG_PATH`, read by the caller's settings)
at another file; nothing here reads the environment, so importing this module has no side effects and tests
choose their catalog explicitly. A catalog that cannot be read or validated must stop the caller with a
message an operator can act on: which file, and which field paths are wrong.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sla.catalog import Catalog, chain_versions, parse_catalog

DEFAULT_RESOURCE = ("sla", "catalog.toml")


class CatalogError(Exception):
    """A catalog that cannot be used; the message is one line so it fits a CLI error or a log record."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(f"catalog {source}: {'; '.join(problems)}")


def load_catalog(path: Path | None = None) -> Catalog:
    """The operator's catalog at `path`, or the packaged default when no path is configured.

    `path` may be a directory of catalog versions (`*.toml`, each with its `effective_from`, one of them
    possibly without: in force since always): clocks use the version in force when they start, so an
    operator keeps the old versions beside the new one instead of editing the promise in place.
    """
    if path is not None and path.is_dir():
        files = sorted(path.glob("*.toml"))
        if not files:
            raise CatalogError(str(path), ["a directory of catalog versions holds no *.toml file"])
        try:
            return chain_versions([load_catalog(file) for file in files])
        except ValueError as exc:
            raise CatalogError(str(path), [str(exc)]) from exc
    if path is None:
        package, name = DEFAULT_RESOURCE
        resource = resources.files(package).joinpath(name)
        source = f"{package}/{name} (packaged default)"
        try:
            text = resource.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # a broken installation, not an operator's mistake
            raise CatalogError(source, [f"cannot be read: {exc}"]) from exc
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise CatalogError(source, ["no such file"]) from exc
        except UnicodeDecodeError as exc:
            raise CatalogError(source, [f"is not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
        except OSError as exc:
            raise CatalogError(source, [f"cannot be read: {exc.strerror or exc}"]) from exc
    return _parse(source, text)


def _parse(source: str, text: str) -> Catalog:
    try:
        return parse_catalog(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(source, [f"is not valid TOML: {exc}"]) from exc
    except ValidationError as exc:
        raise CatalogError(source, [_describe(error) for error in exc.errors()]) from exc


def _describe(error: ErrorDetails) -> str:
    # The location is the field path the operator has to fix; pydantic's own wording is kept otherwise.
    location = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{location}: {message}" if location else message
