"""Installation webhooks keep the installations tables current (real payloads, real SQLite)."""
import asyncio

from gidgethub.sansio import Event
from sqlalchemy import select

from handlers import router
from storage.models import Installation, InstallationRepository
from tests.support.webhooks import load_payload


async def deliver(database, fake_gh, settings, name, event_name, data=None):
    event = Event(data or load_payload(name), event=event_name, delivery_id=name)
    await router.dispatch(event, fake_gh, db=database, settings=settings, auth=None, delivery_id=name)


async def tables(database):
    async with database.session() as session:
        installations = {
            row.id: (row.account_login, row.repository_selection, row.suspended, row.deleted)
            for row in await session.scalars(select(Installation))
        }
        repositories = {
            (row.installation_id, row.full_name) for row in await session.scalars(select(InstallationRepository))
        }
    return installations, repositories


async def test_lifecycle_of_an_installation(database, fake_gh, settings):
    await deliver(database, fake_gh, settings, "installation.created.1.json", "installation")
    assert await tables(database) == (
        {957387: ("Codertocat", "selected", False, False)}, {(957387, "Codertocat/Hello-World")},
    )
    await deliver(database, fake_gh, settings, "installation.created.1.json", "installation")  # redelivered
    await deliver(database, fake_gh, settings, "installation_repositories.added.1.json", "installation_repositories")
    await deliver(database, fake_gh, settings, "installation.new_permissions_accepted.1.json", "installation")
    assert await tables(database) == (
        {957387: ("Codertocat", "all", False, False)},
        {(957387, "Codertocat/Hello-World"), (957387, "Codertocat/Space")},
    )
    assert fake_gh.calls == []


async def test_suspend_and_unsuspend(database, fake_gh, settings):
    await deliver(database, fake_gh, settings, "installation.suspend.1.json", "installation")
    assert (await tables(database))[0] == {16598467: ("Codertocat", "all", True, False)}
    await deliver(database, fake_gh, settings, "installation.unsuspend.1.json", "installation")
    assert (await tables(database))[0] == {16598467: ("Codertocat", "all", False, False)}


async def test_removed_repositories_and_deleted_installation(database, fake_gh, settings):
    added = load_payload("installation_repositories.removed.1.json")
    added.update(action="added", repositories_added=added["repositories_removed"], repositories_removed=[])
    await deliver(database, fake_gh, settings, "added", "installation_repositories", added)
    assert (await tables(database))[1] == {(2, "octocat/Hello-World")}
    await deliver(database, fake_gh, settings, "installation_repositories.removed.1.json", "installation_repositories")
    assert await tables(database) == ({2: ("octocat", "selected", False, False)}, set())
    await deliver(database, fake_gh, settings, "installation.deleted.1.json", "installation")
    assert await tables(database) == ({2: ("octocat", "selected", False, True)}, set())


async def test_deliveries_about_a_new_installation_handled_at_once_all_succeed(database, fake_gh, settings):
    created = load_payload("installation.created.1.json")
    await asyncio.gather(
        *(deliver(database, fake_gh, settings, f"created {i}", "installation", created) for i in range(4)),
        *(deliver(database, fake_gh, settings, "installation_repositories.added.1.json", "installation_repositories")
          for _ in range(4)),
    )
    installations, repositories = await tables(database)
    assert list(installations) == [957387]
    assert repositories == {(957387, "Codertocat/Hello-World"), (957387, "Codertocat/Space")}
