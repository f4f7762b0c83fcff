"""Python files: definitions and imports from the standard library's `ast`,
references from a lexer-level scan.

Walking every node of the tree to collect names costs more than parsing it;
a regular expression that steps over comments and string literals finds the
same identifiers in a fraction of the time. Only uses that can resolve to
another file's definition count as references: attribute access (`x.name`),
calls (`name(...)`), decorators, names the file imports and capitalised
names (classes). A bare lowercase name that is none of these is a local
variable or a parameter: counting those made `e`, defined in 2 files of
sympy, "used" in 457.
"""

from __future__ import annotations

import ast
import builtins
import collections
import functools
import itertools
import json
import keyword
import logging
import os
import pathlib
import re
import sys
import typing
from collections import Counter

from agent.repomap.tags import Definition, FileSummary, one_line

# Comments, strings and numbers are matched (and dropped) so identifiers
# inside them are skipped. Per name: what precedes it (`.` or `@`) and
# whether a call follows.
_IDENTIFIERS = re.compile(
    r"#[^\n]*"
    r'|"""[\s\S]*?"""' r"|'''[\s\S]*?'''"
    r'|"(?:\\.|[^"\\\n])*"' r"|'(?:\\.|[^'\\\n])*'"
    r"|\d[\w.]*"
    r"|([.@]?)[ \t]*([A-Za-z_]\w*+)(?!['\"])([ \t]*\()?"  # a name right before a quote is a prefix (rb"...")
)
# Names that say nothing about which file of the project a file depends on:
# builtins, and the methods and functions of the types and modules everyone
# uses (`", ".join`, `typing.cast`, `logging.getLogger`), which would
# otherwise link every file to whichever project file defines a `join`.
# (Class names of those modules, like logging.Formatter, are kept: a
# project's own `Formatter` is worth linking to.)
_COMMON_TYPES = (builtins, str, bytes, list, dict, set, tuple, int, float, object, type)
_COMMON_MODULES = (os, os.path, sys, re, typing, functools, itertools, collections, logging, json, pathlib.Path)
_NOISE = (
    frozenset(keyword.kwlist)
    | {name for source in _COMMON_TYPES for name in dir(source)}
    | {name for source in _COMMON_MODULES for name in dir(source) if name[:1].islower()}
    | {"self", "cls", ""}
)
_APP_FACTORIES = frozenset({"create_app", "make_app", "app_factory", "get_app", "get_application"})
_APP_OBJECTS = frozenset({"app", "application"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_NESTED = ("body", "orelse", "finalbody", "handlers", "cases")  # statement lists inside a statement


def summarize_python(source: bytes) -> FileSummary:
    tree = ast.parse(source)
    summary = FileSummary("python")
    _collect_defs(tree.body, 0, summary.defs)
    summary.imports = _imports(tree.body)
    imported = {spec.rsplit(".", 1)[-1] for spec in summary.imports}
    counts = Counter(
        name
        for before, name, call in _IDENTIFIERS.findall(source.decode("utf-8", errors="replace"))
        if before or call or name in imported or name[:1].isupper()
    )
    counts.subtract(d.name for d in summary.defs)  # `def name(` is no use of it
    summary.refs = {name: n for name, n in counts.items() if n > 0 and name not in _NOISE}
    summary.is_main = any(_is_main_guard(stmt) for stmt in tree.body)
    summary.app = _app_name(tree.body)
    return summary


def _collect_defs(body: list[ast.stmt], depth: int, out: list[Definition]) -> None:
    # Functions nested in functions are local helpers: not part of the map.
    for node in body:
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
            signature = f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"
            out.append(Definition(node.name, "class", node.lineno, depth, one_line(signature)))
            _collect_defs(node.body, depth + 1, out)
        elif isinstance(node, _FUNCTIONS):
            prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
            signature = f"{prefix} {node.name}({ast.unparse(node.args)})"
            if node.returns is not None:
                signature += f" -> {ast.unparse(node.returns)}"
            kind = "method" if depth else "function"
            out.append(Definition(node.name, kind, node.lineno, depth, one_line(signature)))
        elif isinstance(node, (ast.If, ast.Try)) and depth == 0:
            # Definitions under `if TYPE_CHECKING:` / `try: import` fallbacks.
            _collect_defs(node.body, depth, out)


def _imports(body: list[ast.stmt]) -> list[str]:
    """Every import statement, including those inside functions (lazy imports).
    Only statements are visited: an import is never inside an expression."""
    found: list[str] = []
    pending = list(reversed(body))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.extend(_from_import(node))
        else:
            for name in _NESTED:
                nested = getattr(node, name, None)
                if nested:
                    pending.extend(reversed(nested))
    return found


def _from_import(node: ast.ImportFrom) -> list[str]:
    """`from .core import x` -> ['.core', '.core.x']: the module, and each
    name in case it is a submodule (which one it is is decided at resolution)."""
    base = "." * node.level + (node.module or "")
    names = [a.name for a in node.names if a.name != "*"]
    if not node.module:
        return [base + n for n in names]
    return [base] + [f"{base}.{n}" for n in names]


def _is_main_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    parts = [stmt.test.left, *stmt.test.comparators]
    return any(isinstance(p, ast.Name) and p.id == "__name__" for p in parts) and any(
        isinstance(p, ast.Constant) and p.value == "__main__" for p in parts
    )


def _app_name(body: list[ast.stmt]) -> str:
    for stmt in body:
        if isinstance(stmt, _FUNCTIONS) and stmt.name in _APP_FACTORIES:
            return f"{stmt.name}()"
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id in _APP_OBJECTS:
                    return f"{target.id} = {one_line(ast.unparse(stmt.value.func))}(...)"
    return ""
