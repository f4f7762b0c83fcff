"""What we send before the user's first word: the base prompt and the tool
schemas (no repo map, no project rules), in characters and tokens, per wire
format. Codex CLI 0.169 sends about 40,000 characters; the aim is a quarter.

    python3 bench/bench_prompt.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.prompts import build_instructions  # noqa: E402
from agent.tokens import count_tokens, encoding_name  # noqa: E402
from tools import default_registry  # noqa: E402

CODEX_CHARS = 40_000


def main() -> None:
    registry = default_registry()
    instructions = build_instructions(environment="Sandbox: bwrap; network off; approval mode: auto.\nTest command: python -m pytest.")
    rows = [("instructions", instructions)]
    rows.append(("tools (responses)", json.dumps(registry.responses_schemas())))
    rows.append(("tools (chat)", json.dumps(registry.chat_schemas())))
    total = instructions + json.dumps(registry.responses_schemas())
    rows.append(("total (responses)", total))
    model = "gpt-5.2-codex"
    print(f"{'prefix part':22} {'chars':>8} {'tokens':>8}   ({encoding_name(model)}, {len(registry.names())} tools)")
    for name, body in rows:
        print(f"{name:22} {len(body):8,} {count_tokens(body, model):8,}")
    share = len(total) / CODEX_CHARS
    print(f"{'vs Codex CLI 0.169':22} {CODEX_CHARS:8,}          ours is {share:.0%} of it (target <= 25%)")


if __name__ == "__main__":
    main()
