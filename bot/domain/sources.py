"""The shape of a scanned source and of a scan: what the manifest stores and the CLI prints.

Seed 000 §7 (source trust gate) and backlog SF-2001…SF-2003: each source has
a type, a status ``trusted | suspect | stale | excluded``, a score in [0, 1],
its reasons with evidence, its blob SHA and size, and whether it is selected.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Literal, Protocol

from pydantic import BaseModel, Field, computed_field

from config.repo import SourceType

Status = Literal["trusted", "suspect", "stale", "excluded"]
Severity = Literal["info", "warn", "stale", "exclude"]
STATUS_ORDER: tuple[Status, ...] = ("trusted", "suspect", "stale", "excluded")


class Reason(BaseModel):
    """One signal: a stable ``code``, a sentence for people, the evidence it rests on.

    ``severity`` and ``penalty`` feed the status rule in ``bot.sources.trust``.
    """

    code: str
    severity: Severity
    penalty: float = 0.0
    message: str
    evidence: list[str] = Field(default_factory=list)


class Source(BaseModel):
    """One document considered as scenario input. ``size`` in bytes; ``score`` in [0, 1]."""

    path: str
    blob_sha: str
    size: int
    type: SourceType
    status: Status
    score: float
    reasons: list[Reason] = Field(default_factory=list)
    selected: bool

    def strongest_reason(self) -> Reason | None:
        """The reason with the largest weight (exclusions and staleness first)."""
        order = {"exclude": 3, "stale": 2, "warn": 1, "info": 0}
        return max(self.reasons, key=lambda r: (order[r.severity], r.penalty), default=None)


class RouteRef(BaseModel):
    """An HTTP route declared in code: ``method`` upper-case or ``ANY``, ``path`` normalised."""

    method: str
    path: str
    file: str


class InventorySummary(BaseModel):
    """The code inventory baseline: files per language, symbol count, declared routes."""

    languages: dict[str, int] = Field(default_factory=dict)
    symbols: int = 0
    routes: list[RouteRef] = Field(default_factory=list)


class ScanResult(BaseModel):
    """Everything one scan found at ``commit_sha`` (``None`` for an empty repository)."""

    commit_sha: str | None
    shallow: bool = False
    notes: list[Reason] = Field(default_factory=list)  # repository-level: empty repo, shallow, config error
    sources: list[Source] = Field(default_factory=list)
    inventory: InventorySummary = Field(default_factory=InventorySummary)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def manifest_hash(self) -> str:
        return manifest_hash(self.sources)


class HashableSource(Protocol):
    path: str
    blob_sha: str
    status: str
    selected: bool


def manifest_hash(sources: Iterable[HashableSource]) -> str:
    """SHA-256 (hex) of the canonical JSON of the sorted ``(path, blob_sha, status, selected)`` tuples.

    Canonical JSON: ``sort_keys=True, separators=(",", ":")`` (issue 3, "Manifest").
    """
    rows = sorted([s.path, s.blob_sha, s.status, bool(s.selected)] for s in sources)
    return hashlib.sha256(json.dumps(rows, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
