"""Keep the installations and installation_repositories tables current.

Webhooks: ``installation`` (created, deleted, suspend, unsuspend,
new_permissions_accepted) and ``installation_repositories`` (added, removed)
(https://docs.github.com/webhooks/webhook-events-and-payloads#installation).
Upserts are read-then-write in one transaction, portable to any database.
"""
from __future__ import annotations

from typing import Any

from gidgethub import routing
from gidgethub.abc import GitHubAPI
from gidgethub.sansio import Event
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Installation, InstallationRepository

router = routing.Router()


async def upsert_installation(session: AsyncSession, data: dict[str, Any], **state: bool) -> Installation:
    """Insert or refresh the installation row from a payload's ``installation`` object."""
    row = await session.get(Installation, data["id"]) or Installation(id=data["id"])
    row.account_login = data["account"]["login"]
    row.account_type = data["account"]["type"]
    row.repository_selection = data.get("repository_selection")
    row.suspended = data.get("suspended_at") is not None
    for name, value in state.items():
        setattr(row, name, value)
    session.add(row)
    await session.flush()
    return row


async def add_repositories(session: AsyncSession, installation_id: int, repositories: list[dict[str, Any]]) -> None:
    """Insert or rename the given repositories of an installation."""
    for repository in repositories:
        key = (installation_id, repository["id"])
        row = await session.get(InstallationRepository, key) or InstallationRepository(
            installation_id=installation_id, repository_id=repository["id"]
        )
        row.full_name = repository["full_name"]
        session.add(row)


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
    async with db.session() as session:
        installation = await upsert_installation(session, event.data["installation"], deleted=False)
        await add_repositories(session, installation.id, event.data.get("repositories") or [])


@router.register("installation", action="deleted")
async def on_uninstalled(event: Event, gh: GitHubAPI, *args: Any, db: Database, **kwargs: Any) -> None:
    """Keep the installation row marked deleted (runs refer to it) and drop its repositories."""
    async with db.session() as session:
        installation = await upsert_installation(session, event.data["installation"], deleted=True)
        await session.execute(delete(InstallationRepository).where(
            InstallationRepository.installation_id == installation.id
        ))


@router.register("installation_repositories", action="added")
@router.register("installation_repositories", action="removed")
async def on_repositories_changed(event: Event, gh: GitHubAPI, *args: Any, db: Database, **kwargs: Any) -> None:
    """Apply the added and removed repositories of an installation."""
    data = event.data
    async with db.session() as session:
        installation = await upsert_installation(session, data["installation"], deleted=False)
        await add_repositories(session, installation.id, data.get("repositories_added") or [])
        await remove_repositories(session, installation.id, data.get("repositories_removed") or [])
