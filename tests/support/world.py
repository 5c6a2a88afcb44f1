"""The whole ScenarioForge world on 127.0.0.1, for end-to-end tests over real HTTP.

``world`` starts, in one test:

- the local GitHub API server (``tests.support.github_server``), holding the
  repository of the real ``issue_comment`` payload (``Codertocat/Hello-World``,
  default branch ``master``, installation 1) with ``WRITER`` (write) and
  ``READER`` (read) as collaborators;
- a local bare git remote of that repository, built by the ``world_repo``
  fixture (a ``RepoContent`` callable writing and committing dated files
  through ``tests.support.repos.RepoBuilder``; default: a small Flask app with
  a README and a spec, one commit);
- the real application (``bot.ingress.server.create_app`` through ``start_app``) with
  the test App's key, the webhook secret, ``github_api_url`` = the local
  server, ``clone_url_template`` = the bare remotes, a SQLite file database,
  a workdir under ``tmp_path`` and the real DBOS runtime (``bot.jobs.runtime.Runtime``,
  one workflow at a time, queue polled every ``QUEUE_POLL_S``) running the
  ``world_actions`` registry (default ``bot.actions.ACTIONS``).

Tests talk to it as GitHub would::

    async def test_help(world):
        answer = await world.comment("/scenarioforge help")
        assert answer.status == 202
        await world.settle()
        assert world.comments() == [messages.help_text()]

Override per module: ``world_repo`` (the repository content),
``world_actions`` (a registry mapping verb → action, e.g. a test action under
``"generate"``) and ``world_settings`` (extra ``Settings`` fields, e.g. the
Codex endpoint of ``model_server``).

The GitHub server's contents API serves the ``.github/`` files of the remote's
branches (published on every push), so a config file committed to the
default branch or only to a pull request's head is seen where GitHub would.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.actions import ACTIONS
from bot.github.client import AppAuth
from bot.jobs import queue
from bot.jobs.context import Action
from bot.jobs.runtime import Runtime
from config.settings import Settings
from storage import runs as run_store
from storage.db import Database
from storage.models import Run, RunEvent
from tests.support.github_server import GitHubServer
from tests.support.repos import RepoBuilder
from tests.support.webhooks import WEBHOOK_SECRET, Answer, RunningApp, load_payload

COMMENT_PAYLOAD = "issue_comment.created.4.json"
ISSUE_LABELED_PAYLOAD = "issues.labeled.1.json"
PULL_LABELED_PAYLOAD = "pull_request.labeled.1.json"
WRITER = "writer-login"
READER = "reader-login"
SETTLE_TIMEOUT_S = 120.0
POLL_S = 0.02
QUEUE_POLL_S = 0.05

RepoContent = Callable[[RepoBuilder], None]
Files = Mapping[str, "str | bytes | None"]

FLASK_APP = '''from flask import Flask

app = Flask(__name__)


@app.get("/api/items")
def list_items():
    return []


@app.post("/api/items")
def create_item():
    return {}, 201
'''


def small_app(repo: RepoBuilder) -> None:
    """The default content: a Flask app, a README and a spec that matches the code (one commit)."""
    repo.write("app/main.py", FLASK_APP)
    repo.write("README.md", "# Items\n\nRun `app/main.py` with Flask.\n")
    repo.write("docs/spec.md", "# Items API specification\n\n- `GET /api/items` lists items, served by "
               "`list_items` in [app/main.py](../app/main.py).\n- `POST /api/items` creates an item.\n")
    repo.commit("A small items app", "2025-06-01T12:00:00+00:00")


class WorldRemote:
    """The repository's bare remote plus a ``RepoBuilder`` working copy that pushes to it.

    ``template`` is the ``clone_url_template`` of the remotes directory. After
    every push the ``.github/`` files of the pushed branch are published to the
    GitHub server's contents API (the default branch as ``ref`` None; trailing
    whitespace becomes one newline).
    """

    def __init__(self, root: Path, full_name: str, default_branch: str, github: GitHubServer) -> None:
        self.full_name, self.default_branch, self.github = full_name, default_branch, github
        self.bare = root / "remotes" / f"{full_name}.git"
        self.bare.parent.mkdir(parents=True)
        self.work = RepoBuilder(root / "work-copy")
        self.work.git("symbolic-ref", "HEAD", f"refs/heads/{default_branch}")
        self.work.git("init", "-q", "--bare", str(self.bare))
        self.work.git("--git-dir", str(self.bare), "symbolic-ref", "HEAD", f"refs/heads/{default_branch}")
        self.work.git("remote", "add", "origin", self.bare.as_uri())

    @property
    def template(self) -> str:
        return f"{self.bare.parents[1].as_uri()}/{{full_name}}.git"

    def sha(self, ref: str | None = None) -> str:
        """The commit of ``ref`` (default: the default branch) in the remote."""
        return self.work.git("--git-dir", str(self.bare), "rev-parse", ref or self.default_branch)

    def build(self, content: RepoContent) -> str:
        """Run ``content`` on the (empty) working copy, push every branch; returns the default branch's SHA."""
        content(self.work)
        self.work.git("checkout", "-q", self.default_branch)
        for branch in self.work.git("for-each-ref", "--format=%(refname:short)", "refs/heads").splitlines():
            self.push(branch)
        return self.sha()

    def commit(self, files: Files, *, branch: str | None = None, message: str = "change",
               date: str | None = None, push_to: Sequence[str] = ()) -> str:
        """Write ``files`` (``None`` deletes a path) on ``branch`` (created from the default
        branch if new), commit at ``date`` (ISO 8601; default: now), push; returns the SHA.

        ``push_to`` adds refs to push the commit to (e.g. ``refs/pull/7/head``).
        """
        branch = branch or self.default_branch
        exists = bool(self.work.git("branch", "--list", branch))
        self.work.git("checkout", "-q", *(() if exists else ("-b",)), branch)
        try:
            for path, content in files.items():
                if content is None:
                    self.work.remove(path)
                else:
                    self.work.write(path, content)
            sha = self.work.commit(message, date or datetime.now(UTC).isoformat(timespec="seconds"))
            self.push(branch, *push_to)
        finally:
            self.work.git("checkout", "-q", self.default_branch)
        return sha

    def push(self, branch: str, *extra_refs: str) -> None:
        """Push ``branch`` (and the same commit to ``extra_refs``), then publish its ``.github/`` files."""
        self.work.git("push", "-q", "--force", "origin",
                      *(f"{branch}:{ref}" for ref in (f"refs/heads/{branch}", *extra_refs)))
        ref = None if branch == self.default_branch else branch
        for key in [key for key in self.github.files if key[:2] == (self.full_name, ref)]:
            del self.github.files[key]
        for path in self.work.git("ls-tree", "-r", "--name-only", branch, "--", ".github").splitlines():
            text = self.work.git("show", f"{branch}:{path}")
            self.github.set_file(self.full_name, path, text + "\n", ref=ref)


@dataclass
class World:
    """Everything the ``world`` fixture started; see the module docstring."""

    github: GitHubServer
    remote: WorldRemote
    running: RunningApp
    settings: Settings
    database: Database
    runtime: Runtime

    @property
    def repository(self) -> str:
        """``owner/name`` of the world's repository."""
        return self.remote.full_name

    # ------------------------------------------------------------- deliveries

    async def post(self, payload: dict[str, Any], event: str, **options: Any) -> Answer:
        """Sign and POST ``payload`` as a delivery of ``event`` (``delivery_id=`` to repeat one)."""
        return await self.running.post(payload, event, **options)

    def comment_payload(self, body: str, *, user: str = WRITER, on_pr: bool = False,
                        issue_number: int | None = None) -> dict[str, Any]:
        """The real ``issue_comment`` ``created`` payload for a new comment by ``user`` on
        issue (or, ``on_pr``, pull request) ``issue_number`` — default 1, or 2 on a PR.

        The issue/PR and the comment are created on the GitHub server first (a PR
        whose head is the default branch's tip, unless ``open_pull`` made it), and
        the payload's issue, comment and sender are those objects. A comment by the
        App's bot login carries ``performed_via_github_app``.
        """
        number = issue_number or (2 if on_pr else 1)
        payload = load_payload(self.github.payloads + COMMENT_PAYLOAD)
        issue = self._target(number, on_pr, payload["issue"])
        comment = self.github.add_comment(self.repository, number, body, author=user)
        payload["issue"].update(issue)
        payload["comment"].update(comment)
        if user == self.github.bot_login:
            payload["comment"]["performed_via_github_app"] = {"id": self.settings.app_id, "slug": self.github.app_slug}
        payload["sender"] = self.github.user(user)
        return self.github.adopt_payload(payload)

    async def comment(self, body: str, *, user: str = WRITER, on_pr: bool = False,
                      issue_number: int | None = None, delivery_id: str | None = None) -> Answer:
        """Post a comment on GitHub and deliver its ``issue_comment`` webhook; returns the app's answer."""
        payload = self.comment_payload(body, user=user, on_pr=on_pr, issue_number=issue_number)
        return await self.post(payload, "issue_comment", delivery_id=delivery_id)

    async def label(self, name: str, *, user: str = WRITER, on_pr: bool = False,
                    issue_number: int | None = None) -> Answer:
        """Add label ``name`` to the issue/PR on GitHub and deliver the real ``labeled`` payload."""
        number = issue_number or (2 if on_pr else 1)
        if on_pr:
            payload = load_payload(self.github.payloads + PULL_LABELED_PAYLOAD)
            self._target(number, True, {})
            payload["pull_request"].update(self.github.pulls[(self.repository, number)])
            payload["number"] = number
            event = "pull_request"
        else:
            payload = load_payload(self.github.payloads + ISSUE_LABELED_PAYLOAD)
            payload["issue"].update(self._target(number, False, payload["issue"]))
            payload["installation"] = {"id": self.installation_id}
            event = "issues"
        payload["label"]["name"] = name
        self.github.issues[(self.repository, number)]["labels"].append(dict(payload["label"]))
        payload["sender"] = self.github.user(user)
        return await self.post(self.github.adopt_payload(payload), event)

    def open_pull(self, number: int, files: Files | None = None, *, head: str | None = None,
                  message: str = "pull request change", date: str | None = None) -> dict[str, Any]:
        """Open pull request ``number`` on GitHub from branch ``head`` (default ``pr-<number>``):
        ``files`` committed on it (none: the default branch's tip), pushed to
        ``refs/heads/<head>`` and ``refs/pull/<number>/head``; returns the pull."""
        head = head or f"pr-{number}"
        pull_ref = f"refs/pull/{number}/head"
        if files:
            sha = self.remote.commit(files, branch=head, message=message, date=date, push_to=[pull_ref])
        else:
            self.remote.work.git("branch", "-f", head, self.remote.default_branch)
            self.remote.push(head, pull_ref)
            sha = self.remote.sha(head)
        return self.github.add_pull(self.repository, number, head=head, head_sha=sha,
                                    base=self.remote.default_branch)

    @property
    def installation_id(self) -> int:
        return self.github.repos[self.repository]["_installation_id"]

    def _target(self, number: int, on_pr: bool, like: dict[str, Any]) -> dict[str, Any]:
        """The issue (or PR's issue) ``number`` on the GitHub server, created if missing."""
        if on_pr and (self.repository, number) not in self.github.pulls:
            self.open_pull(number)
        if (self.repository, number) not in self.github.issues:
            self.github.add_issue(self.repository, number, title=like.get("title", "An issue"),
                                  author=like.get("user", {}).get("login", "octocat"))
        return self.github.issues[(self.repository, number)]

    # ------------------------------------------------------------- waiting

    async def settle(self, timeout: float = SETTLE_TIMEOUT_S) -> None:
        """Wait until every delivery is handled, no workflow is enqueued or running, and no
        action of a cancelled workflow is still stopping.

        Polls DBOS's workflows every ``POLL_S`` seconds once the dispatcher is idle
        (a workflow enqueues the runs it resumes before it ends). Raises
        ``TimeoutError`` naming the open workflows after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        dispatcher = self.running.services.dispatcher
        while True:
            await asyncio.wait_for(dispatcher.idle(), max(0.0, deadline - loop.time()))
            open_workflows = await queue.open_workflows()
            if not open_workflows and not self.runtime.running:  # no delivery can arrive meanwhile
                return
            if loop.time() > deadline:
                raise TimeoutError("the world did not settle: open workflows "
                                   + ", ".join(f"{w.workflow_id} ({w.status})" for w in open_workflows))
            await asyncio.sleep(POLL_S)

    # ------------------------------------------------------------- reading the state

    def comments(self, issue_number: int = 1) -> list[str]:
        """Bodies of the bot's comments on issue/PR ``issue_number``, in creation order."""
        return [c["body"] for c in self.github.comments(self.repository, issue_number)
                if c["user"]["login"] == self.github.bot_login]

    async def runs(self) -> list[Run]:
        """Every run row, oldest first."""
        async with self.database.session() as session:
            return list((await session.scalars(select(Run).order_by(Run.id))).all())

    async def events(self, run_id: int) -> list[RunEvent]:
        """The events of run ``run_id``, oldest first."""
        async with self.database.session() as session:
            return list(await run_store.events_of(session, run_id))

    async def tracking(self, run_id: int) -> str:
        """The body of run ``run_id``'s tracking comment on GitHub."""
        async with self.database.session() as session:
            run = await session.get(Run, run_id)
        return self.github.comment(run.tracking_comment_id)["body"]


@pytest.fixture
def world_repo() -> RepoContent:
    """The content of the world's repository (override in a test module)."""
    return small_app


@pytest.fixture
def world_actions() -> Mapping[str, Action]:
    """The workers' action registry: ``bot.actions.ACTIONS`` (override in a test module)."""
    return ACTIONS


@pytest.fixture
def world_settings() -> dict[str, Any]:
    """Extra ``Settings`` fields for the world's app (override in a test module)."""
    return {}


@pytest.fixture
async def world_http():
    """The ``aiohttp.ClientSession`` of the world's ``AppAuth`` (closed after the app stops)."""
    async with aiohttp.ClientSession() as session:
        yield session


def world_remote(github_server: GitHubServer, root: Path, content: RepoContent) -> WorldRemote:
    """The real ``issue_comment`` payload's repository on ``github_server`` (``WRITER`` may write,
    ``READER`` read) and its bare remote under ``root``, built with ``content``."""
    payload = load_payload(github_server.payloads + COMMENT_PAYLOAD)
    repo = payload["repository"]
    github_server.add_repo(repo["full_name"], installation_id=payload["installation"]["id"],
                           default_branch=repo["default_branch"], repo_id=repo["id"])
    github_server.set_permission(repo["full_name"], WRITER, "write")
    github_server.set_permission(repo["full_name"], READER, "read")
    remote = WorldRemote(root, repo["full_name"], repo["default_branch"], github_server)
    remote.build(content)
    return remote


@pytest.fixture
async def world(database, github_server, world_http, start_app, app_keys, tmp_path, world_repo, world_actions,
                world_settings):
    """The running world (``World``); see the module docstring.

    Fixture order matters: ``database``, ``github_server`` and ``world_http`` are
    set up before ``start_app`` so they outlive the app, which stops first.
    """
    remote = world_remote(github_server, tmp_path / "git", world_repo)
    settings = Settings(
        _env_file=None, app_id=app_keys.app_id, private_key_path=app_keys.private_key_path,
        webhook_secret=WEBHOOK_SECRET, database_url=database.url, github_api_url=github_server.url,
        clone_url_template=remote.template, workdir=tmp_path / "workdir", workers=1, queue_poll_s=QUEUE_POLL_S,
        **world_settings,
    )
    auth = AppAuth(world_http, settings)
    runtime = Runtime(database, settings, auth, actions=world_actions)
    running = await start_app(settings, database=database, auth=auth, workers=runtime)
    return World(github_server, remote, running, settings, database, runtime)
