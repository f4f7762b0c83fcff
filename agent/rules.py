"""Project rules the model must follow: AGENTS.md files and .cursorrules.

Sources, from the most general to the most specific (later ones win where they
disagree, so they come last):

1. the user's own `AGENTS.md` in the codex-agent config folder;
2. `.cursorrules` at the repository root;
3. `AGENTS.md` in the repository root and in every folder down to the
   working folder.
"""

from __future__ import annotations

from pathlib import Path

from agent.tokens import cap_tokens
from sandbox.secrets import mask_secrets

RULES_FILE = "AGENTS.md"
CURSOR_RULES = ".cursorrules"
MAX_FILE_TOKENS = 4_000
MAX_TOTAL_TOKENS = 12_000


def user_rules_path() -> Path:
    from sandbox.state import config_dir

    return config_dir() / RULES_FILE


def rule_files(repo_root: Path, cwd: Path) -> list[Path]:
    """The rule files that exist, most general first."""
    root = repo_root.resolve()
    here = cwd.resolve()
    folders = [root]
    if here != root and root in here.parents:
        rel = here.relative_to(root)
        folders += [root.joinpath(*rel.parts[: i + 1]) for i in range(len(rel.parts))]
    candidates = [user_rules_path(), root / CURSOR_RULES] + [folder / RULES_FILE for folder in folders]
    # A repository's rules file must be a file of the repository: a committed
    # symlink to /proc/self/environ would put the agent's environment in the prompt.
    return [p for p in candidates if p.is_file() and (p == candidates[0] or p.resolve().is_relative_to(root))]


def load_rules(repo_root: Path, cwd: Path) -> str:
    """All rules as one block with each file's path, or "" when there are none."""
    root = repo_root.resolve()
    blocks = []
    for path in rule_files(root, cwd):
        text = mask_secrets(path.read_text(encoding="utf-8", errors="replace")).strip()
        if text:
            label = _label(path, root)
            blocks.append(f"--- rules from {label} ---\n{cap_tokens(text, MAX_FILE_TOKENS)}")
    if not blocks:
        return ""
    intro = "Project rules. Files listed later are more specific and take precedence where they disagree."
    # Head and tail are kept, and the tail holds the most specific rules.
    return cap_tokens("\n\n".join([intro, *blocks]), MAX_TOTAL_TOKENS)


def _label(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # the user-level file
        home = Path.home()
        return "~/" + path.relative_to(home).as_posix() if home in path.parents else str(path)
