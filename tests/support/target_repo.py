"""A small target repository for execute tests, and its scenario pack.

A tiny Python application (``shop/cart.py``) with its own pytest suite, a
spec (``docs/spec.md``) and ONE real bug: the discount is divided by 1000
instead of 100, so the spec's "10 % off 2 × 25.00 is 45.00" does not hold and
``tests/test_cart.py::test_discount`` fails. :data:`FIX_COMMAND` repairs it.
The pack (built with ``bot.domain.pack`` models; local source ids are paths) has
SC-001 (the discount, exposes the bug) and SC-002 (the plain total, passes).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.domain.pack import (
    FeatureArea,
    PackDocument,
    Revision,
    Scenario,
    ScenarioPack,
    UserOutcome,
)
from tests.support.repos import RepoBuilder

BUGGY_FILE = "shop/cart.py"
SPEC = "docs/spec.md"
#: The commands an agent runs in the target repository (the test interpreter has pytest). Without the
#: plugins of our own test environment (hypothesis, selenium …) pytest starts in 0.4 s instead of 2 s,
#: and an execute test runs it a few dozen times.
PYTEST = f"env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {sys.executable} -m pytest -q -p no:cacheprovider"
DISCOUNT_TEST = f"{PYTEST} tests/test_cart.py::test_discount"
TOTAL_TEST = f"{PYTEST} tests/test_cart.py::test_total"
FIX_COMMAND = "sed -i 's#/ 1000#/ 100#' shop/cart.py"

CART = '''"""Cart totals."""


def total(items, discount_percent=0):
    """Sum of price x quantity over ``items``, minus ``discount_percent`` percent, rounded to cents."""
    subtotal = sum(price * quantity for price, quantity in items)
    return round(subtotal - subtotal * discount_percent / 1000, 2)
'''

TESTS = '''from shop.cart import total


def test_total():
    assert total([(25.0, 2), (5.0, 1)]) == 55.0


def test_discount():
    assert total([(25.0, 2)], discount_percent=10) == 45.0
'''

SPEC_TEXT = """# Cart specification

- The total of a cart is the sum of price x quantity of its lines: 2 x 25.00 and 1 x 5.00 is 55.00.
- A discount code takes a percentage off the total: 10 % off 2 x 25.00 is 45.00.
"""


def _scenario(sid: str, title: str, data: str, checkpoint: str) -> Scenario:
    return Scenario(
        id=sid, title=title, persona="A shopper at checkout", objective=f"See the right {title.lower()}",
        preconditions=["The shop package is importable"], test_data=[data],
        steps=["Put the items in the cart", "Open the checkout and read the total"],
        checkpoints=[checkpoint], edge_variants=["An empty cart totals 0.00"],
        pass_criteria=f"Passes only if {checkpoint.lower()}", source_ids=[SPEC],
    )


def build_pack() -> ScenarioPack:
    return ScenarioPack(
        title="Cart", summary="Totals and discounts at checkout",
        feature_areas=[FeatureArea(name="Checkout", outcomes=[UserOutcome(
            outcome="The shopper pays the right amount",
            scenarios=[
                _scenario("SC-001", "Discounted total", "2 x 25.00 with discount 10", "The total shown is 45.00"),
                _scenario("SC-002", "Cart total", "2 x 25.00 and 1 x 5.00", "The total shown is 55.00"),
            ],
        )])],
    )


@dataclass(frozen=True)
class TargetRepo:
    path: Path
    pack: ScenarioPack
    pack_file: Path  # scenario-pack.json (a PackDocument), outside the checkout


def build_target_repo(root: Path) -> TargetRepo:
    """Create and commit the target repository under ``root / "target"``."""
    repo = RepoBuilder(root / "target")
    repo.write(".gitignore", "__pycache__/\n.pytest_cache/\n")
    repo.write("pyproject.toml", "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\npythonpath = [\".\"]\n")
    repo.write("shop/__init__.py", "")
    repo.write(BUGGY_FILE, CART)
    repo.write("tests/test_cart.py", TESTS)
    repo.write(SPEC, SPEC_TEXT)
    repo.commit("A cart with totals and discounts", "2026-11-01T10:00:00Z")
    pack = build_pack()
    document = PackDocument(pack=pack, revision=Revision(
        revision=1, mode="initial", prompt_version="generate-v1", model="scripted", thread_id="t", turn_ids=["u"],
    ))
    pack_file = root / "scenario-pack.json"
    pack_file.write_text(document.model_dump_json(indent=2), encoding="utf-8")
    return TargetRepo(repo.path, pack, pack_file)


@pytest.fixture
def target_repo(tmp_path) -> TargetRepo:
    """A fresh committed target repository with one real bug, and its pack file."""
    return build_target_repo(tmp_path)
