"""A mistyped command (`codex-agent doctr`) must not reach the model as a task."""

from __future__ import annotations

from collections.abc import Iterable


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def mistyped_command(task: str, commands: Iterable[str], reach: int = 2) -> str | None:
    """The command a one-word task most likely meant, if one is within `reach` edits."""
    word = task.strip().lower()
    if not word or any(c.isspace() for c in word):
        return None
    scored = sorted((edit_distance(word, name), abs(len(name) - len(word)), name) for name in commands)
    if scored and 0 < scored[0][0] <= reach:
        return scored[0][2]
    return None
