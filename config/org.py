"""Org-wide config: layers of ``.github/scenarioforge.yml`` merged key by key, with provenance.

Probot's convention (https://probot.github.io/docs/configuration/): the
organisation's ``.github`` repository holds ``.github/scenarioforge.yml`` for
every repository of the installation; a repository's own file overrides it key
by key (mappings merge, any other value replaces); ``_extends: other-repo`` or
``_extends: owner/repo:path/to/file.yml`` pulls a base file under the file that
names it. Layers, weakest first: the defaults, the org file (and its
``_extends`` bases), the repository file's ``_extends`` bases, the repository
file.

An invalid layer (YAML, unknown key, wrong type, bad ``_extends``) is left out
whole and its error kept, so the other layers still apply (issue 14: "the
defaults, or the repository's valid keys, are used"). This module is pure: the
files are read by ``bot.github.config_files``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from config.repo import CONFIG_PATH, RepoConfig
from config.yaml_text import load_yaml

ORG_REPO = ".github"
EXTENDS = "_extends"
DEFAULT_SOURCE = "default"
#: Where a value came from, as ``status --config`` and the board name it (``Layer.kind``).
ORG_FILE, REPOSITORY_FILE, EXTENDS_BASE = "org file", "repository file", "_extends base"
#: Keys only the org file (and its ``_extends`` bases) may set: a repository must not raise the
#: ceiling of the whole installation. (section, key)
ORG_ONLY = (("budget", "installation_monthly_usd"),)
#: ``repo`` or ``owner/repo``, optionally ``:path``; GitHub names (letters, digits, ``.-_``).
_EXTENDS = re.compile(r"^(?:(?P<owner>[A-Za-z0-9-]+)/)?(?P<repo>[A-Za-z0-9._-]+)(?::(?P<path>[^\s:]+))?$")
#: What a repository name or a path's every ``/``-separated name must not be or hold, so that the
#: value names a file of that repository and never another URL or API path (``..``, ``%2e``, ``?``).
_NOT_A_NAME = re.compile(r"^\.{0,2}$|[%?#\\]")


@dataclass(frozen=True)
class Layer:
    """One config file as read: ``source`` names it (``owner/repo:path``), ``data`` is its mapping
    without ``_extends`` (``None`` when invalid), ``error`` says why it was left out; ``org`` marks
    the org file and its bases, the only files that may set ``ORG_ONLY`` keys; ``kind`` is
    ``ORG_FILE``, ``REPOSITORY_FILE`` or ``EXTENDS_BASE`` (set by the reader, which knows)."""

    source: str
    data: dict[str, Any] | None
    error: str | None = None
    extends: str | None = None
    org: bool = False
    kind: str = REPOSITORY_FILE


@dataclass
class Effective:
    """The merged config, the source of every leaf key (dotted path → ``Layer.source`` or
    ``"default"``), the errors of the layers left out, and every layer read (weakest first,
    invalid ones included)."""

    config: RepoConfig
    sources: dict[str, str]
    errors: list[str] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)

    def kind_of(self, source: str) -> str:
        """``"default"`` or the ``Layer.kind`` of the layer named ``source`` (the strongest of that
        name: an ``_extends`` cycle names a file twice)."""
        return next((layer.kind for layer in reversed(self.layers) if layer.source == source), DEFAULT_SOURCE)

    def problems(self) -> list[tuple[str, str]]:
        """``(kind, error)`` of every error: ``kind`` is the ``Layer.kind`` of the file left out
        (``"invalid org file"`` reads naturally), ``""`` for an error of no one file (layers wrong
        together, a key only the org file may set)."""
        kinds = {layer.error: layer.kind for layer in self.layers if layer.data is None and layer.error}
        return [(kinds.get(error, ""), error) for error in self.errors]

    def rows(self) -> list[tuple[str, Any, str, str]]:
        """``(dotted key, value, source, kind)`` for every leaf of the effective config, sorted by key:
        ``source`` names the file (``"default"`` when none sets the key), ``kind`` what it is."""
        values = flatten(self.config.model_dump(mode="json"))
        rows = []
        for key in sorted(values):
            source = self.sources.get(key, DEFAULT_SOURCE)
            rows.append((key, values[key], source, self.kind_of(source)))
        return rows


def source_name(repository: str, path: str = CONFIG_PATH) -> str:
    """``owner/repo:path``, the name a layer is shown by."""
    return f"{repository}:{path}"


def parse_extends(value: object, owner: str) -> tuple[str, str]:
    """``(owner/repo, path)`` named by an ``_extends`` value; the owner defaults to ``owner``, the path
    to ``CONFIG_PATH``.

    Raises:
        ValueError: not a string of the form ``repo``, ``owner/repo`` or either with ``:path``, or
            a name in it empty, ``.``, ``..`` or holding ``%``, ``?``, ``#`` or ``\\`` (a URL, a path
            that climbs out of the repository).
    """
    match = _EXTENDS.match(value) if isinstance(value, str) else None
    names = [match["repo"], *(match["path"] or "x").split("/")] if match else []
    if match is None or any(_NOT_A_NAME.search(name) for name in names):
        raise ValueError(f"{EXTENDS}: {value!r} is not `repo`, `owner/repo` or `owner/repo:path/to/file.yml`")
    return f"{match['owner'] or owner}/{match['repo']}", match["path"] or CONFIG_PATH


def parse_layer(source: str, text: str, *, quote: bool = True) -> Layer:
    """A layer from a file's text: its mapping checked against ``RepoConfig`` on its own (unknown
    keys are errors), ``_extends`` kept aside.

    ``quote=False`` (a file of another repository than the one configured: an ``_extends`` may name
    any file the App can read) keeps the file's text out of the error: keys, lines and problems only."""
    try:
        data = load_yaml(text, quote=quote)
    except ValueError as exc:
        return Layer(source, None, f"{source}: {exc}")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return Layer(source, None, f"{source}: the file must be a mapping of sections, not {type(data).__name__}")
    extends = data.pop(EXTENDS, None)
    try:
        RepoConfig.model_validate(data)
    except ValidationError as exc:
        return Layer(source, None, f"{source}: {exc if quote else _unquoted(exc)}")
    return Layer(source, data, extends=extends)


def _unquoted(exc: ValidationError) -> str:
    """pydantic's text of ``exc`` without the inputs: ``N validation errors for RepoConfig``, then
    each error's location and message."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    lines = [f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} for {exc.title}"]
    for error in errors:
        lines += [".".join(f"`{part}`" if "." in str(part) else str(part) for part in error["loc"]),
                  f"  {error['msg']}"]
    return "\n".join(lines)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaves of nested mappings by dotted path (``execute.mode``); an empty mapping is a leaf."""
    leaves: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            leaves.update(flatten(value, f"{path}."))
        else:
            leaves[path] = value
    return leaves


def effective(layers: Sequence[Layer], check: Callable[[RepoConfig], object] | None = None) -> Effective:
    """Merge the valid ``layers`` (weakest first) over the defaults; see the module docstring.

    Every leaf a layer sets is credited to it; leaves under a mapping a later layer replaces
    whole (a non-mapping value) lose their credit. Each layer is merged over those under it and
    the result validated (``RepoConfig``, then ``check``, which raises ``ValueError`` for a rule
    of a higher module: e.g. an unknown policy rule or pack); a layer whose merge fails (valid
    alone, wrong together) is left out whole, its error kept, and the layers under it stand.
    """
    errors = [layer.error for layer in layers if layer.error]
    errors += [f"{layer.source}: {section}.{key} is set by the org file only; ignored here"
               for layer in layers if layer.data is not None and not layer.org
               for section, key in ORG_ONLY if key in (layer.data.get(section) or {})]
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    config, read = RepoConfig(), list(layers)
    for index, layer in enumerate(layers):
        if layer.data is None:
            continue
        data = _org_only(layer).data or {}
        over = merge(merged, data)
        try:
            candidate = RepoConfig.model_validate(over)
            if check is not None:
                check(candidate)
        except ValueError as exc:  # pydantic's ValidationError included
            error = f"{layer.source} (merged with the layers under it): {exc}"
            errors.append(error)
            read[index] = replace(layer, data=None, error=error)
            continue
        merged, config = over, candidate
        for key in [key for key, value in flatten(data).items() if value != {}]:
            sources = {k: v for k, v in sources.items() if not k.startswith(f"{key}.")}
            sources[key] = layer.source
    leaves = flatten(config.model_dump(mode="json"))
    return Effective(config, {key: _credit(key, sources) for key in leaves}, errors, read)


def _org_only(layer: Layer) -> Layer:
    """``layer`` without the ``ORG_ONLY`` keys unless it is an org layer."""
    if layer.org or layer.data is None:
        return layer
    data = {name: dict(value) if isinstance(value, dict) else value for name, value in layer.data.items()}
    for section, key in ORG_ONLY:
        if isinstance(data.get(section), dict):
            data[section].pop(key, None)
    return replace(layer, data=data)


def _credit(leaf: str, sources: Mapping[str, str]) -> str:
    """The source of ``leaf``: its own entry or the nearest parent a layer set whole."""
    parts = leaf.split(".")
    for end in range(len(parts), 0, -1):
        found = sources.get(".".join(parts[:end]))
        if found is not None:
            return found
    return DEFAULT_SOURCE
