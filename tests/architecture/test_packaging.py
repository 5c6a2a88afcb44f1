"""What a fresh install gets: every third-party import declared, the packaged App manifest."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from bot.ingress.setup import MANIFEST

ROOT = Path(__file__).resolve().parents[2]
APP_YML = ROOT / "app.yml"
#: The packages a wheel ships (pyproject ``[tool.setuptools.packages.find]``).
SHIPPED = ("bot", "handlers", "storage", "config")


def _top_level_imports(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _normalized(name: str) -> str:
    """A distribution name normalized as in https://peps.python.org/pep-0503/#normalized-names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_normalized(re.match(r"[A-Za-z0-9._-]+", spec).group()) for spec in project["dependencies"]}
    imported = set().union(*(_top_level_imports(ROOT / package) for package in SHIPPED))
    third_party = imported - set(sys.stdlib_module_names) - set(SHIPPED)
    providers = packages_distributions()

    undeclared = {
        module: providers.get(module)
        for module in third_party
        if not declared & {_normalized(dist) for dist in providers.get(module, [module])}
    }

    assert undeclared == {}


# --- the packaged manifest ---------------------------------------------------------


def test_top_level_app_yml_is_the_packaged_manifest():
    assert APP_YML.is_symlink()
    assert APP_YML.resolve() == Path(str(MANIFEST)).resolve()
