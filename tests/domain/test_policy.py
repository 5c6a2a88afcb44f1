"""Issue 14, "Policy packs": shipped and custom packs, the effective policy and its hash."""
from __future__ import annotations

import hashlib

import pytest

from bot.domain.policy import BUILTIN_PACKS, RULES, effective_policy
from config.org import Layer, effective, parse_layer

ORG_TEXT = """
policy:
  pack: acme@2
  packs:
    acme@2:
      extends: strict@1
      rules:
        generate.no-edge-variant: info
        pr.too-many-files: warning
  max_fix_files: 5
"""


def policy_of(*texts: str):
    layers = [parse_layer(f"layer{n}", text) for n, text in enumerate(texts)]
    found = effective(layers)
    assert found.errors == []
    return effective_policy(found.config.policy)


def test_default_is_warnings_only_and_strict_blocks_what_protects_a_merge():
    assert set(BUILTIN_PACKS["default@1"].values()) == {"warning"}
    assert BUILTIN_PACKS["strict@1"]["pr.protected-path"] == "block"
    assert set(BUILTIN_PACKS["default@1"]) == set(BUILTIN_PACKS["strict@1"]) == set(RULES)


def test_a_custom_pack_extends_a_shipped_one_and_the_repository_overrides_it():
    policy = policy_of(ORG_TEXT, "policy:\n  rules:\n    pr.protected-path: warning\n")
    assert (policy.key, policy.version, policy.max_fix_files) == ("acme@2", 2, 5)
    assert policy.rules["generate.no-edge-variant"] == "info"  # the custom pack
    assert policy.rules["execute.passed-without-specific-command"] == "block"  # from strict@1
    assert policy.rules["pr.protected-path"] == "warning"  # the repository's override
    assert policy.effective_hash == hashlib.sha256(policy.canonical().encode()).hexdigest()
    assert policy.canonical().startswith('{"max_fix_files":5,"pack":"acme@2","protected_paths":[".github/**"],')


def test_the_effective_hash_is_stable_and_changes_with_any_override():
    base = policy_of(ORG_TEXT)
    reordered = policy_of("policy:\n  max_fix_files: 5\n  packs:\n    acme@2:\n      rules:\n"
                          "        pr.too-many-files: warning\n        generate.no-edge-variant: info\n"
                          "      extends: strict@1\n  pack: acme@2\n")
    assert reordered.effective_hash == base.effective_hash  # the same policy, written differently
    changed = [
        policy_of(ORG_TEXT, "policy:\n  rules:\n    generate.uncited-source: off\n"),
        policy_of(ORG_TEXT, "policy:\n  max_fix_files: 6\n"),
        policy_of(ORG_TEXT, "policy:\n  protected_paths: ['.github/**', 'deploy/**']\n"),
        policy_of(ORG_TEXT, "policy:\n  pack: strict@1\n"),
    ]
    hashes = {base.effective_hash, *(policy.effective_hash for policy in changed)}
    assert len(hashes) == 5
    print(f"\n{base.key} effective hash {base.effective_hash}")


@pytest.mark.parametrize(("text", "problem"), [
    ("policy:\n  pack: nobody@1\n", "policy.pack: unknown pack 'nobody@1'"),
    ("policy:\n  rules:\n    no.such-rule: block\n", "policy.rules: unknown rule 'no.such-rule'"),
    ("policy:\n  pack: a@1\n  packs:\n    a@1: {extends: b@1}\n    b@1: {extends: a@1}\n",
     "policy.packs.a@1.extends: a cycle of packs"),
    ("policy:\n  pack: a@1\n  packs:\n    a@1: {extends: a@1}\n", "policy.packs.a@1.extends: a cycle of packs"),
    ("policy:\n  pack: a@1\n  packs:\n    a@1: {extends: gone@1}\n",
     "policy.packs.a@1.extends: unknown pack 'gone@1'"),
    ("policy:\n  packs:\n    unused@1: {rules: {no.such-rule: block}}\n",
     "policy.packs.unused@1.rules: unknown rule 'no.such-rule'"),
    ("policy:\n  packs:\n    default@1: {rules: {pr.protected-path: block}}\n",
     "policy.packs.default@1: a shipped pack cannot be redefined"),
])
def test_a_bad_policy_names_the_field(text, problem):
    with pytest.raises(ValueError) as raised:
        policy_of(text)
    assert str(raised.value).startswith(problem)


def test_a_severity_outside_the_scale_is_a_config_error_naming_the_key():
    layer = parse_layer("repo", "policy:\n  rules:\n    pr.too-many-files: loud\n")
    assert layer.data is None and "policy.rules.`pr.too-many-files`" in layer.error
    assert isinstance(layer, Layer)


def test_a_repository_policy_that_does_not_resolve_is_left_out_and_the_orgs_stands():
    org = parse_layer("org", "policy:\n  pack: strict@1\n")
    repo = parse_layer("repo", "execute:\n  mode: fix\npolicy:\n  rules:\n    pr.protected-paths: off\n")
    found = effective([org, repo], check=lambda config: effective_policy(config.policy))
    assert effective_policy(found.config.policy).rules["pr.protected-path"] == "block"
    assert found.config.execute.mode == "run"  # the file is left out whole, like any invalid file
    [error] = found.errors
    assert error.startswith("repo (merged with the layers under it): policy.rules: unknown rule 'pr.protected-paths'")
    assert found.problems() == [("repository file", error)]
