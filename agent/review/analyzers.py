"""The real analysers: bandit on Python files, the secret scanner, sensitive files.

They run before the model and without it (`--no-model`). Bandit runs as a
subprocess (`python -m bandit -f json`) on copies of the files as they are
after the change, so a crash or a noisy logger in bandit cannot take the
review down, and revisions that are not checked out can be analysed too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from agent.review.findings import Finding, normalize_category
from agent.review.targets import ChangedFile, Target
from sandbox.secrets import is_sensitive_path, mask_secrets, scan_diff, scan_text

BANDIT_TIMEOUT = 300.0
# assert_used: asserts are how tests are written, not a vulnerability in a diff.
BANDIT_SKIPS = "B101"

# bandit test id -> (category, title, recommendation). Titles and
# recommendations are short: the text report prints "title — recommendation"
# on one line. Other rules keep bandit's own wording.
_FROM_ENVIRONMENT = "load the password from the environment or a secret manager"
_BANDIT_RULES: dict[str, tuple[str, str, str]] = {
    "B102": ("injection", "exec() runs dynamic code", "never exec() text derived from input"),
    "B103": ("misconfiguration", "File permissions too broad", "give files the narrowest permissions that work"),
    "B104": ("misconfiguration", "Server binds to all interfaces", "bind to a specific interface, from configuration"),
    "B105": ("secrets", "Possible hard-coded password", _FROM_ENVIRONMENT),
    "B106": ("secrets", "Possible hard-coded password argument", _FROM_ENVIRONMENT),
    "B107": ("secrets", "Possible hard-coded password default", _FROM_ENVIRONMENT),
    "B108": ("misconfiguration", "Predictable temporary file path", "use tempfile.mkstemp() or TemporaryDirectory()"),
    "B113": ("misconfiguration", "HTTP request without a timeout", "pass a timeout to every request"),
    "B201": ("misconfiguration", "Flask app runs with debug=True", "never enable the debugger outside development"),
    "B202": ("path-traversal", "tarfile.extractall() on unchecked members", "extract with filter='data'"),
    "B301": ("deserialization", "pickle deserialises untrusted data", "never unpickle untrusted data; use JSON"),
    "B302": ("deserialization", "marshal deserialises untrusted data", "never unmarshal untrusted data; use JSON"),
    "B303": ("crypto", "Weak hash algorithm (MD5/SHA1)", "use SHA-256 or better"),
    "B304": ("crypto", "Insecure cipher", "use an authenticated cipher such as AES-GCM"),
    "B305": ("crypto", "Insecure cipher mode", "use an authenticated mode such as GCM"),
    "B306": ("misconfiguration", "tempfile.mktemp() is racy", "use tempfile.mkstemp()"),
    "B307": ("injection", "eval() on dynamic text", "use ast.literal_eval() or a real parser"),
    "B308": ("xss", "mark_safe() on a value that may hold HTML", "escape the value instead of marking it safe"),
    "B310": ("ssrf", "URL opened without checking its scheme", "allow-list the URL scheme and host before opening it"),
    "B311": ("crypto", "Non-cryptographic random number generator", "use the secrets module for tokens and keys"),
    "B324": ("crypto", "Weak hash algorithm (MD5/SHA1)", "use SHA-256 or better (or usedforsecurity=False)"),
    "B501": ("crypto", "TLS certificate verification disabled", "keep certificate verification on"),
    "B506": ("deserialization", "yaml.load() can build arbitrary objects", "use yaml.safe_load()"),
    "B601": ("command-injection", "Shell command over SSH built from variables", "quote or validate every value"),
    "B602": ("command-injection", "Shell command run with shell=True", "pass an argument list without shell=True"),
    "B603": ("command-injection", "Subprocess call: check the arguments", "let no argument come unchecked from input"),
    "B604": ("command-injection", "Function call with shell=True", "pass an argument list without shell=True"),
    "B605": ("command-injection", "Command run through a shell (os.system)", "use subprocess with an argument list"),
    "B606": ("command-injection", "Process started without a shell", "make sure the program is not from input"),
    "B607": ("command-injection", "Program started by partial path", "call programs by absolute path"),
    "B608": ("injection", "SQL query built by string concatenation", "use parameterized queries"),
    "B609": ("command-injection", "Wildcard in a shell command", "list files explicitly"),
    "B610": ("injection", "Django extra() with raw SQL", "use the ORM's parameters"),
    "B611": ("injection", "Django RawSQL with formatted SQL", "pass parameters to RawSQL"),
    "B701": ("xss", "Jinja2 autoescape is off", "enable autoescape"),
    "B702": ("xss", "Mako templates do not escape output", "escape template output"),
    "B703": ("xss", "mark_safe() on a value that may hold HTML", "escape the value instead"),
    "B704": ("xss", "Markup() on a value that may hold HTML", "escape the value instead"),
}
_CATEGORY_ADVICE = {
    "crypto": "use a current algorithm and keep verification on",
    "xxe": "parse untrusted XML with defusedxml",
    "deserialization": "check that no untrusted input reaches it",
    "command-injection": "check that no untrusted input reaches it",
}
_SEVERITY = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low"}


def _bandit_finding(result: dict, path: str) -> Finding:
    test_id = result.get("test_id", "")
    issue = result.get("issue_text", "").strip()
    category, title, advice = _BANDIT_RULES.get(test_id, (normalize_category(issue), issue, ""))
    severity = _SEVERITY.get(result.get("issue_severity", ""), "low")
    if test_id.startswith("B4"):  # an import of a risky module: a pointer, not a flaw
        severity = "info"
    cwe = (result.get("issue_cwe") or {}).get("id")
    explanation = " ".join(
        part
        for part in (
            # bandit quotes the password it found: its text must not reach the report.
            "" if category == "secrets" else mask_secrets(issue),
            f"CWE-{cwe}." if cwe else "",
            f"bandit {test_id} {result.get('test_name', '')},",
            f"confidence {result.get('issue_confidence', '?').lower()}:",
            result.get("more_info", ""),
        )
        if part
    )
    return Finding(
        file=path,
        line=int(result.get("line_number") or 1),
        severity=severity,
        category=category,
        title=mask_secrets(title),
        explanation=explanation,
        recommendation=advice or _CATEGORY_ADVICE.get(category, "see the bandit documentation"),
        source="bandit",
        rule_id=test_id,
    )


def run_bandit(files: list[ChangedFile], all_lines: bool) -> tuple[list[Finding], list[str]]:
    """Bandit findings on the changed lines of the Python files (every line with `all_lines`)."""
    python = [f for f in files if f.path.endswith(".py") and f.content is not None]
    if not python:
        return [], []
    with tempfile.TemporaryDirectory(prefix="codex-agent-bandit-") as tmp:
        for f in python:
            copy = Path(tmp, f.path)
            # Targets hold plain relative paths; this keeps the copy in the
            # temporary folder should one ever slip through.
            if not copy.resolve().is_relative_to(Path(tmp).resolve()):
                return [], [f"bandit skipped: {f.path} leaves the temporary folder"]
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(f.content or "", encoding="utf-8")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "bandit", "-f", "json", "-q", "-s", BANDIT_SKIPS, "-r", "."],
                cwd=tmp, capture_output=True, text=True, timeout=BANDIT_TIMEOUT, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return [], [f"bandit did not finish within {BANDIT_TIMEOUT:.0f} s; its findings are missing"]
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        detail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return [], [f"bandit failed: {detail}"]

    by_path = {f.path: f for f in python}
    findings, warnings = [], []
    for error in report.get("errors", []):
        warnings.append(f"bandit could not analyse {_relative(error.get('filename', '?'))}: {error.get('reason', '')}")
    for result in report.get("results", []):
        path = _relative(result.get("filename", ""))
        changed = by_path[path].lines if path in by_path else None
        lines = set(result.get("line_range") or [result.get("line_number")])
        if all_lines or changed is None or lines & changed:
            findings.append(_bandit_finding(result, path))
    return findings, warnings


def _relative(bandit_path: str) -> str:
    return bandit_path.removeprefix("./")


def secret_findings(target: Target, all_lines: bool) -> list[Finding]:
    """Secrets on the added lines (in whole files for an audit or with `all_lines`)."""
    if target.diff and not all_lines:
        hits = scan_diff(target.diff)
    else:
        hits = [hit for f in target.files if f.content for hit in scan_text(f.content, f.path)]
    # The diff shows no line of a binary file (a NUL byte is enough): its whole content is scanned.
    hits += [hit for f in target.files if f.binary is not None
             for hit in scan_text(f.binary.decode("utf-8", errors="replace"), f.path)]
    return [
        Finding(
            file=hit.path,
            line=hit.line,
            severity="high",
            category="secrets",
            title=f"Hard-coded secret ({hit.kind})",
            explanation=(
                f"This line holds what looks like a credential ({hit.kind}). Anyone who can read the "
                "repository or its history can use it; deleting it later does not erase it from history."
            ),
            recommendation="remove it, rotate the credential, and read it from the environment or a secret manager",
            source="secrets",
            rule_id="secrets/" + hit.kind.lower().replace(" ", "-"),
        )
        for hit in hits
    ]


def sensitive_file_findings(target: Target) -> list[Finding]:
    """Files that usually hold credentials (.env, private keys...) added or present in the tree."""
    return [
        Finding(
            file=f.path,
            line=1,
            severity="medium",
            category="misconfiguration",
            title="Sensitive file in version control",
            explanation=f"{f.path} is a kind of file that usually holds credentials or private keys.",
            recommendation="keep it out of git (.gitignore), commit a template such as .env.example instead",
            source="secrets",
            rule_id="secrets/sensitive-file",
        )
        for f in target.files
        if is_sensitive_path(f.path)
    ]


def analyse(target: Target, all_lines: bool) -> tuple[list[Finding], list[str]]:
    """Every analyser's findings on the target, and warnings about what could not be analysed."""
    findings, warnings = run_bandit(target.files, all_lines)
    findings += secret_findings(target, all_lines)
    findings += sensitive_file_findings(target)
    return findings, warnings
