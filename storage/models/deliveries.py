"""Webhook deliveries as recorded before the answer, and how each ended."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class Delivery(Base):
    """One webhook delivery, recorded before the HTTP answer and never changed after.

    How it ended is a ``DeliveryOutcome`` row; a delivery without one is
    pending (recorded, not handled yet).
    """

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # X-GitHub-Delivery
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    repository: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[str] = mapped_column(Text)


class DeliveryOutcome(Base):
    """How a delivery ended, in a narrow table of its own: writing an outcome
    inserts a few bytes instead of rewriting the delivery's payload row.

    ``status``: ``processed`` | ``ignored`` (no handler for the event) |
    ``failed`` (a handler raised; ``error`` is its text).
    """

    __tablename__ = "delivery_outcomes"

    # No ON DELETE CASCADE: a migration that rebuilds ``deliveries`` (SQLite batch mode
    # drops the old table) fails here instead of erasing every outcome, which would
    # make every delivery pending and dispatched again.
    delivery_id: Mapped[str] = mapped_column(String(64), ForeignKey("deliveries.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
