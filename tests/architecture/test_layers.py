"""The data path's layering holds: ``lint-imports`` keeps the contract in ``pyproject.toml``
and breaks it when a lower layer imports a higher one (ARCHITECTURE.md, "Imports")."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("bot", "handlers", "storage", "config")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on ``project`` with its packages first on the import path."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(project / "pyproject.toml"), "--no-cache"],
        cwd=project, env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(project)},
        capture_output=True, text=True, check=False,
    )


def copy_project(target: Path) -> Path:
    """A copy of the packages and ``pyproject.toml`` (sources only) under ``target``."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_tree_keeps_the_layers_contract():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(("module", "planted", "broken"), [
    ("bot/domain/pack.py", "from bot.ingress import server", "bot.domain.pack -> bot.ingress.server"),
    ("bot/sources/gate.py", "from bot.codex import engine", "bot.sources.gate -> bot.codex.engine"),
], ids=["upward import", "sibling stages"])
def test_a_forbidden_import_breaks_the_build(tmp_path, module, planted, broken):
    project = copy_project(tmp_path)
    source = project / module
    source.write_text(source.read_text(encoding="utf-8") + f"\n{planted}  # noqa\n", encoding="utf-8")

    result = lint_imports(project)

    assert result.returncode == 1
    assert "Imports flow one way along the data path BROKEN" in result.stdout
    assert broken in result.stdout
