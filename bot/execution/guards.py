"""What each turn of the execute loop may change; the rest is reverted and recorded (issues 5, 9, 13).

- run, rerun and check turns write scenario tests and scripts under
  :data:`SCENARIO_DIR` only (``templates/execute_run.md``);
- a fix turn never changes :data:`PROTECTED_PREFIX` (CI workflows), and,
  unless the command says ``--allow-test-changes``, neither edits a test that
  exists before the turn (:data:`TEST_PATH`) or a scenario test under
  :data:`SCENARIO_DIR`: a fix that weakens the assertions judging it never
  lands silently. New test files are allowed (and a new scenario test is
  checked for sensitivity by ``bot.execution.proof``).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection

#: Where run and rerun turns write scenario tests and scripts (templates/execute_run.md).
SCENARIO_DIR = "scenarioforge/"
PROTECTED_PREFIX = ".github/workflows/"
#: Test files by the conventions of pytest, unittest, Go, Jest/Vitest/Mocha, RSpec and JUnit: a ``test``,
#: ``tests``, ``__tests__`` or ``spec`` folder, ``test_*``, ``*_test.*``, ``*.test.*``, ``*.spec.*``,
#: ``*_spec.rb``, ``*Test.java`` / ``*Tests.cs``, ``conftest.py``.
TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|spec)/|(^|/)(test_[^/]+|[^/]+_test\.[^/]+|[^/]+\.(test|spec)\.[^/]+|[^/]+_spec\.rb"
    r"|[^/]+Tests?\.(java|kt|cs)|conftest\.py)$")


def scenario_only(path: str) -> bool:
    """Run, rerun and check turns: only paths under :data:`SCENARIO_DIR`."""
    return path.startswith(SCENARIO_DIR)


def fix_rule(existing: Collection[str], *, allow_test_changes: bool) -> tuple[Callable[[str], bool], str]:
    """What a fix turn may change (``existing``: the paths of the tree before the turn) and the sentence
    naming what it may not, for the ``guard`` event."""
    if allow_test_changes:
        return (lambda path: not path.startswith(PROTECTED_PREFIX)), f"the fix turn changed {PROTECTED_PREFIX}"

    def allowed(path: str) -> bool:
        test = path in existing and (path.startswith(SCENARIO_DIR) or TEST_PATH.search(path) is not None)
        return not path.startswith(PROTECTED_PREFIX) and not test

    return allowed, (f"the fix turn changed {PROTECTED_PREFIX}, existing tests or scenario tests "
                     "(allowed with `--allow-test-changes`)")
