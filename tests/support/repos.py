"""Real git repositories with dated history, built by the tests.

``RepoBuilder`` writes files, symlinks and submodule links and commits them
with fixed ``GIT_AUTHOR_DATE``/``GIT_COMMITTER_DATE``; ``RepoBuilder.history``
applies a dated history given as data (``Commit``), and ``history_fixture``
makes a module-scoped fixture of one. ``shop_repo`` is one
repository holding every source-trust fixture of issue 3 (built once per
session: its content never changes).
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

IDENTITY = ["-c", "user.name=Fixture", "-c", "user.email=fixture@example.invalid", "-c", "commit.gpgsign=false"]


class RepoBuilder:
    """A git repository under construction at ``path`` (branch ``main``)."""

    def __init__(self, path: Path, init: bool = True) -> None:
        self.path = path
        self.gitlinks: list[str] = []
        path.mkdir(parents=True, exist_ok=True)
        if init:
            self.git("init", "-q", "-b", "main")

    def clone(self, dest: Path, depth: int | None = None) -> RepoBuilder:
        """A clone of this repository at ``dest`` (``file://``, so ``depth`` gives a real shallow clone)."""
        subprocess.run(["git", "clone", "-q", *(["--depth", str(depth)] if depth else []), f"file://{self.path}",
                        str(dest)], check=True, capture_output=True)
        return RepoBuilder(dest, init=False)

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(["git", "-C", str(self.path), *IDENTITY, *args], capture_output=True, text=True,
                              env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}, check=True)
        return proc.stdout.strip()

    def write(self, relpath: str, content: str | bytes) -> None:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)

    def symlink(self, relpath: str, points_to: str) -> None:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(points_to)

    def submodule_link(self, relpath: str, commit: str) -> None:
        """Record a gitlink (mode 160000) without cloning anything, from the next commit on."""
        self.gitlinks.append(f"160000,{commit},{relpath}")

    def _stage(self) -> None:
        self.git("add", "-A")
        for link in self.gitlinks:
            self.git("update-index", "--add", "--cacheinfo", link)

    def remove(self, relpath: str) -> None:
        self.git("rm", "-q", "-r", relpath)

    def commit(self, message: str, date: str) -> str:
        """Commit everything at ``date`` (ISO 8601); returns the SHA."""
        self._stage()
        stamp = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        self.git("commit", "-q", "--allow-empty", "-m", message, env=stamp)
        return self.git("rev-parse", "HEAD")

    def history(self, *commits: Commit) -> RepoBuilder:
        """Apply each ``Commit`` in order (removals, then moves, then writes, then one dated commit); returns self."""
        for commit in commits:
            for relpath in commit.removed:
                self.remove(relpath)
            for old, new in commit.moved.items():
                self.git("mv", old, new)
            for relpath, content in commit.files.items():
                self.write(relpath, content)
            self.commit(commit.message, commit.date)
        return self


@dataclass(frozen=True)
class Commit:
    """One commit of a dated history for ``RepoBuilder.history``.

    ``date`` is ISO 8601 (author and committer date); ``files`` maps a path to its new text or bytes;
    ``removed`` lists paths (files or folders) to delete; ``moved`` maps an old path to a new one (``git mv``).
    """

    message: str
    date: str
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    removed: Sequence[str] = ()
    moved: Mapping[str, str] = field(default_factory=dict)


def history_fixture(name: str, *commits: Commit, result: Callable[[RepoBuilder], Any] = lambda repo: repo):
    """A module-scoped fixture ``name``: ``result`` of a repository built from ``commits`` (by default the
    ``RepoBuilder`` itself; read-only: do not commit to it)."""
    @pytest.fixture(scope="module", name=name)
    def built(repo_factory):
        return result(repo_factory(name).history(*commits))
    return built


ORDERS_V1 = '''from flask import Flask

app = Flask(__name__)


@app.get("/api/orders")
def list_orders():
    return []


@app.post("/api/orders")
def create_order():
    return {}, 201


@app.get("/api/legacy/invoices/<int:invoice_id>")
def invoice(invoice_id):
    return {}
'''

ORDERS_V2 = ORDERS_V1.split('\n\n@app.get("/api/legacy')[0] + "\n"


SHOP = (
    Commit("Orders service with legacy payments", "2024-01-10T12:00:00+00:00", {
        "src/legacy/payments.py": "def charge_card(card, amount):\n    return True\n",
        "app/orders.py": ORDERS_V1,
        "docs/prd.md": "# Checkout PRD\n\nPayments go through `src/legacy/payments.py`, "
                       "calling `charge_card()` for each order.\n",
        "docs/architecture.md": "# Architecture\n\nOrders are served by [the orders app](../app/orders.py).\n",
        "docs/adr/0001-use-sqlite.md": "# ADR 1: Use SQLite\n\n## Status\n\nSuperseded by [ADR 2](0002-use-postgres.md)"
                                       "\n\n## Decision\n\nSQLite for orders.\n",
    }),
    Commit("Drop legacy payments and invoices", "2025-06-01T12:00:00+00:00", {
        "app/orders.py": ORDERS_V2,
        "app/billing.py": "def charge(order_id):\n    return order_id\n",
        "docs/adr/0002-use-postgres.md": "# ADR 2: Use Postgres\n\n## Status\n\nAccepted\n\n"
                                         "## Decision\n\nPostgres, see `app/orders.py`.\n",
    }, removed=["src/legacy"]),
    Commit("Specs and guides", "2025-06-02T12:00:00+00:00", {  # build_shop adds a symlink and a submodule link
        "README.md": "# Shop\n\nRun `app/orders.py` with Flask.\n",
        "docs/orders-spec.md": "# Orders API specification\n\n- `GET /api/orders` lists orders, served by "
                               "`list_orders` in [app/orders.py](../app/orders.py).\n",
        "docs/invoices-spec.md": "# Invoices specification\n\n- `GET /api/legacy/invoices/{id}` returns one invoice.\n",
        "docs/api-guide.md": "# API guide\n\n`POST /api/orders` returns 201 Created.\n\nPAGE_SIZE = 50\n",
        "docs/orders-howto.md": "# Orders how-to\n\n`POST /api/orders` returns 200 OK.\n\nPAGE_SIZE = 20\n",
        "docs/requirements.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00" + bytes(64),
        "docs/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        "docs/conf.py": "project = 'shop'\n",
        "docs/big.md": "# Big\n\n" + "x" * (5 * 1024 * 1024),
        "docs/latin1.md": "# Caf\xe9 notes\n".encode("latin-1"),
    }),
)


def build_shop(path: Path) -> RepoBuilder:
    """The shop: code changes in mid-2025 leave a 2024 PRD and architecture note behind."""
    repo = RepoBuilder(path).history(*SHOP[:2])
    repo.symlink("docs/passwd.md", "/etc/passwd")
    repo.submodule_link("docs/theme", repo.git("rev-parse", "HEAD"))
    return repo.history(SHOP[2])


@pytest.fixture(scope="session")
def shop_repo(tmp_path_factory) -> RepoBuilder:
    """The issue-3 fixture repository (read-only: do not commit to it)."""
    return build_shop(tmp_path_factory.mktemp("shop") / "repo")


@pytest.fixture(scope="session")
def repo_factory(tmp_path_factory):
    """A factory of empty repositories that may outlive one test (for module-scoped fixtures)."""
    return lambda name="repo": RepoBuilder(tmp_path_factory.mktemp(name) / "repo")


@pytest.fixture
def new_repo(tmp_path):
    """A factory of empty repositories under the test's tmp_path."""
    return lambda name="repo": RepoBuilder(tmp_path / name)
