"""Keep the installations and installation_repositories tables current.

Webhooks: ``installation`` (created, deleted, suspend, unsuspend,
new_permissions_accepted) and ``installation_repositories`` (added, removed)
(https://docs.github.com/webhooks/webhook-events-and-payloads#installation).
Rows are written with one ``INSERT … ON CONFLICT DO UPDATE`` each (SQLite and
PostgreSQL, as ``storage.deliveries``), so two deliveries about a new
installation handled at once cannot both try to insert it.
"""
from __future__ import annotations

from typing import Any

from gidgethub import routing
from gidgethub.abc import GitHubAPI
from gidgethub.sansio import Event
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import payloads
from storage.db import Database
from storage.models import Installation, InstallationRepository, utcnow

router = routing.Router()

#: Database dialect → its ``INSERT`` construct with ``ON CONFLICT``.
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _insert(session: AsyncSession, model: type) -> Any:
    """An ``INSERT`` into ``model``'s table that supports ``on_conflict_do_update``.

    Raises:
        KeyError: the session's database is neither SQLite nor PostgreSQL.
    """
    return _INSERTS[session.get_bind().dialect.name](model)


async def upsert_installation(session: AsyncSession, data: dict[str, Any], **state: bool) -> int:
    """Insert or refresh the installation row from a payload's ``installation`` object
    (``state``: ``deleted=…``); returns its id."""
    values = {
        "account_login": data["account"]["login"],
        "account_type": data["account"]["type"],
        "repository_selection": data.get("repository_selection"),
        "suspended": data.get("suspended_at") is not None,
        **state,
    }
    await session.execute(
        _insert(session, Installation).values(id=data["id"], **values)
        .on_conflict_do_update(index_elements=[Installation.id], set_={**values, "updated_at": utcnow()})
    )
    return data["id"]


async def add_repositories(session: AsyncSession, installation_id: int, repositories: list[dict[str, Any]]) -> None:
    """Insert or rename the given repositories of an installation."""
    if not repositories:
        return
    insert = _insert(session, InstallationRepository).values([
        {"installation_id": installation_id, "repository_id": repository["id"], "full_name": repository["full_name"]}
        for repository in repositories
    ])
    await session.execute(insert.on_conflict_do_update(
        index_elements=[InstallationRepository.installation_id, InstallationRepository.repository_id],
        set_={"full_name": insert.excluded.full_name},
    ))


async def remove_repositories(session: AsyncSession, installation_id: int, repositories: list[dict[str, Any]]) -> None:
    """Delete the given repositories of an installation."""
    ids = [repository["id"] for repository in repositories]
    if ids:
        await session.execute(delete(InstallationRepository).where(
            InstallationRepository.installation_id == installation_id,
            InstallationRepository.repository_id.in_(ids),
        ))


@router.register("installation", action="created")
@router.register("installation", action="new_permissions_accepted")
@router.register("installation", action="unsuspend")
@router.register("installation", action="suspend")
async def on_installation(event: Event, gh: GitHubAPI, *args: Any, db: Database, **kwargs: Any) -> None:
    """Record the installation and, when the payload lists them, its repositories."""
    payloads.check(event, payloads.Installation)
    async with db.session() as session:
        installation_id = await upsert_installation(session, event.data["installation"], deleted=False)
        await add_repositories(session, installation_id, event.data.get("repositories") or [])


@router.register("installation", action="deleted")
async def on_uninstalled(event: Event, gh: GitHubAPI, *args: Any, db: Database, **kwargs: Any) -> None:
    """Keep the installation row marked deleted (runs refer to it) and drop its repositories."""
    payloads.check(event, payloads.Installation)
    async with db.session() as session:
        installation_id = await upsert_installation(session, event.data["installation"], deleted=True)
        await session.execute(delete(InstallationRepository).where(
            InstallationRepository.installation_id == installation_id
        ))


@router.register("installation_repositories", action="added")
@router.register("installation_repositories", action="removed")
async def on_repositories_changed(event: Event, gh: GitHubAPI, *args: Any, db: Database, **kwargs: Any) -> None:
    """Apply the added and removed repositories of an installation."""
    payloads.check(event, payloads.InstallationRepositories)
    data = event.data
    async with db.session() as session:
        installation_id = await upsert_installation(session, data["installation"], deleted=False)
        await add_repositories(session, installation_id, data.get("repositories_added") or [])
        await remove_repositories(session, installation_id, data.get("repositories_removed") or [])
