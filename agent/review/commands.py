"""`codex-agent review` and `codex-agent audit` as plain functions for the CLI.

Exit codes: 0 done (no finding at or above --fail-on), 1 a finding at or above
--fail-on, 2 a usage or input error (message on stderr).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from agent.exit_codes import EXIT_FAILED as EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from agent.review import targets
from agent.review.analyzers import analyse
from agent.review.findings import SEVERITIES, Finding, at_or_above, merge
from agent.review.report import FORMATS, Report, render, write_text
from sandbox.secrets import mask_secrets

if TYPE_CHECKING:
    from agent.model import ModelClient

FAIL_ON = ("none", *SEVERITIES)


def review_main(
    *,
    uncommitted: bool,
    base: str | None,
    commit: str | None,
    patch: str | None,
    all_lines: bool,
    no_model: bool,
    fmt: str,
    output: Path | None,
    fail_on: str,
    client: "ModelClient | None",
    cwd: Path,
) -> int:
    """Review a diff: uncommitted changes (the default), a branch, a commit or a patch file."""
    chosen = [name for name, on in (("--uncommitted", uncommitted), ("--base", base), ("--commit", commit),
                                    ("--patch", patch)) if on]
    if len(chosen) > 1:
        return _usage(f"choose one of {', '.join(chosen)}")
    if base:
        load = partial(targets.branch, cwd, base)
    elif commit:
        load = partial(targets.commit, cwd, commit)
    elif patch:
        load = partial(targets.patch, cwd, patch)
    else:
        load = partial(targets.uncommitted, cwd)
    return _run(load, all_lines=all_lines, no_model=no_model, fmt=fmt, output=output, fail_on=fail_on, client=client)


def audit_main(
    path: Path,
    *,
    no_model: bool,
    fmt: str,
    output: Path | None,
    fail_on: str,
    client: "ModelClient | None",
    cwd: Path,
) -> int:
    """Review whole files: one file, or every file under a folder that .gitignore does not hide."""
    return _run(partial(targets.folder, cwd, path), all_lines=True, no_model=no_model, fmt=fmt, output=output,
                fail_on=fail_on, client=client)


def _usage(message: str) -> int:
    print(f"codex-agent: {message}", file=sys.stderr)
    return EXIT_USAGE


def _run(
    load: Callable[[], targets.Target],
    *,
    all_lines: bool,
    no_model: bool,
    fmt: str,
    output: Path | None,
    fail_on: str,
    client: "ModelClient | None",
) -> int:
    fail_on = fail_on.lower()
    if fmt not in FORMATS:
        return _usage(f"unknown --format {fmt!r}: use {' | '.join(FORMATS)}")
    if fail_on not in FAIL_ON:
        return _usage(f"unknown --fail-on {fail_on!r}: use {' | '.join(FAIL_ON)}")
    try:
        target = load()
    except targets.TargetError as exc:
        return _usage(str(exc))

    report = review(target, all_lines=all_lines, client=None if no_model else client)
    try:
        _write(report, fmt, output)
    except OSError as exc:
        return _usage(f"cannot write {output}: {exc.strerror}")
    failing = fail_on != "none" and any(at_or_above(f.severity, fail_on) for f in report.findings)
    return EXIT_FINDINGS if failing else EXIT_OK


def review(target: targets.Target, *, all_lines: bool, client: "ModelClient | None") -> Report:
    """Analysers, then the model when there is one; findings merged and de-duplicated."""
    findings, warnings = analyse(target, all_lines)
    analysers = ["bandit", "secrets"]
    if client is not None and target.files:
        from agent.model import ModelError
        from agent.review.model_review import model_review

        analysers.append(f"model {client.model}")
        # The model may take minutes; say so on stderr, away from the report.
        print(f"codex-agent: {client.model} is reviewing {len(target.files)} file(s)...", file=sys.stderr)
        try:
            model_findings, model_warnings = model_review(client, target, findings)
        except ModelError as exc:
            model_findings, model_warnings = [], [f"model review failed ({exc}); only analyser findings are reported"]
        findings += model_findings
        warnings += model_warnings
    contents = {f.path: f.content.splitlines() for f in target.files if f.content}
    findings = [_with_snippet(f, contents.get(f.file, [])) for f in merge(findings)]
    return Report(target.label, findings, target.warnings + warnings, analysers)


def _with_snippet(finding: Finding, lines: list[str]) -> Finding:
    """Attach the flagged line (secrets masked) for fingerprints and readers."""
    if not 1 <= finding.line <= len(lines):
        return finding
    return replace(finding, snippet=mask_secrets(lines[finding.line - 1].strip())[:300])


def _write(report: Report, fmt: str, output: Path | None) -> None:
    if output is not None:
        output.write_text(render(report, fmt), encoding="utf-8")
    elif fmt == "text":
        write_text(report, sys.stdout, color=sys.stdout.isatty())
    else:
        sys.stdout.write(render(report, fmt))
