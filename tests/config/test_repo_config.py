"""``.github/scenarioforge.yml``: defaults, overrides, unknown keys and bad YAML."""
from __future__ import annotations

import pytest

from config.repo import VENDORED, RepoConfig, load_repo_config, matches_any


def test_no_file_gives_defaults():
    config, error = load_repo_config(None)
    assert error is None and config == RepoConfig()
    assert (config.sources.max_file_kb, config.sources.stale_after_days) == (1024, 180)


def test_sources_section_with_type_overrides():
    config, error = load_repo_config(
        "sources:\n  include: ['notes/*.md']\n  max_file_kb: 64\n  stale_after_days: 30\n"
        "  types:\n    adr: {stale_after_days: 720}\n    changelog: {selected: false}\n"
    )
    assert error is None
    sources = config.sources
    assert (sources.include, sources.max_file_kb) == (["notes/*.md"], 64)
    assert (sources.stale_days("adr"), sources.stale_days("spec")) == (720, 30)
    assert sources.selected_by_default("changelog", "trusted") is False
    assert sources.selected_by_default("spec", "suspect") is True
    assert sources.selected_by_default("spec", "stale") is False


def test_unknown_key_is_an_error_and_defaults_are_used():
    config, error = load_repo_config("sources:\n  max_file_kb: 10\n  colour: blue\n")
    assert config == RepoConfig()
    assert error.startswith(".github/scenarioforge.yml: 1 validation error")
    assert "sources.colour" in error and "Extra inputs are not permitted" in error


def test_unknown_section_unknown_type_and_bad_values_are_errors():
    for text in ("generat: {}\n", "sources:\n  types:\n    memo: {}\n", "sources:\n  max_file_kb: -1\n"):
        config, error = load_repo_config(text)
        assert config == RepoConfig() and error


def test_invalid_yaml_is_reported():
    config, error = load_repo_config("sources: [unclosed\n")
    assert config == RepoConfig() and error.startswith(".github/scenarioforge.yml: invalid YAML")


def test_empty_file_is_defaults():
    assert load_repo_config("") == (RepoConfig(), None)


def test_vendored_folders_are_excluded_besides_the_files_exclude_list():
    config, _ = load_repo_config("sources:\n  exclude: ['docs/archive/**']\n")
    assert config.sources.exclude == ["docs/archive/**"]
    assert config.sources.excluded() == [*VENDORED, "docs/archive/**"]
    assert RepoConfig().sources.excluded() == VENDORED


def test_globs():
    assert matches_any("docs/a/b.md", ["docs/*"])
    assert matches_any("docs/a/b.md", ["docs/"])
    assert matches_any("node_modules/x/README.md", ["node_modules/**"])
    assert not matches_any("src/docs.md", ["docs/*"])


def test_the_automatic_behaviours_default_to_asking_and_take_a_bare_off():
    assert (RepoConfig().ci.on_failure, RepoConfig().generate.on_source_change) == ("button", "comment")
    config, error = load_repo_config("ci:\n  on_failure: off\ngenerate:\n  on_source_change: off\n")
    assert error is None and (config.ci.on_failure, config.generate.on_source_change) == ("off", "off")
    config, error = load_repo_config("ci:\n  on_failure: always\n")
    assert config == RepoConfig() and "ci.on_failure" in error and "'button', 'auto' or 'off'" in error


@pytest.mark.parametrize(("text", "key", "problem"), [
    ("execute:\n  max_fix_attempts: yes\n", "execute.max_fix_attempts", "valid integer"),
    ("execute:\n  repeat: '3'\n", "execute.repeat", "valid integer"),
    ("generate:\n  refine_rounds: 2.0\n", "generate.refine_rounds", "valid integer"),
    ("sources:\n  types:\n    adr: {selected: 'no'}\n", "sources.types.adr.selected", "valid boolean"),
])
def test_a_value_of_the_wrong_yaml_type_is_an_error_naming_the_key(text, key, problem):
    config, error = load_repo_config(text)
    assert config == RepoConfig() and key in error and problem in error, error


def test_a_budget_is_a_finite_number_of_dollars_not_a_boolean():
    for value, problem in (("yes", "must be a number of US dollars, not true"), ("-1", "greater than or equal to 0"),
                           (".inf", "finite number"), (".nan", "finite number"), ("fifty", "valid number"),
                           ("'120.5'", "valid number")):  # a quoted number is text
        config, error = load_repo_config(f"budget:\n  monthly_usd: {value}\n")
        assert config == RepoConfig() and "budget.monthly_usd" in error and problem in error, (value, error)
    config, error = load_repo_config("budget:\n  monthly_usd: 0\n  installation_monthly_usd: 120.5\n")
    assert error is None and (config.budget.monthly_usd, config.budget.installation_monthly_usd) == (0, 120.5)
