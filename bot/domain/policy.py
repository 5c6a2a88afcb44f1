"""Policy packs: named, versioned rule severities; the effective policy and its SHA-256.

Seed 003 §4.6 and issue 14. A pack maps every rule of ``RULES`` to a
severity (``off | info | warning | block``). Shipped packs: ``default@1``
(every rule a warning: warnings first) and ``strict@1`` (the rules that
protect a merge block). Custom packs are defined under ``policy.packs`` of the
org file and ``extends`` another pack. The effective policy is the pack ←
``policy.rules`` of the org file ← ``policy.rules`` of the repository's file
(that merge is ``config.org``), plus the limits of the PR-time rules; its
canonical JSON (sorted keys, no spaces, UTF-8) hashed with SHA-256 is the
``policy_effective_hash`` stored on every run.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from config.repo import PolicyConfig, Severity

#: Rule code → (stage, what it finds). Stages: scan, generate, execute, pr.
RULES: dict[str, tuple[str, str]] = {
    "scan.area-without-trusted-source": ("scan", "a documentation area whose selected sources are none trusted"),
    "generate.uncited-source": ("generate", "a selected source that no scenario cites"),
    "generate.no-edge-variant": ("generate", "a scenario without an edge variant naming a failure or a boundary"),
    "execute.passed-without-specific-command": (
        "execute", "a scenario passed with no command of its own (only commands other scenarios ran too)"),
    "execute.missing-rerun-command": ("execute", "a scenario result without a rerun command"),
    "pr.too-many-files": ("pr", "a fix touching more files than policy.max_fix_files"),
    "pr.protected-path": ("pr", "a fix touching a path of policy.protected_paths"),
}

_STRICT_BLOCKS = ("execute.passed-without-specific-command", "pr.too-many-files", "pr.protected-path")
BUILTIN_PACKS: dict[str, dict[str, Severity]] = {
    "default@1": {code: "warning" for code in RULES},
    "strict@1": {code: "block" if code in _STRICT_BLOCKS else "warning" for code in RULES},
}


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy a run follows: ``key`` (``name@version``), every rule's severity, the PR limits."""

    key: str
    rules: dict[str, Severity]
    max_fix_files: int
    protected_paths: tuple[str, ...]

    @property
    def version(self) -> int:
        return int(self.key.rsplit("@", 1)[1])

    def canonical(self) -> str:
        """Canonical JSON: sorted keys, ``(",", ":")`` separators, non-ASCII kept."""
        data: dict[str, Any] = {"pack": self.key, "rules": self.rules, "max_fix_files": self.max_fix_files,
                                "protected_paths": list(self.protected_paths)}
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def effective_hash(self) -> str:
        """SHA-256 (hex) of :meth:`canonical` in UTF-8: ``policy_effective_hash``."""
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()


def pack_rules(key: str, config: PolicyConfig, *, _seen: frozenset[str] = frozenset(),
               _field: str = "policy.pack") -> dict[str, Severity]:
    """Every rule's severity in pack ``key``: a shipped pack, or a custom one of ``config.packs``
    over the pack it ``extends``.

    Raises:
        ValueError: naming the field: an unknown pack (``policy.pack`` or the ``extends`` that names
            it), a cycle of ``extends``, or a custom pack naming an unknown rule.
    """
    if key in BUILTIN_PACKS:
        return dict(BUILTIN_PACKS[key])
    custom = config.packs.get(key)
    if custom is None:
        known = ", ".join(sorted({*BUILTIN_PACKS, *config.packs}))
        raise ValueError(f"{_field}: unknown pack {key!r} (known: {known})")
    if key in _seen:
        raise ValueError(f"policy.packs.{key}.extends: a cycle of packs")
    _known_rules(custom.rules, f"policy.packs.{key}.rules")
    return {**pack_rules(custom.extends, config, _seen=_seen | {key}, _field=f"policy.packs.{key}.extends"),
            **custom.rules}


def _known_rules(rules: dict[str, Severity], where: str) -> None:
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise ValueError(f"{where}: unknown rule {unknown[0]!r} (rules: {', '.join(RULES)})")


def effective_policy(config: PolicyConfig) -> EffectivePolicy:
    """The effective policy of a (merged) ``policy:`` section; see the module docstring. Every
    custom pack is checked, the ones not in force too, so a mistake shows before it is chosen.

    Raises:
        ValueError: the field at fault named first (``policy.pack``, ``policy.rules``, ``policy.packs…``;
            a custom pack may not take the key of a shipped one, which would silently win).
    """
    for key in config.packs:
        if key in BUILTIN_PACKS:
            raise ValueError(f"policy.packs.{key}: a shipped pack cannot be redefined; give the custom pack "
                             f"another name and extend {key}")
        pack_rules(key, config, _field=f"policy.packs.{key}")
    rules = pack_rules(config.pack, config)
    _known_rules(config.rules, "policy.rules")
    return EffectivePolicy(key=config.pack, rules={**rules, **config.rules}, max_fix_files=config.max_fix_files,
                           protected_paths=tuple(config.protected_paths))
