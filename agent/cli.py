"""The command line. `codex-agent "task"` is `codex-agent run "task"`;
`codex-agent` alone opens the REPL. Heavy imports stay inside the commands so
`--help` is instant."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from agent.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    subcommand_metavar='"TASK" | COMMAND [ARGS]...',
    help="""A terminal coding agent: plans, edits and tests in a sandboxed working
copy of your repository, runs your tests, and asks before anything lands.

\b
  codex-agent "TASK"       one task in the repository you stand in (= run)
  codex-agent              the interactive session (= repl)
  codex-agent demo         a recorded run on an example, offline, no key
  codex-agent COMMAND -h   one command's options""",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"codex-agent {version('codex-agent')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("codex-agent (not installed)")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main_options(
    show_version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    pass

# Shared so that every command spells and explains a flag the same way (the flags are a contract: DESIGN.md).
Model = Annotated[Optional[str], typer.Option("--model", "-m", help="Model name (default gpt-5.2-codex).")]
BaseUrl = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:11434/v1.")]
Api = Annotated[Optional[str], typer.Option("--api", help="responses | chat (default: responses for api.openai.com, else chat).")]
MaxSteps = Annotated[Optional[int], typer.Option("--max-steps", help="Model requests allowed (default 50).")]
MaxTokens = Annotated[Optional[int], typer.Option("--max-tokens", help="Input+output tokens allowed for the run.")]
MaxCost = Annotated[Optional[float], typer.Option("--max-cost", help="USD allowed for the run (priced models only).")]
TestCmd = Annotated[Optional[str], typer.Option("--test-cmd", help="Test command (default: pytest when the repo has Python tests).")]
Apply = Annotated[Optional[bool], typer.Option("--apply/--no-apply", help="Apply the result to your tree without asking, or keep it aside.")]
Json = Annotated[bool, typer.Option("--json", help="JSON-lines events on stdout (codex exec --json vocabulary).")]
Trajectory = Annotated[Optional[Path], typer.Option("--trajectory", help="Where to write the trajectory (default: state folder).")]
Approval = Annotated[Optional[str], typer.Option("--approval", help="read-only | auto | ask (default auto).")]
Sandbox = Annotated[Optional[str], typer.Option("--sandbox", help="auto | bwrap | process | none (default auto).")]
Python = Annotated[Optional[str], typer.Option("--python", metavar="PATH", help="The interpreter or prefix that runs the project's tests (default: discovered).")]
NoVerify = Annotated[bool, typer.Option("--no-verify", help="Run without the test gate; the run is marked unverified.")]
StrictTests = Annotated[bool, typer.Option("--strict-tests", help="The gate demands a fully green suite, failures from before the run included.")]
Provider = Annotated[Optional[str], typer.Option("--provider", metavar="NAME", help="A [providers.NAME] table of the user config (openai, ollama, vllm, ...).")]
ContextWindow = Annotated[Optional[int], typer.Option("--context-window", metavar="N", help="The model's context window in tokens (default: asked from the server or known).")]
ReasoningEffort = Annotated[Optional[str], typer.Option("--reasoning-effort", metavar="LEVEL", help="minimal | low | medium | high (reasoning models).")]
AllowSecret = Annotated[Optional[list[str]], typer.Option("--allow-secret", metavar="GLOB", help="Let the model read this sensitive file (glob); repeatable.")]


def _flags(values: dict[str, Any]) -> dict[str, Any]:
    """None is a flag not given, and so is False from a plain switch (`--json`);
    False from a tri-state flag (`--no-apply`, default None) is a choice that
    beats every config file."""
    from dataclasses import fields

    from agent.config import Settings

    tri_state = {f.name for f in fields(Settings) if f.default is None}
    renamed = {"allow_secret": "allow_secrets"}
    flags = {renamed.get(k, k): v for k, v in values.items() if v is not None and (v is not False or k in tri_state)}
    if flags.pop("no_verify", False):
        flags["verify"] = False
    return flags


def _settings(flags: dict[str, Any]):
    from agent.config import ConfigError, load_settings
    from sandbox.git import project_root

    try:
        settings = load_settings(project_root(Path.cwd()), flags)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", EXIT_USAGE)
    for warning in settings.warnings:
        typer.echo(f"codex-agent: warning: {warning}", err=True)
    return settings


def _fail(message: str, code: int = EXIT_FAILED):
    typer.echo(f"codex-agent: {message}", err=True)
    raise typer.Exit(code)


@app.command(short_help="One task to completion: the diff, then apply if you accept.")
def run(
    task: Annotated[str, typer.Argument(help="What to do, e.g. \"make add() work\". @path attaches a file.")],
    model: Model = None, base_url: BaseUrl = None, api: Api = None, max_steps: MaxSteps = None,
    max_tokens: MaxTokens = None, max_cost: MaxCost = None, test_cmd: TestCmd = None, apply: Apply = None,
    json: Json = False, trajectory: Trajectory = None, approval: Approval = None, sandbox: Sandbox = None,
    allow_secret: AllowSecret = None, python: Python = None, no_verify: NoVerify = False,
    strict_tests: StrictTests = False, provider: Provider = None, context_window: ContextWindow = None,
    reasoning_effort: ReasoningEffort = None,
) -> None:
    """Run one task to completion, show the diff, and apply it if you accept."""
    settings = _settings(_flags(locals() | {"task": None}))
    from agent.oneshot import run_task

    raise typer.Exit(run_task(settings, task))


@app.command(short_help="Re-run a recorded trajectory without a model.")
def replay(
    file: Annotated[Path, typer.Argument(help="A trajectory (.jsonl) recorded by an earlier run.")],
    apply: Apply = None, json: Json = False, trajectory: Trajectory = None, test_cmd: TestCmd = None,
    sandbox: Sandbox = None, python: Python = None, no_verify: NoVerify = False,
) -> None:
    """Re-run a recorded session without a model, in a fresh sandbox of this repository."""
    settings = _settings(_flags(locals() | {"file": None}))
    from agent.oneshot import replay_trajectory

    raise typer.Exit(replay_trajectory(settings, file))


@app.command(short_help="A recorded run on an example repository: offline, no key.")
def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Leave the example's temporary copy to look at.")] = False,
    sandbox: Sandbox = None,
) -> None:
    """Replay a recorded self-correcting session on a temporary copy of an example repository:
    tool calls, a failing test sent back, the fix, the green test gate, the diff. No model, no key,
    no network."""
    from agent.demo import demo_main

    raise typer.Exit(demo_main(_flags({"sandbox": sandbox}), keep=keep))


@app.command(short_help="The interactive session (also: codex-agent alone).")
def repl(
    model: Model = None, base_url: BaseUrl = None, api: Api = None, max_steps: MaxSteps = None,
    max_tokens: MaxTokens = None, max_cost: MaxCost = None, test_cmd: TestCmd = None,
    approval: Approval = None, sandbox: Sandbox = None, allow_secret: AllowSecret = None,
    trajectory: Trajectory = None, python: Python = None, no_verify: NoVerify = False,
    strict_tests: StrictTests = False, provider: Provider = None, context_window: ContextWindow = None,
    reasoning_effort: ReasoningEffort = None,
) -> None:
    """Interactive session on one working copy (also: codex-agent with no arguments)."""
    settings = _settings(_flags(locals()))
    from agent.repl import repl_main

    raise typer.Exit(repl_main(settings, Path.cwd()))


@app.command(short_help="Many tasks in parallel, each in its own sandbox; resumable.")
def batch(
    file: Annotated[Path, typer.Argument(help="Tasks: JSON lines (or YAML); SWE-bench instances load as they are.")],
    jobs: Annotated[int, typer.Option("-j", "--jobs", help="Tasks run at once.")] = 2,
    out: Annotated[Optional[Path], typer.Option("--out", help="Results folder (default: this file's latest batch in the state folder, else a new one).")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Run again the tasks that failed, errored or ran out of budget.")] = False,
    swebench_preds: Annotated[bool, typer.Option("--swebench-preds", help="Also write SWE-bench predictions.")] = False,
    executor: Annotated[str, typer.Option("--executor", help="local | ray")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (with --executor ray).")] = None,
    rpm: Annotated[Optional[float], typer.Option("--rpm", help="Model requests per minute, over all workers.")] = None,
    tpm: Annotated[Optional[float], typer.Option("--tpm", help="Model tokens per minute, over all workers.")] = None,
    cpus_per_task: Annotated[float, typer.Option("--cpus-per-task", help="CPUs Ray reserves per task.")] = 1.0,
    model: Model = None, base_url: BaseUrl = None, api: Api = None, max_steps: MaxSteps = None,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="USD for the whole batch: no new task starts once spent.")] = None,
    test_cmd: TestCmd = None, sandbox: Sandbox = None, python: Python = None, provider: Provider = None,
    context_window: ContextWindow = None, reasoning_effort: ReasoningEffort = None,
) -> None:
    """Many tasks, each in its own sandbox, in parallel; resumable."""
    flags = _flags({"model": model, "base_url": base_url, "api": api, "max_steps": max_steps,
                    "test_cmd": test_cmd, "sandbox": sandbox, "python": python, "provider": provider,
                    "context_window": context_window, "reasoning_effort": reasoning_effort})
    settings = _settings(flags)
    from agent.batch import batch_main

    raise typer.Exit(batch_main(
        settings, file, jobs=jobs, out=out, retry_failed=retry_failed, swebench_preds=swebench_preds,
        executor=executor, address=address, max_cost=max_cost, rpm=rpm, tpm=tpm, cpus_per_task=cpus_per_task,
    ))


@app.command(short_help="Continue a saved session (conversation and working copy).")
def resume(
    run_id: Annotated[Optional[str], typer.Argument(help="Session id (default: the most recent).")] = None,
    message: Annotated[Optional[str], typer.Option(
        "--message", help="What to tell the agent (default in a terminal: open the REPL on the session).")] = None,
    model: Model = None, base_url: BaseUrl = None, api: Api = None, max_steps: MaxSteps = None,
    max_tokens: MaxTokens = None, max_cost: MaxCost = None, test_cmd: TestCmd = None, apply: Apply = None,
    json: Json = False, trajectory: Trajectory = None, approval: Approval = None, sandbox: Sandbox = None,
    allow_secret: AllowSecret = None, python: Python = None, no_verify: NoVerify = False,
    strict_tests: StrictTests = False, provider: Provider = None, context_window: ContextWindow = None,
    reasoning_effort: ReasoningEffort = None,
) -> None:
    """Continue a saved session (conversation and working copy); its settings carry over unless a flag
    says otherwise."""
    settings = _settings(_flags(locals() | {"run_id": None, "message": None}))
    if message is None and not json and sys.stdin.isatty() and sys.stdout.isatty():
        from agent.repl import repl_main
        from agent.session import load_session_state

        try:
            state = load_session_state(run_id)
        except FileNotFoundError as exc:
            _fail(f"cannot resume: {exc}")
        raise typer.Exit(repl_main(settings, Path.cwd(), resume=state))
    from agent.oneshot import resume_session

    raise typer.Exit(resume_session(settings, run_id, message or "Continue the task."))


@app.command(short_help="Kept and interrupted runs: list, show, apply or discard.")
def runs(
    run_id: Annotated[Optional[str], typer.Argument(help="A run to act on.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Apply that run's changes to your tree.")] = False,
    discard: Annotated[bool, typer.Option("--discard", help="Delete that run's working copy.")] = False,
    show: Annotated[bool, typer.Option("--diff", help="Print that run's diff.")] = False,
) -> None:
    """List unfinished and kept runs; apply, discard or show one."""
    from agent.runs_cli import runs_command

    from sandbox.git import project_root

    allowed = _settings({}).allow_secrets  # sensitive files the user's config lets through
    raise typer.Exit(runs_command(run_id, apply=apply, discard=discard, show=show, allow_secrets=allowed,
                                  here=project_root(Path.cwd())))


@app.command(name="apply-patch", short_help="Apply a Codex-format patch in the current folder.")
def apply_patch_cmd(
    patch: Annotated[str, typer.Argument(help="Patch text, a patch file, or - for stdin.")],
) -> None:
    """Apply a Codex-format patch (*** Begin Patch) in the current folder."""
    from tools.patch import run_cli

    raise typer.Exit(run_cli(patch, Path.cwd()))


@app.command(name="map", short_help="Print the repo map the model gets.")
def map_cmd(
    tokens: Annotated[int, typer.Option("--tokens", help="Token budget of the map.")] = 2048,
    explain: Annotated[
        Optional[Path], typer.Option("--explain", help="Say why this file is or is not in the map.")
    ] = None,
    task: Annotated[str, typer.Option("--task", help="Focus the map on this task, as a session does.")] = "",
) -> None:
    """Print the repo map the model would get, or why FILE is (not) in it."""
    from sandbox.git import project_root

    root = project_root(Path.cwd())
    if explain is None:
        from agent.repomap import build_repo_map

        typer.echo(build_repo_map(root, tokens=tokens, task=task))
        return
    from agent.repomap.explain import explain_file

    target = (Path.cwd() / explain).resolve()
    if not target.is_relative_to(root):
        raise typer.BadParameter(f"{explain} is outside the repository {root}", param_hint="--explain")
    typer.echo(explain_file(root, target.relative_to(root).as_posix(), tokens, task))


@app.command(short_help="Effective settings (key masked) and where each came from.")
def config(
    json: Annotated[bool, typer.Option("--json", help="Print the settings as one JSON object.")] = False,
) -> None:
    """Print the effective settings (the API key masked) and where each came from."""
    import json as jsonlib

    settings = _settings({})
    shown = settings.public()
    if json:
        typer.echo(jsonlib.dumps(shown, indent=2))
        return
    for key, value in shown.items():
        source = settings.sources.get(key, "default")
        typer.echo(f"{key:16} {value!s:40} ({source})")


@app.command(short_help="What can go wrong before a run: sandbox, the tests' Python, API key, server.")
def doctor(
    python: Python = None, test_cmd: TestCmd = None, sandbox: Sandbox = None, base_url: BaseUrl = None,
    provider: Provider = None,
) -> None:
    """Check what can go wrong before a run: sandbox, the tests' interpreter and pytest, API key, server."""
    import shutil
    import textwrap

    from agent.doctor import PROBLEM, doctor_checks

    width = min(shutil.get_terminal_size().columns, 100)
    checks = doctor_checks(_settings(_flags(locals())), Path.cwd())
    for status, check, detail in checks:
        # Wrapped at words, under the check's text, not mid-word by the terminal.
        typer.echo(textwrap.fill(f"{status:4} {check}: {detail}", width, subsequent_indent=" " * 5,
                                 break_long_words=False, break_on_hyphens=False))
    raise typer.Exit(EXIT_FAILED if any(status == PROBLEM for status, _, _ in checks) else EXIT_OK)


Format = Annotated[str, typer.Option("--format", help="text | json | sarif | markdown")]
Output = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report here instead of stdout.")]
FailOn = Annotated[str, typer.Option("--fail-on", help="Exit 1 when a finding is at or above: critical|high|medium|low|info|none.")]
NoModel = Annotated[bool, typer.Option("--no-model", help="Analysers only (bandit, secret scanner).")]


def _review_client(no_model: bool, flags: dict[str, Any]):
    if no_model:
        return None
    from agent.model import ModelError, client_for

    try:
        return client_for(_settings(flags))
    except ModelError as exc:
        _fail(f"{exc} (use --no-model for analysers only)", EXIT_USAGE)


@app.command(short_help="Security review of a diff: analysers, then the model.")
def review(
    uncommitted: Annotated[bool, typer.Option("--uncommitted", help="Staged, unstaged and untracked changes (default).")] = False,
    base: Annotated[Optional[str], typer.Option("--base", help="This branch against its merge base with BASE.")] = None,
    commit: Annotated[Optional[str], typer.Option("--commit", help="One commit.")] = None,
    patch: Annotated[Optional[str], typer.Option("--patch", help="A unified diff file, or - for stdin.")] = None,
    all_lines: Annotated[bool, typer.Option("--all", help="Report analyser findings outside the changed lines too.")] = False,
    no_model: NoModel = False, fmt: Format = "text", output: Output = None, fail_on: FailOn = "none",
    model: Model = None, base_url: BaseUrl = None, api: Api = None,
) -> None:
    """Security review of a diff: analysers, then the model."""
    from agent.review.commands import review_main

    client = _review_client(no_model, _flags({"model": model, "base_url": base_url, "api": api}))
    raise typer.Exit(review_main(
        uncommitted=uncommitted, base=base, commit=commit, patch=patch, all_lines=all_lines, no_model=no_model,
        fmt=fmt, output=output, fail_on=fail_on, client=client, cwd=Path.cwd(),
    ))


@app.command(short_help="Security review of whole files or a folder.")
def audit(
    path: Annotated[Path, typer.Argument(help="File or folder to audit.")] = Path("."),
    no_model: NoModel = False, fmt: Format = "text", output: Output = None, fail_on: FailOn = "none",
    model: Model = None, base_url: BaseUrl = None, api: Api = None,
) -> None:
    """Security review of whole files or a folder rather than a diff."""
    from agent.review.commands import audit_main

    client = _review_client(no_model, _flags({"model": model, "base_url": base_url, "api": api}))
    raise typer.Exit(audit_main(path, no_model=no_model, fmt=fmt, output=output, fail_on=fail_on,
                                client=client, cwd=Path.cwd()))


def main() -> None:
    """Entry point: a bare task becomes `run TASK`; no task opens the REPL
    (`codex-agent`, `codex-agent --model x`)."""
    args = sys.argv[1:]
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    if not args or (args[0].startswith("-") and not {"-h", "--help", "-V", "--version"} & set(args)):
        args = ["run" if _names_a_task(args) else "repl", *args]
    elif args[0] not in commands and not args[0].startswith("-"):
        args = [*_typo_or_task(args[0], commands), *args[1:]]
    app(args=args, prog_name="codex-agent")


def _typo_or_task(word: str, commands: set[str]) -> list[str]:
    """`codex-agent doctr` asks (in a terminal) or refuses rather than sending
    "doctr" to the model; `codex-agent run doctr` is the way to mean it."""
    from agent.did_you_mean import mistyped_command

    meant = mistyped_command(word, commands)
    if meant is None:
        return ["run", word]
    if sys.stdin.isatty() and sys.stdout.isatty():
        if typer.confirm(f"Did you mean `codex-agent {meant}`?", default=True):
            return [meant]
        return ["run", word]
    typer.echo(f"codex-agent: did you mean `{meant}`? (quote a one-word task: `codex-agent run {word}`)", err=True)
    raise SystemExit(EXIT_USAGE)


def _names_a_task(args: list[str]) -> bool:
    """Whether options-first arguments (`--model x "task"`) include a task."""
    run_command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    parsed = run_command.make_context("run", list(args), resilient_parsing=True)
    return parsed.params.get("task") is not None
