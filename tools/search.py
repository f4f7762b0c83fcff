"""Finding files and text in the working copy: `walk_files`, `search_text` and
the `grep` tool.

Three backends, one answer. ripgrep when installed; else git's file list in a
git repository; else a pure-Python walk with pathspec. Whichever runs, the
rules are the same (tests run all three on one tree and compare):

- Ignore rules: every .gitignore inside the root plus the repository's
  info/exclude. Never the user's global excludes, never a .gitignore above the
  root, never ripgrep's own .ignore files.
- `.git` is skipped; hidden files are included; symlinks are neither listed nor
  followed (ripgrep's default, and a link cannot lead a search outside the
  working copy). Files git tracks but the rules ignore count as ignored.
- Paths are relative to the root, '/'-separated, sorted as strings.

Grep patterns are Python `re` syntax, checked with `re` first so a bad pattern
is an error naming the problem. ripgrep runs them when its engine accepts them
(the common subset: classes, \\d \\w \\s \\b, groups, alternation, (?i), lazy
quantifiers mean the same in both); a pattern only Python understands
(look-around, backreferences) runs in Python. `$` matches before \\r\\n as
well as \\n (rg --crlf). Files holding a NUL byte are binary and not
searched. git grep is not used: its regex dialects (POSIX, PCRE) differ from
the documented syntax, so with git the file list comes from `git ls-files`
and the matching from Python.
"""

from __future__ import annotations

import difflib
import heapq
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

import pathspec

from sandbox.git import git, git_dirs
from tools.paths import PathError, relative, resolve_in
from tools.registry import Tool, ToolContext, ToolResult

Backend = Literal["rg", "git", "python"]

MAX_MATCHES = 100
MATCH_WIDTH = 200  # characters of a matching line shown
_RG_FLAGS = [
    "--no-config", "--hidden", "--no-require-git", "--no-ignore-global", "--no-ignore-dot", "-g", "!.git",
]


# --------------------------------------------------------------------------- files


def default_backend(root: Path) -> Backend:
    if shutil.which("rg"):
        return "rg"
    if (root / ".git").exists() and shutil.which("git"):
        return "git"
    return "python"


def walk_files(root: Path, sub: str = "", backend: Backend | None = None) -> list[str]:
    """Every file under `root/sub` that .gitignore does not hide, as sorted
    root-relative paths. `sub` is a root-relative folder ('' for all)."""
    root = root.resolve()
    sub = sub.strip("/")
    backend = backend or default_backend(root)
    # ripgrep searches a folder it is named even when ignored; that is not the rule here.
    if sub and (not (root / sub).is_dir() or is_ignored_folder(root, sub)):
        return []
    if backend == "rg":
        files = _rg_files(root, sub)
    elif backend == "git":
        files = _git_files(root, sub)
    else:
        files = _python_files(root, sub)
    return sorted(files)


def _rg_scope(root: Path, sub: str) -> tuple[Path, list[str], str]:
    """Where to run ripgrep, its extra flags, and the prefix that makes the
    paths it prints root-relative. Its output still needs narrowing to `sub`.

    ripgrep applies the .gitignore files above its folder up to the enclosing
    repository, the working copy, so there it runs inside `sub`. (Named as a
    path argument instead, `sub` would miss parent patterns with a slash,
    such as `src/build/`.) Outside a repository it runs over the whole root
    with parent rules off.
    """
    if sub and (root / ".git").exists():
        return root / sub, [], sub + "/"
    return root, ["--no-ignore-parent"], ""


def _rg_files(root: Path, sub: str) -> list[str]:
    cwd, scope, prefix = _rg_scope(root, sub)
    proc = subprocess.run(
        ["rg", "--files", "--null", *_RG_FLAGS, *scope],
        cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=False,
    )
    if proc.returncode not in (0, 1):  # 1: no files at all
        raise OSError(f"rg --files failed: {proc.stderr.decode(errors='replace').strip()}")
    files = [prefix + os.fsdecode(p) for p in proc.stdout.split(b"\0") if p]
    return [f for f in files if f.startswith(sub + "/")] if sub else files


def _git_ls(root: Path, *args: str) -> bytes:
    # core.excludesFile=/dev/null: the user's global excludes are not part of the rules.
    return git("-c", "core.excludesFile=/dev/null", "ls-files", *args, cwd=root)


def _git_files(root: Path, sub: str) -> list[str]:
    scope = ["--", sub] if sub else []
    listed = _git_ls(root, "-z", "--cached", "--others", "--exclude-standard", *scope)
    tracked_ignored = _git_ls(root, "-z", "--cached", "--ignored", "--exclude-standard", *scope)
    names = {os.fsdecode(raw) for raw in set(listed.split(b"\0")) - set(tracked_ignored.split(b"\0")) if raw}
    # The index also names deleted files, symlinks and submodules: keep regular files.
    return [name for name in names if _is_regular(root, name)]


def _is_regular(root: Path, name: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(os.path.join(root, name)).st_mode)
    except OSError:
        return False


class _IgnoreRules:
    """Layered .gitignore rules: the deepest file with a matching pattern decides."""

    def __init__(self, root: Path) -> None:
        self.root = root
        exclude = git_dirs(root)[1] / "info" / "exclude"
        self.base: list[tuple[str, pathspec.GitIgnoreSpec]] = []
        if (spec := _load_spec(exclude)) is not None:
            self.base.append(("", spec))

    def layers_for(self, rel_dir: str, parent: list[tuple[str, pathspec.GitIgnoreSpec]]) -> list:
        spec = _load_spec(self.root / rel_dir / ".gitignore")
        return parent if spec is None else [*parent, (rel_dir, spec)]

    @staticmethod
    def ignored(rel: str, is_dir: bool, layers: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
        for base, spec in reversed(layers):
            local = rel[len(base) + 1 :] if base else rel
            verdict = spec.check_file(local + "/" if is_dir else local).include
            if verdict is not None:
                return verdict
        return False


def _load_spec(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def _outer_layers(root: Path, sub: str) -> tuple[_IgnoreRules, list | None]:
    """The ignore layers in force inside `sub` (its parents' rules apply too),
    or None when `sub` itself is ignored, a symlink or under .git."""
    rules = _IgnoreRules(root)
    layers = rules.layers_for("", rules.base)
    rel_dir = ""
    for part in sub.split("/") if sub else []:
        rel_dir = f"{rel_dir}/{part}" if rel_dir else part
        if part == ".git" or rules.ignored(rel_dir, True, layers) or os.path.islink(root / rel_dir):
            return rules, None
        layers = rules.layers_for(rel_dir, layers)
    return rules, layers


def is_ignored_folder(root: Path, sub: str) -> bool:
    return _outer_layers(root, sub)[1] is None


def _python_files(root: Path, sub: str) -> list[str]:
    rules, layers = _outer_layers(root, sub)
    if layers is None:
        return []
    files: list[str] = []
    pending = [(sub, layers)]
    while pending:
        rel_dir, layers = pending.pop()
        try:
            entries = list(os.scandir(root / rel_dir))
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink() or entry.name == ".git":  # a folder, or a worktree's link file
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir():
                if not rules.ignored(rel, True, layers):
                    pending.append((rel, rules.layers_for(rel, layers)))
            elif entry.is_file() and not rules.ignored(rel, False, layers):
                files.append(rel)
    return files


def glob_filter(files: list[str], glob: str) -> list[str]:
    """The files a gitignore-style glob selects: '*.py' at any depth,
    'src/*.py' anchored, '**' across folders."""
    spec = pathspec.GitIgnoreSpec.from_lines([glob])
    return [f for f in files if spec.match_file(f)]


def close_paths(root: Path, wanted: str, limit: int = 3) -> list[str]:
    """Existing files (and folders) whose path looks like `wanted`: same name
    elsewhere first, then difflib's closest."""
    files = walk_files(root)
    folders = sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})
    name = wanted.rstrip("/").rsplit("/", 1)[-1]
    same_name = [f for f in files + folders if f.rsplit("/", 1)[-1] == name]
    close = difflib.get_close_matches(wanted, files + folders, n=limit, cutoff=0.5)
    return list(dict.fromkeys(same_name + close))[:limit]


def missing_path_error(root: Path, path: str, what: str = "file") -> ToolResult:
    close = close_paths(root, path)
    hint = f" Did you mean: {', '.join(close)}?" if close else " Use list_files to see what exists."
    return ToolResult.error(f"{path}: no such {what}.{hint}")


# --------------------------------------------------------------------------- text


@dataclass(frozen=True, order=True)
class Match:
    path: str
    line: int
    text: str  # the line, trimmed around the match


@dataclass
class SearchResult:
    matches: list[Match]  # the first `limit`, sorted by path then line
    total: int  # all matches found
    secret_files: list[str]  # files with matches hidden because they may hold secrets
    backend: Backend


class BadPattern(ValueError):
    pass


def compile_pattern(pattern: str) -> re.Pattern[str]:
    if not pattern:
        raise BadPattern("empty pattern.")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise BadPattern(f"invalid regex {pattern!r}: {exc} (patterns use Python re syntax).") from None


def search_text(
    root: Path,
    pattern: str,
    sub: str = "",
    glob: str | None = None,
    allow: list[str] | tuple[str, ...] = (),
    limit: int = MAX_MATCHES,
    backend: Backend | None = None,
) -> SearchResult:
    """Lines matching `pattern` in the files under `root/sub` (a folder or a
    file). Raises BadPattern.

    Matches stream through a heap, so a pattern matching millions of lines
    costs time, never memory."""
    from sandbox.secrets import is_sensitive_path

    regex = compile_pattern(pattern)
    root = root.resolve()
    sub = sub.strip("/")
    backend = backend or default_backend(root)
    glob_spec = pathspec.GitIgnoreSpec.from_lines([glob]) if glob else None
    total = 0
    secret: dict[str, bool] = {}

    def visible(found: Iterable[Match]) -> Iterator[Match]:
        nonlocal total
        for match in found:
            if match.path not in secret:
                secret[match.path] = is_sensitive_path(match.path, allow)
            if not secret[match.path]:
                total += 1
                yield match

    single_file = bool(sub) and (root / sub).is_file()  # searched as named, even if ignored
    matches = None
    if backend == "rg" and not single_file and not (sub and is_ignored_folder(root, sub)):
        try:
            matches = heapq.nsmallest(limit, visible(_rg_search(root, pattern, sub, glob, regex)))
        except _EngineRefused:
            backend, total = "python", 0
    if matches is None:
        backend = "python" if single_file else backend
        files = [sub] if single_file else walk_files(root, sub, backend)
        if glob_spec is not None:
            files = [f for f in files if glob_spec.match_file(f)]
        matches = heapq.nsmallest(limit, visible(_python_search(root, files, regex)))
    return SearchResult(matches, total, sorted(p for p, hidden in secret.items() if hidden), backend)


class _EngineRefused(Exception):
    """ripgrep's regex engine does not accept the pattern (look-around, backreferences)."""


def _rg_search(root: Path, pattern: str, sub: str, glob: str | None, regex: re.Pattern[str]) -> Iterator[Match]:
    cwd, scope, prefix = _rg_scope(root, sub)
    glob_spec = pathspec.GitIgnoreSpec.from_lines([glob]) if glob else None
    if glob and "/" not in glob:
        # A file-name glob as a ripgrep file type: unlike -g, a type never
        # overrides .gitignore. The glob_spec check below stays the rule.
        scope += ["--type-add", f"wanted:{glob}", "-t", "wanted"]
    command = ["rg", "--crlf", "--null", "--line-number", "--with-filename", "--no-heading", "--color", "never",
               "--no-messages", *_RG_FLAGS, "-e", pattern, *scope]
    keep: dict[bytes, bool] = {}
    found_any = False
    # stdin must not be a pipe: given no path, ripgrep would search stdin instead of the folder.
    with subprocess.Popen(
        command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for raw in proc.stdout:
            found_any = True
            raw_path, _, rest = raw.partition(b"\0")
            path = prefix + os.fsdecode(raw_path)
            if raw_path not in keep:
                keep[raw_path] = (not sub or path.startswith(sub + "/")) and (
                    glob_spec is None or glob_spec.match_file(path)
                )
            if keep[raw_path]:
                number, _, text = rest.partition(b":")
                yield Match(path, int(number), _trim(text.rstrip(b"\n").decode("utf-8", "replace"), regex))
        error = proc.stderr.read().decode(errors="replace")
    if proc.returncode == 2 and not found_any and "regex" in error:
        raise _EngineRefused


def _python_search(root: Path, files: list[str], regex: re.Pattern[str]) -> Iterator[Match]:
    for path in files:
        try:
            data = (root / path).read_bytes()
        except OSError:
            continue
        if b"\0" in data:
            continue
        lines = data.decode("utf-8", "replace").split("\n")
        if lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, 1):
            line = line.removesuffix("\r")  # like rg --crlf: `$` matches before \r\n too
            if regex.search(line):
                yield Match(path, number, _trim(line, regex))


def _trim(line: str, regex: re.Pattern[str]) -> str:
    """The line without its line ending, cut to MATCH_WIDTH around the first match."""
    line = line.removesuffix("\r")
    if len(line) <= MATCH_WIDTH:
        return line
    hit = regex.search(line)
    start = max(0, (hit.start() if hit else 0) - MATCH_WIDTH // 4)
    end = start + MATCH_WIDTH
    return ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")


# --------------------------------------------------------------------------- tool


def resolve_scope(ctx: ToolContext, path: str | None) -> tuple[Path, str]:
    """The folder (or file) a list/grep call names, and its root-relative form."""
    root = ctx.root.resolve()
    if not path or path in (".", "./"):
        return root, ""
    target = resolve_in(root, path)
    return target, relative(root, target)


def _grep(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    pattern, glob = args["pattern"], args.get("glob") or None
    try:
        target, sub = resolve_scope(ctx, args.get("path"))
    except PathError as exc:
        return ToolResult.error(str(exc))
    if not target.exists():
        return missing_path_error(ctx.root, args["path"], "file or folder")
    try:
        result = search_text(ctx.root, pattern, sub, glob, ctx.secret_allow)
    except BadPattern as exc:
        return ToolResult.error(str(exc))

    lines = [f"{m.path}:{m.line}: {m.text}" for m in result.matches]
    if not lines:
        lines = [f"No matches for {pattern!r} in {sub or '.'}" + (f" ({glob})." if glob else ".")]
    elif result.total > len(result.matches):
        more = result.total - len(result.matches)
        lines.append(f"[{len(result.matches)} of {result.total} matches shown; {more} more: narrow with path or glob]")
    if result.secret_files:
        lines.append(
            f"[matches in {', '.join(result.secret_files[:5])} hidden: may hold secrets; "
            "the user can allow a file with --allow-secret]"
        )
    return ToolResult("\n".join(lines), data={"matches": result.total, "backend": result.backend})


TOOL = Tool(
    name="grep",
    subject_arg="pattern",
    description="Regex search (Python re syntax) in files, honouring .gitignore; returns path:line: text, capped.",
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string"},
            "path": {"type": "string", "description": "file or folder (default: all)"},
            "glob": {"type": "string", "description": "e.g. *.py or src/**/*.ts"},
        },
        "required": ["pattern"],
    },
    handler=_grep,
)
