"""The parts of each webhook payload a handler uses, checked before the handler reads them.

The models follow GitHub's webhook schema (``webhooks-openapi.json``,
https://github.com/github/rest-api-description: e.g. ``webhook-issue-comment-created``,
``webhook-check-run-requested-action``): ids and numbers are ``integer``,
logins, names, URLs and SHAs ``string``, ``comment.body`` and
``check_run.external_id`` nullable. Only what a handler reads is modelled
(other fields are ignored), strictly: a float or a boolean is no id. A
mismatch raises :class:`~bot.errors.PayloadError` naming the event and the
field, e.g. ``issue_comment delivery: field `comment.user.login` is missing``.
"""
from __future__ import annotations

from typing import Any

from gidgethub.sansio import Event
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from bot.errors import PayloadError

Id = StrictInt


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Named(_Part):
    full_name: StrictStr


class _Installation(_Part):
    id: Id = Field(gt=0)


class _User(_Part):
    login: StrictStr
    type: StrictStr


class _Sender(_Part):
    login: StrictStr


class _App(_Part):
    id: Id


class _Comment(_Part):
    id: Id
    url: StrictStr
    body: StrictStr | None = None
    user: _User
    performed_via_github_app: _App | None = None


class _Issue(_Part):
    number: Id
    comments_url: StrictStr
    pull_request: dict[str, Any] | None = None


class IssueComment(_Part):
    """``issue_comment.created``."""

    comment: _Comment
    issue: _Issue
    repository: _Named
    installation: _Installation


class _Label(_Part):
    name: StrictStr


class _Head(_Part):
    sha: StrictStr


class _Pull(_Issue):
    head: _Head


class IssueLabeled(_Part):
    """``issues.labeled``."""

    label: _Label
    issue: _Issue
    repository: _Named
    installation: _Installation
    sender: _User


class PullRequestLabeled(_Part):
    """``pull_request.labeled``."""

    label: _Label
    pull_request: _Pull
    repository: _Named
    installation: _Installation
    sender: _User


class _CheckRun(_Part):
    id: Id
    name: StrictStr
    status: StrictStr
    head_sha: StrictStr
    external_id: StrictStr | None = None
    app: _App | None = None


class _RequestedAction(_Part):
    identifier: StrictStr


class CheckRunRerequested(_Part):
    """``check_run.rerequested``."""

    check_run: _CheckRun
    repository: _Named
    installation: _Installation
    sender: _Sender


class CheckRunRequestedAction(CheckRunRerequested):
    """``check_run.requested_action``."""

    requested_action: _RequestedAction


class _Account(_Part):
    login: StrictStr
    type: StrictStr


class _FullInstallation(_Installation):
    account: _Account
    repository_selection: StrictStr | None = None
    suspended_at: StrictStr | None = None


class _Repository(_Named):
    id: Id


class Installation(_Part):
    """``installation.*``: the installation and the repositories it lists."""

    installation: _FullInstallation
    repositories: list[_Repository] | None = None


class InstallationRepositories(_Part):
    """``installation_repositories.added | removed``."""

    installation: _FullInstallation
    repositories_added: list[_Repository] = []
    repositories_removed: list[_Repository] = []


class _HeadRepo(_Part):
    full_name: StrictStr


class _Branch(_Part):
    ref: StrictStr


class _PullRef(_Part):
    number: Id
    base: _Branch


class _RepoWithDefault(_Named):
    default_branch: StrictStr


class _CIHead(_Part):
    """What a completed workflow run and a completed check suite both say of the commit they ran on."""

    id: Id
    head_sha: StrictStr
    head_branch: StrictStr | None = None
    conclusion: StrictStr | None = None
    pull_requests: list[_PullRef] = []


class _CICompleted(_Part):
    repository: _RepoWithDefault
    installation: _Installation
    sender: _Sender


class _WorkflowRun(_CIHead):
    name: StrictStr | None = None
    html_url: StrictStr
    head_repository: _HeadRepo | None = None


class WorkflowRunCompleted(_CICompleted):
    """``workflow_run.completed``."""

    workflow_run: _WorkflowRun


class _AppSlug(_App):
    slug: StrictStr | None = None


class _CheckSuite(_CIHead):
    app: _AppSlug | None = None


class CheckSuiteCompleted(_CICompleted):
    """``check_suite.completed``."""

    check_suite: _CheckSuite


class _Commit(_Part):
    added: list[StrictStr] = []
    modified: list[StrictStr] = []
    removed: list[StrictStr] = []


class Push(_Part):
    """``push``."""

    ref: StrictStr
    after: StrictStr
    commits: list[_Commit] = []
    repository: _RepoWithDefault
    installation: _Installation
    sender: _Sender


def check(event: Event, model: type[_Part]) -> None:
    """Validate ``event.data`` against ``model``; the handler then reads the dict as it is.

    Raises:
        PayloadError: the first missing or mistyped field, named by its dotted path.
    """
    try:
        model.model_validate(event.data)
    except ValidationError as exc:
        action = event.data.get("action")
        raise PayloadError.from_validation(f"{event.event}.{action}" if isinstance(action, str) else event.event,
                                           exc) from None
