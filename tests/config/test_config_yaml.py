"""Config YAML read safely (``config.yaml_text``): duplicate keys, alias bombs and huge files are
errors naming the file, never a silent choice or a stalled run."""
from __future__ import annotations

import time

from config.org import parse_layer
from config.repo import RepoConfig, load_repo_config
from config.yaml_text import MAX_CONFIG_BYTES

SOURCE = "acme/app:.github/scenarioforge.yml"


def test_a_duplicate_key_is_an_error_with_its_line():
    layer = parse_layer(SOURCE, "execute:\n  mode: fix\nexecute:\n  repeat: 2\n")
    assert layer.data is None
    assert layer.error.startswith(f"{SOURCE}: invalid YAML") and "duplicate key 'execute'" in layer.error
    assert "line 3" in layer.error
    config, error = load_repo_config("policy:\n  rules:\n    pr.too-many-files: off\n    pr.too-many-files: block\n")
    assert config == RepoConfig() and "duplicate key 'pr.too-many-files'" in error


def test_merge_keys_and_anchors_still_work():
    text = ("sources:\n  types:\n    adr: &quiet {selected: false, stale_after_days: 30}\n"
            "    rfc: {<<: *quiet, stale_after_days: 60}\n")
    layer = parse_layer(SOURCE, text)
    assert layer.error is None
    assert layer.data["sources"]["types"]["rfc"] == {"selected": False, "stale_after_days": 60}


def test_an_alias_bomb_is_refused_at_once():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    started = time.monotonic()
    layer = parse_layer(SOURCE, "\n".join(lines) + "\n")
    assert time.monotonic() - started < 2
    assert layer.data is None and layer.error == (
        f"{SOURCE}: more than 20,000 values once YAML aliases (*name) are expanded")


def test_a_self_referencing_alias_is_refused():
    layer = parse_layer(SOURCE, "sources:\n  include: &loop [*loop]\n")
    assert layer.data is None and "once YAML aliases" in layer.error


def test_a_huge_file_is_refused_naming_its_size():
    text = "sources:\n  include:\n" + "".join(f"  - docs/page-{i}.md\n" for i in range(8000))
    layer = parse_layer(SOURCE, text)
    assert layer.data is None
    assert layer.error == (f"{SOURCE}: the file has {len(text):,} bytes; a config file may have at most "
                           f"{MAX_CONFIG_BYTES:,}")
