"""Fixtures of the handler tests that deliver events through the shared transport fake (``fake_gh``)."""
import pytest

from handlers import router


@pytest.fixture
def dispatch(fake_gh, database, settings, web_runtime):
    """``await dispatch(event)``: ``handlers.router.dispatch`` of a gidgethub ``Event`` with ``fake_gh`` as the
    GitHub client, the test database and settings, no App auth, and the event's own delivery id."""
    async def dispatch(event):
        await router.dispatch(event, fake_gh, db=database, settings=settings, auth=None,
                              delivery_id=event.delivery_id)
    return dispatch
