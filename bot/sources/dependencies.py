"""Names that belong to someone else: declared dependencies of the repository and the standard library.

Read from the manifests of the commit's tree (any folder): ``pyproject.toml``
(PEP 621 ``dependencies`` and ``optional-dependencies``, Poetry's
``tool.poetry.*dependencies``), ``requirements*.txt``, ``package.json``
(``dependencies``, ``devDependencies``, ``peerDependencies``,
``optionalDependencies``), ``go.mod`` (``require``), ``Cargo.toml``
(``[*dependencies]`` tables) and ``pom.xml`` (``artifactId``). Names are
normalised as importable names: lower-case, ``-`` and ``.`` become ``_``;
a Go module also gives its last path element, a scoped npm package its name.
"""
from __future__ import annotations

import builtins
import json
import re
import sys
import tomllib

MANIFESTS = ("pyproject.toml", "package.json", "go.mod", "Cargo.toml", "pom.xml")
_REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?(?P<module>[\w.\-]+\.[a-z]+/[\w./\-]+)\s+v\d", re.M)
_GO_MODULE = re.compile(r"^[-+]?module\s+\"?(?P<module>[^\s\"]+)", re.M)  # a go.mod line, or one of its diff
_ARTIFACT = re.compile(r"<artifactId>\s*(?P<name>[^<\s]+)\s*</artifactId>")


def is_manifest(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in MANIFESTS or (name.startswith("requirements") and name.endswith(".txt"))


def normalise(name: str) -> str:
    return re.sub(r"[-.]", "_", name.strip().lower())


def _names(path: str, text: str) -> list[str]:
    name = path.rsplit("/", 1)[-1]
    try:
        if name == "pyproject.toml":
            data = tomllib.loads(text)
            project = data.get("project", {})
            specs = list(project.get("dependencies", []))
            specs += [s for group in project.get("optional-dependencies", {}).values() for s in group]
            poetry = data.get("tool", {}).get("poetry", {})
            found = [m.group("name") for s in specs if (m := _REQUIREMENT.match(s))]
            return found + [k for key, v in poetry.items() if key.endswith("dependencies") and isinstance(v, dict)
                            for k in v]
        if name == "package.json":
            data = json.loads(text)
            keys = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
            return [n.rsplit("/", 1)[-1] for k in keys if isinstance(data.get(k), dict) for n in data[k]]
        if name == "Cargo.toml":
            data = tomllib.loads(text)
            return [k for key, v in data.items() if key.endswith("dependencies") and isinstance(v, dict) for k in v]
    except (ValueError, tomllib.TOMLDecodeError, AttributeError, TypeError):
        return []
    if name == "go.mod":
        return [part for m in _GO_REQUIRE.finditer(text) for part in (m.group("module"),
                                                                       m.group("module").rsplit("/", 1)[-1])]
    if name == "pom.xml":
        return [m.group("name") for m in _ARTIFACT.finditer(text)]
    return [m.group("name") for line in text.splitlines() if not line.lstrip().startswith(("#", "-"))
            and (m := _REQUIREMENT.match(line))]


def declared_names(manifests: dict[str, str]) -> set[str]:
    """Normalised dependency names from ``manifests`` (path → text), plus ``sys.stdlib_module_names`` and the
    names of ``builtins`` (``ValueError``, ``map``)."""
    names = {normalise(n) for path, text in manifests.items() for n in _names(path, text)}
    return names | set(sys.stdlib_module_names) | {normalise(n) for n in dir(builtins)}


def is_foreign(identifier: str, names: set[str]) -> bool:
    """True when the first dotted part of ``identifier`` is a dependency or standard-library module."""
    return normalise(identifier.partition(".")[0]) in names


def go_modules(text: str) -> list[str]:
    """The module paths of ``module`` lines in ``text``: a ``go.mod``, or ``git log -p`` of one (``-``/``+`` lines)."""
    return [m.group("module") for m in _GO_MODULE.finditer(text)]
