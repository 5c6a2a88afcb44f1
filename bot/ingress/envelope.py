"""The envelope of a webhook delivery: the fields routing and the ``deliveries`` row need.

Every event's payload may carry ``action`` (a string), ``installation`` (an
object whose ``id`` is an integer) and ``repository`` (an object whose
``full_name`` is ``owner/name``), as GitHub's webhook schema describes them
(``installation.id``: ``integer``; ``repository.full_name``: ``string``,
https://docs.github.com/webhooks/webhook-events-and-payloads). They are
checked here, before anything is written or dispatched, so that one malformed
delivery is refused with the field named instead of failing later.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from bot.errors import PayloadError

#: Widths of ``deliveries.action`` / ``deliveries.repository`` (``storage.models.Delivery``).
ACTION_WIDTH = 64
REPOSITORY_WIDTH = 255
#: Largest ``installation_id`` a ``BIGINT`` column holds.
MAX_ID = 2**63 - 1


class _Installation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: StrictInt = Field(gt=0, le=MAX_ID)


class _Repository(BaseModel):
    model_config = ConfigDict(extra="ignore")
    full_name: StrictStr = Field(max_length=REPOSITORY_WIDTH, pattern=r"^[^/\s]+/[^/\s]+$")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action: StrictStr | None = Field(default=None, max_length=ACTION_WIDTH)
    installation: _Installation | None = None
    repository: _Repository | None = None


@dataclass(frozen=True)
class Envelope:
    """The checked envelope: ``None`` where the payload has no such field."""

    action: str | None
    installation_id: int | None
    repository: str | None


def parse(event: str, data: dict[str, Any]) -> Envelope:
    """The envelope of ``data`` (a delivery of ``event``).

    Raises:
        PayloadError: the first field of wrong type or shape, e.g. ``issue_comment
            delivery: field `installation.id` must be an integer (got string)``.
    """
    try:
        envelope = _Envelope.model_validate(data)
    except ValidationError as exc:
        raise PayloadError.from_validation(event, exc) from None
    return Envelope(
        action=envelope.action,
        installation_id=envelope.installation.id if envelope.installation else None,
        repository=envelope.repository.full_name if envelope.repository else None,
    )

