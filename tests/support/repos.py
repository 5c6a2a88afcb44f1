"""Real git repositories with dated history, built by the tests.

``RepoBuilder`` writes files, symlinks and submodule links and commits them
with fixed ``GIT_AUTHOR_DATE``/``GIT_COMMITTER_DATE``. ``shop_repo`` is one
repository holding every source-trust fixture of issue 3 (built once per
session: its content never changes).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

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


def build_shop(path: Path) -> RepoBuilder:
    """The shop: code changes in mid-2025 leave a 2024 PRD and architecture note behind."""
    repo = RepoBuilder(path)
    repo.write("src/legacy/payments.py", "def charge_card(card, amount):\n    return True\n")
    repo.write("app/orders.py", ORDERS_V1)
    repo.write("docs/prd.md", "# Checkout PRD\n\nPayments go through `src/legacy/payments.py`, "
               "calling `charge_card()` for each order.\n")
    repo.write("docs/architecture.md", "# Architecture\n\nOrders are served by [the orders app](../app/orders.py).\n")
    repo.write("docs/adr/0001-use-sqlite.md", "# ADR 1: Use SQLite\n\n## Status\n\n"
               "Superseded by [ADR 2](0002-use-postgres.md)\n\n## Decision\n\nSQLite for orders.\n")
    repo.commit("Orders service with legacy payments", "2024-01-10T12:00:00+00:00")

    repo.remove("src/legacy")
    repo.write("app/orders.py", ORDERS_V2)
    repo.write("app/billing.py", "def charge(order_id):\n    return order_id\n")
    repo.write("docs/adr/0002-use-postgres.md", "# ADR 2: Use Postgres\n\n## Status\n\nAccepted\n\n"
               "## Decision\n\nPostgres, see `app/orders.py`.\n")
    repo.commit("Drop legacy payments and invoices", "2025-06-01T12:00:00+00:00")

    repo.write("README.md", "# Shop\n\nRun `app/orders.py` with Flask.\n")
    repo.write("docs/orders-spec.md", "# Orders API specification\n\n- `GET /api/orders` lists orders, served by "
               "`list_orders` in [app/orders.py](../app/orders.py).\n")
    repo.write("docs/invoices-spec.md", "# Invoices specification\n\n- `GET /api/legacy/invoices/{id}` returns one invoice.\n")
    repo.write("docs/api-guide.md", "# API guide\n\n`POST /api/orders` returns 201 Created.\n\nPAGE_SIZE = 50\n")
    repo.write("docs/orders-howto.md", "# Orders how-to\n\n`POST /api/orders` returns 200 OK.\n\nPAGE_SIZE = 20\n")
    repo.write("docs/requirements.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00" + bytes(64))
    repo.write("docs/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    repo.write("docs/conf.py", "project = 'shop'\n")
    repo.write("docs/big.md", "# Big\n\n" + "x" * (5 * 1024 * 1024))
    repo.write("docs/latin1.md", "# Caf\xe9 notes\n".encode("latin-1"))
    repo.symlink("docs/passwd.md", "/etc/passwd")
    repo.submodule_link("docs/theme", repo.git("rev-parse", "HEAD"))
    repo.commit("Specs and guides", "2025-06-02T12:00:00+00:00")
    return repo


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
