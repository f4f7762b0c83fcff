"""What a model response cost, from public list prices.

Prices are USD per 1M tokens (input, cached input, output), OpenAI's standard
tier as published up to December 2025. Unknown models (local ones, most
compatible servers) cost `None`: renderers show that as unknown, not as free.
"""

from __future__ import annotations

from typing import NamedTuple

from agent.messages import Usage


class Price(NamedTuple):
    input: float
    cached_input: float
    output: float


PRICES: dict[str, Price] = {
    "gpt-5.2-codex": Price(1.75, 0.175, 14.00),
    "gpt-5.2": Price(1.75, 0.175, 14.00),
    "gpt-5.1-codex-max": Price(1.25, 0.125, 10.00),
    "gpt-5.1-codex-mini": Price(0.25, 0.025, 2.00),
    "gpt-5.1-codex": Price(1.25, 0.125, 10.00),
    "gpt-5.1": Price(1.25, 0.125, 10.00),
    "gpt-5-codex": Price(1.25, 0.125, 10.00),
    "gpt-5": Price(1.25, 0.125, 10.00),
    "gpt-5-mini": Price(0.25, 0.025, 2.00),
    "gpt-5-nano": Price(0.05, 0.005, 0.40),
    "codex-mini-latest": Price(1.50, 0.375, 6.00),
    "gpt-4.1": Price(2.00, 0.50, 8.00),
    "gpt-4.1-mini": Price(0.40, 0.10, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.025, 0.40),
    "gpt-4o": Price(2.50, 1.25, 10.00),
    "gpt-4o-mini": Price(0.15, 0.075, 0.60),
    "o3": Price(2.00, 0.50, 8.00),
    "o3-mini": Price(1.10, 0.55, 4.40),
    "o4-mini": Price(1.10, 0.275, 4.40),
}


def price(model: str) -> Price | None:
    """The price of `model`, also for dated variants ("gpt-4o-2024-08-06") and
    router names ("openai/gpt-4o"). A prefix only counts up to a "-", so an
    unlisted "gpt-5.3" is unknown rather than priced as "gpt-5"."""
    name = model.rsplit("/", 1)[-1].lower()
    matches = [key for key in PRICES if name == key or name.startswith(key + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def cost(model: str, usage: Usage) -> float | None:
    """USD for one response; cached tokens are part of the input tokens."""
    p = price(model)
    if p is None:
        return None
    fresh = max(usage.input_tokens - usage.cached_input_tokens, 0)
    return (fresh * p.input + usage.cached_input_tokens * p.cached_input + usage.output_tokens * p.output) / 1e6
