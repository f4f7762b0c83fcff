"""One check of a config file's keys and value types, so a typo or a quoted
number is one line naming the file and the key, before any run starts."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

# Tables that are not settings of their own ([providers.NAME] in the user config).
TABLES = {"providers": dict}


class ConfigError(Exception):
    pass


def check_values(values: dict[str, Any], hints: dict[str, Any], where: Path) -> dict[str, Any]:
    """`values` with `_` keys and checked types; ConfigError on the first unknown key or wrong type."""
    checked = {}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        hint = hints.get(key) or TABLES.get(key)
        if hint is None:
            raise ConfigError(f"{where}: unknown key `{raw_key}`{_closest(key, [*hints, *TABLES])}")
        try:
            checked[key] = TypeAdapter(_as_written(hint)).validate_python(value, strict=True)
        except ValidationError:
            raise ConfigError(f"{where}: `{raw_key}` must be {describe(hint)}, not {_toml_repr(value)}") from None
    return checked


def describe(hint: Any) -> str:
    """A type as a person says it: "an integer", "a list of strings"."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if _is_union(hint):
        return " or ".join(describe(a) for a in args)
    if typing.get_origin(hint) is list:
        return "a list of " + describe(args[0]).split(" ", 1)[1] + "s" if args else "a list"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            Path: "a path (a string)", dict: "a table"}.get(hint, getattr(hint, "__name__", str(hint)))


def _as_written(hint: Any) -> Any:
    """The type as TOML writes it: a path is a string."""
    if hint is Path:
        return str
    if _is_union(hint):
        return typing.Union[tuple(_as_written(a) for a in typing.get_args(hint))]  # noqa: UP007
    return hint


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _closest(key: str, known: list[str]) -> str:
    match = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean `{match[0]}`?)" if match else ""


def _toml_repr(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)
