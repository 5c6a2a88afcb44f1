"""Shared fixtures: each support module owns one edge of the test world."""

pytest_plugins = [
    "tests.support.database",
    "tests.support.postgres",
    "tests.support.keys",
    "tests.support.github_server",
    "tests.support.git_remote",
    "tests.support.model_server",
    "tests.support.browser",
    "tests.support.fakes",
    "tests.support.runtime",
    "tests.support.webhooks",
    "tests.support.board",
    "tests.support.repos",
    "tests.support.target_repo",
    "tests.support.world",
]
