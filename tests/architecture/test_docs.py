"""README.md and ARCHITECTURE.md stay true to the tree (issue 8): the paths they name exist, and the
architecture page names every module of the product's packages."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "storage", "config")
#: Repository paths written in backticks, e.g. `bot/sources/gate.py` or `tests/support/` (placeholders such
#: as `bot/<stage>/action.py` are left out).
PATH = re.compile(r"`((?:bot|handlers|storage|config|tests|bench|scripts)/[^`\s<>{}*]*)`")


def tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("page", ["README.md", "ARCHITECTURE.md"])
def test_every_path_a_page_names_exists(page):
    files = tracked()
    named = set(PATH.findall((ROOT / page).read_text(encoding="utf-8")))
    missing = [path for path in sorted(named) if not any(f == path.rstrip("/") or f.startswith(path.rstrip("/") + "/")
                                                        for f in files)]
    assert named and missing == []


def test_the_architecture_page_names_every_module():
    page = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    modules = [Path(f) for f in tracked() if f.endswith(".py") and f.split("/", 1)[0] in PACKAGES
               and "migrations" not in f and not f.endswith("__init__.py")]
    unnamed = [str(module) for module in modules if not re.search(rf"\b{re.escape(module.stem)}\b", page)]
    assert len(modules) > 100 and unnamed == []
