"""YAML of a config file, read safely: unique keys, a size limit and a limit on aliases.

PyYAML's ``safe_load`` keeps the last of two equal keys without a word (YAML
1.2 §3.2.1.1 says mapping keys are unique), and expands aliases: a few lines of
``&a [*b, *b, …]`` ("billion laughs") become millions of values once walked,
which would stall every run, ``status`` and the board page that reads the file.
``load_yaml`` refuses both, and files larger than ``MAX_CONFIG_BYTES``.
"""
from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

#: Largest config file read, in bytes of UTF-8 (GitHub's contents API serves files up to 1 MB inline).
MAX_CONFIG_BYTES = 128 * 1024
#: Values (mappings, lists, keys and scalars) a file may hold once its aliases are expanded.
MAX_CONFIG_VALUES = 20_000
_MERGE = "tag:yaml.org,2002:merge"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeys(_Loader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a mapping that names a key twice (``<<`` merge keys aside)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the safe loader refuses it itself ("found unhashable key")
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, *, quote: bool = True) -> Any:
    """The data of ``text`` (``None`` for an empty document).

    Raises:
        ValueError: the reason, ready to follow ``<file>: ``: larger than ``MAX_CONFIG_BYTES``,
            invalid YAML (a duplicate key included, with its line), or more than
            ``MAX_CONFIG_VALUES`` values once aliases are expanded. ``quote=False`` leaves out
            the excerpt of the file PyYAML adds (line and column stay).
    """
    size = len(text.encode("utf-8"))
    if size > MAX_CONFIG_BYTES:
        raise ValueError(f"the file has {size:,} bytes; a config file may have at most {MAX_CONFIG_BYTES:,}")
    try:
        data = yaml.load(text, Loader=_UniqueKeys)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        if quote or exc.problem_mark is None:
            raise ValueError(f"invalid YAML: {exc}") from None
        mark = exc.problem_mark
        raise ValueError(f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML: {exc}") from None
    _check_size(data)
    return data


def _check_size(data: Any) -> None:
    """Walk ``data`` as a reader would (aliases expanded) and stop past ``MAX_CONFIG_VALUES``."""
    stack, count = [data], 0
    while stack:
        value = stack.pop()
        count += 1
        if count > MAX_CONFIG_VALUES:
            raise ValueError(f"more than {MAX_CONFIG_VALUES:,} values once YAML aliases (*name) are expanded")
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
