"""Tables of ScenarioForge (SQLAlchemy 2 declarative, nothing SQLite-only), one module per aggregate.

Time columns are timezone-aware UTC. JSON columns hold plain dicts/lists.
Every table is importable from here (``from storage.models import Run``);
Alembic's ``env.py`` reads ``Base.metadata`` with all of them registered.
"""
from storage.models.base import Base, new_event_id, utcnow
from storage.models.installations import Installation, InstallationRepository
from storage.models.deliveries import Delivery, DeliveryOutcome
from storage.models.runs import Run, RunEvent
from storage.models.executions import ExecutionResult, ScenarioResult, Evidence, FixAttempt, PullRequestLink
from storage.models.manifests import Manifest, ManifestSource, ManifestConfirmation
from storage.models.packs import PackRevision
from storage.models.pulls import PullRequestState
from storage.models.executors import Executor
from storage.models.ci import CIFailure
from storage.models.reviews import ScenarioReview
from storage.models.checkpoints import ExecuteCheckpoint

__all__ = [
    "Base",
    "CIFailure",
    "Delivery",
    "DeliveryOutcome",
    "Evidence",
    "ExecuteCheckpoint",
    "ExecutionResult",
    "Executor",
    "FixAttempt",
    "Installation",
    "InstallationRepository",
    "Manifest",
    "ManifestConfirmation",
    "ManifestSource",
    "PackRevision",
    "PullRequestLink",
    "PullRequestState",
    "Run",
    "RunEvent",
    "ScenarioReview",
    "ScenarioResult",
    "new_event_id",
    "utcnow",
]
