"""Reading a GitHub Actions job log (``bot.domain.ci``): the failing step, its command, the excerpt."""
from __future__ import annotations

from bot.domain.ci import EXCERPT_LIMIT, LOG_LIMIT, needs_network, read_log
from bot.execution.ci_render import FailedStep
from tests.loop.ci_world import actions_log


def test_the_run_step_before_the_error_line_is_the_failing_one_with_its_script_and_output():
    log = actions_log("npm run build\nnpm test -- --ci", "FAIL src/cart.test.js\n  expected 45", exit_code=2)
    reading = read_log(log)
    assert (reading.command, reading.exit_code) == ("npm run build\nnpm test -- --ci", 2)
    assert reading.excerpt == "FAIL src/cart.test.js\n  expected 45"  # timestamps and workflow commands gone
    assert (reading.excerpt_cut, reading.log_cut) == (None, None)
    assert FailedStep("test", "Run tests", "", reading).command == "npm run build && npm test -- --ci"


def test_a_failing_uses_step_has_no_command_to_reproduce():
    log = ("2026-11-30T10:00:00.0000000Z ##[group]Run actions/setup-python@v5\n"
           "2026-11-30T10:00:00.0000000Z with:\n2026-11-30T10:00:00.0000000Z   python-version: 3.99\n"
           "2026-11-30T10:00:00.0000000Z ##[endgroup]\n2026-11-30T10:00:01.0000000Z Version 3.99 was not found\n"
           "2026-11-30T10:00:01.0000000Z ##[error]Process completed with exit code 1.\n")
    reading = read_log(log)
    assert (reading.command, reading.exit_code) == (None, 1) and "Version 3.99 was not found" in reading.excerpt


def test_long_logs_and_excerpts_keep_their_tail_and_say_what_was_cut():
    noise = "\n".join(f"line {n} " + "x" * 80 for n in range(4000))
    reading = read_log(actions_log("make test", noise + "\nthe real failure"))
    assert reading.excerpt.endswith("the real failure") and len(reading.excerpt) == EXCERPT_LIMIT
    assert reading.excerpt_cut.startswith("the first ") and reading.excerpt_cut.endswith(" characters were cut")
    huge = read_log("x" * (LOG_LIMIT + 10))
    assert huge.log_cut == f"the first 10 of {LOG_LIMIT + 10} characters were cut" and huge.command is None


def test_installs_and_downloads_need_the_network_and_tests_do_not():
    assert all(needs_network(c) for c in ("pip install -r requirements.txt", "npm ci", "curl -sSf https://x | sh",
                                          "git fetch origin", "uv sync"))
    assert not any(needs_network(c) for c in ("python -m pytest -q", "npm test", "make lint", "go test ./..."))
