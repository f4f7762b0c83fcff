"""The review report in four forms: rich text, JSON, SARIF 2.1.0 and markdown."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from itertools import groupby
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from agent.review.findings import SEVERITIES, Finding, sort_findings

FORMATS = ("text", "json", "sarif", "markdown")
TOOL_NAME = "codex-agent"
INFORMATION_URI = "https://pypi.org/project/codex-agent/"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub ranks code-scanning alerts by this number (>= 9 critical, >= 7 high, >= 4 medium).
SECURITY_SEVERITY = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 3.0, "info": 1.0}
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


@dataclass
class Report:
    target: str  # what was reviewed, e.g. "uncommitted changes"
    findings: list[Finding]
    warnings: list[str] = field(default_factory=list)
    analysers: list[str] = field(default_factory=list)  # what ran: "bandit", "secrets", "model gpt-5.2-codex"

    def counts(self) -> Counter[str]:
        return Counter(f.severity for f in self.findings)

    def summary(self) -> str:
        if not self.findings:
            return "No findings."
        counts = self.counts()
        parts = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
        noun = "finding" if len(self.findings) == 1 else "findings"
        return f"{len(self.findings)} {noun}: {parts}"


def _tool_version() -> str:
    try:
        return version(TOOL_NAME)
    except PackageNotFoundError:
        return "0"


def _by_file(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    ordered = sort_findings(findings)
    return [(path, list(group)) for path, group in groupby(ordered, key=lambda f: f.file)]


def _headline(f: Finding) -> str:
    return f"{f.title} — {f.recommendation}" if f.recommendation else f.title


def _origin(f: Finding) -> str:
    return f"{f.source} {f.rule_id}".strip()


# --------------------------------------------------------------------------- text


def write_text(report: Report, out: TextIO, color: bool) -> None:
    # On a terminal, wrap at words under the finding's text (with or without
    # colour); into a file or pipe, one line per finding for grep and CI logs.
    terminal = color or out.isatty()
    # no_color None when colour is on: NO_COLOR in the environment still wins.
    console = Console(file=out, force_terminal=color, no_color=True if not color else None, highlight=False,
                      soft_wrap=not terminal)
    console.print(Text(f"Security review of {report.target}", style="bold"))
    if report.analysers:
        console.print(Text("analysers: " + ", ".join(report.analysers), style="dim"))
    for path, findings in _by_file(report.findings):
        console.print()
        console.print(Text(path, style="bold underline"))
        for f in findings:
            where = Text("  " + (f"Line {f.line}:" if f.line else "File:").ljust(11))
            where.append(f"{f.severity.upper():8}", style=_STYLE.get(f.severity, ""))
            what = Text(_headline(f))
            what.append(f"  [{f.category}; {_origin(f)}]", style="dim")
            if terminal:
                indent = where.cell_len
                for i, part in enumerate(what.wrap(console, max(console.width - indent, 20), overflow="fold")):
                    part.rstrip()
                    console.print((where if i == 0 else Text(" " * indent)) + part)
            else:
                console.print(where + what)
    console.print()
    console.print(Text(report.summary(), style="bold"))
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))


# --------------------------------------------------------------------------- json


def to_json(report: Report) -> dict[str, Any]:
    return {
        "tool": {"name": TOOL_NAME, "version": _tool_version()},
        "target": report.target,
        "analysers": report.analysers,
        "summary": {s: report.counts()[s] for s in SEVERITIES} | {"total": len(report.findings)},
        "findings": [f.to_dict() | {"fingerprint": f.fingerprint} for f in sort_findings(report.findings)],
        "warnings": report.warnings,
    }


# --------------------------------------------------------------------------- sarif


def _rule_id(f: Finding) -> str:
    """Analysers name their rules; a model finding gets one per category."""
    return f.rule_id or f"model/{f.category}"


def to_sarif(report: Report) -> dict[str, Any]:
    findings = sort_findings(report.findings)
    rules: dict[str, dict[str, Any]] = {}
    for f in findings:
        rule = rules.setdefault(
            _rule_id(f),
            {
                "id": _rule_id(f),
                "name": _rule_id(f).replace("/", "_"),
                "shortDescription": {"text": f.title},
                "help": {"text": f.recommendation or f.title, "markdown": f.recommendation or f.title},
                "properties": {"tags": ["security", f.category], "security-severity": "0.0"},
            },
        )
        worst = max(float(rule["properties"]["security-severity"]), SECURITY_SEVERITY[f.severity])
        rule["properties"]["security-severity"] = f"{worst:.1f}"
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    results = [
        {
            "ruleId": _rule_id(f),
            "ruleIndex": index[_rule_id(f)],
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": _headline(f) + (f"\n\n{f.explanation}" if f.explanation else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(1, f.line)},
                    }
                }
            ],
            "partialFingerprints": {"codexAgentFindingHash/v1": f.fingerprint},
            "properties": {"severity": f.severity, "category": f.category, "source": f.source},
        }
        for f in findings
    ]
    driver = {
        "name": TOOL_NAME,
        "informationUri": INFORMATION_URI,
        "version": _tool_version(),
        "rules": list(rules.values()),
    }
    run = {"tool": {"driver": driver}, "results": results, "columnKind": "unicodeCodePoints"}
    if report.warnings:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [{"level": "warning", "message": {"text": w}} for w in report.warnings],
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


# --------------------------------------------------------------------------- markdown


def _md(text: str) -> str:
    """One line of markdown-safe text (no table or HTML breakage)."""
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")


def to_markdown(report: Report) -> str:
    out = [f"## Security review: {_md(report.target)}", ""]
    out.append(f"**{report.summary()}**" + (f" · {', '.join(report.analysers)}" if report.analysers else ""))
    for path, findings in _by_file(report.findings):
        out += ["", f"### `{path}`", ""]
        for f in findings:
            where = f"Line {f.line}" if f.line else "File"
            out.append(f"- **{f.severity.upper()}** {where}: {_md(_headline(f))} _({f.category}; {_md(_origin(f))})_")
            if f.explanation or f.patch:
                out.append("  <details><summary>Details</summary>")
                out.append("")
                if f.explanation:
                    out += [f"  {_md(f.explanation)}", ""]
                if f.patch:
                    fence = "~~~~" if "```" in f.patch else "```"
                    body = [f"  {line}" for line in f.patch.rstrip().splitlines()]
                    out += [f"  {fence}diff", *body, f"  {fence}", ""]
                out.append("  </details>")
    if report.warnings:
        out += ["", "**Warnings**", ""] + [f"- {_md(w)}" for w in report.warnings]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- dispatch


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_json(report), indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(to_sarif(report), indent=2) + "\n"
    if fmt == "markdown":
        return to_markdown(report)
    buffer = io.StringIO()
    write_text(report, buffer, color=False)
    return buffer.getvalue()
