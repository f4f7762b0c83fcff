"""Security review: `codex-agent review` (a diff) and `codex-agent audit` (whole files).

Analysers first (bandit, the secret scanner), then the model; findings merged
and reported as text, JSON, SARIF or markdown. Entry points: `commands.py`.
"""
