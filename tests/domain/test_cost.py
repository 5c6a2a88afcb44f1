"""Issue 14: the estimated cost of a turn from its tokens and the model's price."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.domain.cost import cost_text, total_usd, turn_cost_usd
from bot.domain.results import TurnUsage
from bot.execution.render import turn_usage
from config.settings import ModelPrice, Settings


def test_cached_input_is_priced_once_at_the_cached_rate():
    price = ModelPrice(input=1.25, cached_input=0.125, output=10.0)
    cost = turn_cost_usd(price, input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=100_000)
    assert cost == pytest.approx(0.6 * 1.25 + 0.4 * 0.125 + 0.1 * 10.0)


def test_an_unknown_model_has_no_cost_and_no_text():
    assert turn_cost_usd(None, input_tokens=10) is None
    assert (total_usd([None, None]), cost_text(None)) == (None, "")
    assert total_usd([0.5, None, 0.25]) == 0.75


def test_the_price_table_has_the_default_model_and_settings_override_it():
    assert Settings(_env_file=None).price_of("gpt-5.1-codex") == ModelPrice(input=1.25, cached_input=0.125, output=10)
    custom = Settings(_env_file=None, model_prices={"gpt-5.1-codex": {"input": 2, "cached_input": 0.2, "output": 8}})
    assert custom.price_of("gpt-5.1-codex").output == 8 and custom.price_of("nobody") is None
    with pytest.raises(ValidationError, match="model_prices.m.output"):
        Settings(_env_file=None, model_prices={"m": {"input": 1, "cached_input": 0, "output": -1}})


def test_a_turn_line_shows_its_cost_next_to_its_tokens():
    turn = TurnUsage(turn_id="t-1", kind="fix", attempt=1, input_tokens=300, cached_input_tokens=100,
                     output_tokens=60, total_tokens=360, cost_usd=0.00123)
    assert turn_usage(turn) == "fix #1 t-1: 360 tokens (input 300, cached 100, output 60) · est. $0.0012"
