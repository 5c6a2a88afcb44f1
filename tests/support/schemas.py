"""Checks of JSON Schemas sent to Codex as a turn's ``outputSchema``."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def object_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every ``{"type": "object", …}`` node of a JSON Schema, depth first."""
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from object_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from object_nodes(value)


def is_strict(schema: dict[str, Any]) -> bool:
    """OpenAI's strict structured-output subset: every object closed, every property
    required, no defaults (https://platform.openai.com/docs/guides/structured-outputs)."""
    nodes = list(object_nodes(schema))
    return bool(nodes) and "default" not in str(schema) and all(
        node["additionalProperties"] is False and node["required"] == list(node["properties"]) for node in nodes
    )
