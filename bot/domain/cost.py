"""Estimated cost of Codex turns from their token counts and a model's price (issue 14).

``ModelPrice`` is in US dollars per million tokens (``config.settings``);
Codex counts cached input tokens inside ``input_tokens``, so they are priced
once, at the cached rate. Estimates only: the provider's invoice decides.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from config.settings import ModelPrice

PER_TOKENS = 1_000_000


def turn_cost_usd(price: ModelPrice | None, *, input_tokens: int, cached_input_tokens: int = 0,
                  output_tokens: int = 0) -> float | None:
    """US dollars of one turn, or ``None`` when the model has no price."""
    if price is None:
        return None
    cached = min(cached_input_tokens, input_tokens)
    return ((input_tokens - cached) * price.input + cached * price.cached_input
            + output_tokens * price.output) / PER_TOKENS


def usage_cost_usd(price: ModelPrice | None, usage: Mapping[str, int]) -> float | None:
    """``turn_cost_usd`` of a usage mapping (``input_tokens``, ``cached_input_tokens``, ``output_tokens``)."""
    return turn_cost_usd(price, input_tokens=usage.get("input_tokens", 0),
                         cached_input_tokens=usage.get("cached_input_tokens", 0),
                         output_tokens=usage.get("output_tokens", 0))


def total_usd(costs: Iterable[float | None]) -> float | None:
    """The sum of the known costs; ``None`` when none is known."""
    known = [cost for cost in costs if cost is not None]
    return sum(known) if known else None


def cost_text(cost_usd: float | None) -> str:
    """`` · est. $0.0123`` to follow a token count, or ``""`` when the model has no price."""
    return "" if cost_usd is None else f" · est. ${cost_usd:,.4f}"
