"""A throwaway PostgreSQL server for the test session (Debian's ``postgresql`` package).

``postgres_server`` (session scope) runs ``initdb`` and ``pg_ctl`` in a
temporary folder — as the ``postgres`` user when the tests run as root, since
``initdb`` refuses root — listening on 127.0.0.1 at a free port with trust
authentication and fsync off. Binaries come from ``PATH`` or Debian's
``/usr/lib/postgresql/<version>/bin`` (``scripts/test`` installs the package);
without them the fixture fails, naming what is missing.

``postgres_server.new_database()`` creates an empty database per test and
returns its plain URL ``postgresql://postgres@127.0.0.1:<port>/<name>``, the
form ``SCENARIOFORGE_DATABASE_URL`` takes.
"""
from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

USER = "postgres"


def find_binary(name: str) -> str:
    """``name`` on ``PATH``, else in the newest ``/usr/lib/postgresql/<version>/bin``."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for folder in versions:
        if (folder / name).exists():
            return str(folder / name)
    pytest.fail(f"PostgreSQL's {name} is not installed (scripts/test installs Debian's postgresql)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One server in ``folder``; see the module docstring."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, _free_port()
        self.data, self.socket_dir = folder / "data", folder / "sock"
        self._names = itertools.count(1)

    def _run(self, *argv: str) -> str:
        command = list(argv)
        if os.geteuid() == 0:
            command = ["runuser", "-u", USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        self.socket_dir.mkdir(parents=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(USER)
            for folder in (self.folder, self.socket_dir):
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        self._run(find_binary("initdb"), "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.socket_dir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
                  "-w", "start")

    def stop(self) -> None:
        self._run(find_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, name: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        return self._run(find_binary("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d", database,
                         "-Atc", statement)

    def new_database(self) -> str:
        """A new empty database; returns its plain URL."""
        name = f"test{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server (``PostgresServer``), stopped and deleted at the end."""
    folder = Path(tempfile.mkdtemp(prefix="sf-postgres-"))
    server = PostgresServer(folder)
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
