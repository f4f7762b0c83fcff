"""How fast the secret guard is on tool-output-sized text.

    python bench/bench_secrets.py

Prints one row per operation: the median of several runs on 100 KB of real
Python code (the standard library), with and without secrets sprinkled in,
then one run on 1 MB of text written to make regular expressions backtrack
(a hostile AGENTS.md or command output): before issue 13 the first of those
rows took hours (31 s at 40 KB, growing with the square of the size).
"""

from __future__ import annotations

import statistics
import sysconfig
import time
from pathlib import Path
from typing import Callable

SIZE = 100 * 1024
RUNS = 15


def corpus() -> str:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = ""
    for path in sorted(stdlib.glob("*.py")):
        text += path.read_text(encoding="utf-8", errors="replace")
        if len(text) >= SIZE:
            return text[:SIZE]
    return text


def with_secrets(text: str) -> str:
    secret = 'API_KEY = "q8Zr2LmX9vB4nT7wK1pS"\naws = "AKIA' + 'Z7Q3LR5XV2M4PN6T"\n'
    lines = text.splitlines(keepends=True)
    for i in range(0, len(lines), 100):
        lines[i] = secret + lines[i]
    return "".join(lines)[:SIZE]


def as_diff(text: str) -> str:
    lines = text.splitlines()
    return f"--- a/big.py\n+++ b/big.py\n@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}\n" for line in lines)


# Text shaped so a pattern tries many ways to split it before failing.
ADVERSARIAL = {
    "a name then blanks": "token" + " " * 1_000_000,
    "names glued together": "token" * 200_000,
    "URL scheme separators": "://" * 333_333,
}


def once_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def median_ms(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    start = time.perf_counter()
    from sandbox import secrets

    secrets.scan_text("warm-up")  # imports detect-secrets and compiles the rules
    first_use_ms = (time.perf_counter() - start) * 1000

    clean = corpus()
    dirty = with_secrets(clean)
    rows = [
        ("first use (import + compile)", first_use_ms, ""),
        ("scan_text, 100 KB clean code", median_ms(lambda: secrets.scan_text(clean)), len(secrets.scan_text(clean))),
        ("scan_text, 100 KB with secrets", median_ms(lambda: secrets.scan_text(dirty)), len(secrets.scan_text(dirty))),
        ("mask_secrets, 100 KB clean code", median_ms(lambda: secrets.mask_secrets(clean)), ""),
        ("mask_secrets, 100 KB with secrets", median_ms(lambda: secrets.mask_secrets(dirty)), ""),
        ("scan_diff, 100 KB of added lines", median_ms(lambda: secrets.scan_diff(as_diff(dirty))), ""),
        *((f"mask_secrets, 1 MB adversarial: {name}", once_ms(lambda t=text: secrets.mask_secrets(t)), "")
          for name, text in ADVERSARIAL.items()),
    ]
    print(f"{'operation':60} {'ms':>8} {'hits':>6}")
    for name, ms, hits in rows:
        print(f"{name:60} {ms:8.2f} {hits!s:>6}")


if __name__ == "__main__":
    main()
