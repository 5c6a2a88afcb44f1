"""The one error hierarchy of ScenarioForge.

Every exception keeps the upstream message and type unchanged (seed 000 §6,
"raw passthrough") and carries context (repository, action, run id, turn id,
delivery id) beside it, never mixed into it.
"""
from __future__ import annotations

from typing import Any


class ScenarioForgeError(Exception):
    """Base class. ``message`` is the raw upstream text; ``context`` is ours."""

    def __init__(self, message: str, *, error_type: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type or type(self).__name__
        self.context = {key: value for key, value in context.items() if value is not None}

    def as_record(self) -> dict[str, Any]:
        """The shape persisted on a run and shown in the tracking comment."""
        return {"type": self.error_type, "message": self.message, "context": self.context}


class ConfigError(ScenarioForgeError):
    """Process settings or a repository config file are invalid."""


class GitError(ScenarioForgeError):
    """A git command failed; ``message`` is git's own stderr."""


class GitHubError(ScenarioForgeError):
    """A GitHub API call failed; ``message`` is GitHub's own message."""


class CodexError(ScenarioForgeError):
    """The Codex app-server or a turn failed; ``message`` is Codex's own error."""


class Cancelled(ScenarioForgeError):
    """The run was cancelled by a person (``/scenarioforge cancel``)."""


#: pydantic error type → what a person reads (JSON type names, as in GitHub's webhook schema).
_PROBLEMS = {
    "missing": "is missing", "model_type": "must be an object", "dict_type": "must be an object",
    "model_attributes_type": "must be an object", "int_type": "must be an integer", "string_type": "must be a string",
    "list_type": "must be an array", "greater_than": "must be a positive integer",
}
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
               type(None): "null"}


class PayloadError(ScenarioForgeError):
    """A webhook payload lacks a field a handler uses, or has it with the wrong type; ``message``
    names the event and the field (``issue_comment delivery: field `comment.body` …``)."""

    @classmethod
    def from_validation(cls, event: str, exc: Any) -> PayloadError:
        """The first error of a ``pydantic.ValidationError`` as ``<event> delivery: field `a.b` must be an
        integer (got string)``; ``event`` is the event name (with ``.action`` when known)."""
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        problem = _PROBLEMS.get(error["type"], error["msg"].lower())
        if error["type"] != "missing":
            problem += f" (got {_JSON_TYPES.get(type(error['input']), type(error['input']).__name__)})"
        return cls(f"{event} delivery: field `{field}` {problem}", event=event, field=field)
