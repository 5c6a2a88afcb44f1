"""The exportable report of a run (backlog SF-6002), built only from persisted data.

:func:`report_data` turns a :class:`~bot.board.queries.RunView` into one
JSON-ready dict (manifest and sources, pack revision, execution results,
evidence, fix attempts with diffs, PR, the findings of the run's policy, events,
raw error); :func:`render`
writes it as ``json``, ``md`` or ``html``. Nothing depends on the clock or the
settings (no export time, no price table), and JSON keys are sorted, so the
same run exported twice is byte-identical.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from bot.board.governance import stage_findings
from bot.board.queries import RunView, duration_s
from bot.jobs.policy import FINDINGS_PHASE
from bot.domain.pack import PackDocument

FORMATS = {"json": "application/json", "md": "text/markdown", "html": "text/html"}
SCHEMA = "scenarioforge.run-report/1"


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _pack(view: RunView) -> dict[str, Any] | None:
    row = view.pack
    if row is None:
        return None
    document = PackDocument.model_validate(row.document)
    return {
        "revision": row.revision, "mode": row.mode, "model": row.model, "manifest_hash": row.manifest_hash,
        "head_sha": row.head_sha, "branch": row.branch, "prompt_version": row.prompt_version,
        "commit_sha": row.commit_sha, "pr_number": row.pr_number, "title": document.pack.title,
        "scenarios": [
            {"id": scenario.id, "title": scenario.title, "source_ids": list(scenario.source_ids)}
            for _, _, scenario in document.pack.scenarios()
        ],
    }


def _manifest(view: RunView) -> dict[str, Any] | None:
    row = view.manifest
    if row is None:
        return None
    return {
        "id": row.id, "commit_sha": row.commit_sha, "manifest_hash": row.manifest_hash,
        "sources": [
            {"path": source.path, "blob_sha": source.blob_sha, "type": source.type, "status": source.status,
             "selected": source.selected}
            for source in sorted(row.sources, key=lambda source: source.path)
        ],
    }


def _pull(view: RunView) -> dict[str, Any] | None:
    if view.pull is None:
        return None
    state = view.pull_state
    return {
        "number": view.pull.number, "url": view.pull.url, "branch": view.pull.branch,
        "scenario_ids": list(view.pull.scenario_ids),
        "state": state.state if state else None, "draft": state.draft if state else None,
        "merged": state.merged if state else None, "review_state": state.review_state if state else None,
    }


def report_data(view: RunView) -> dict[str, Any]:
    """The whole report as a JSON-ready dict (shape ``SCHEMA``); times are UTC ISO 8601."""
    run = view.run
    return {
        "schema": SCHEMA,
        "run": {
            "id": run.id, "repository": run.repository, "issue_number": run.issue_number,
            "is_pull_request": run.is_pull_request, "action": run.action, "args": run.args,
            "requester": run.requester, "state": run.state, "phase": run.phase, "ref": run.ref,
            "head_sha": run.head_sha, "created_at": _time(run.created_at), "started_at": _time(run.started_at),
            "finished_at": _time(run.finished_at),
            "duration_s": duration_s(run) if run.finished_at else None, "error": run.error,
        },
        "events": [
            {"event_id": event.event_id, "timestamp": _time(event.timestamp), "phase": event.phase,
             "status": event.status, "message": event.message, "payload": event.payload}
            for event in view.events
        ],
        "manifest": _manifest(view),
        "pack": _pack(view),
        "execution": view.outcome.model_dump(mode="json") if view.outcome is not None else None,
        "pull_request": _pull(view),
        "policy": {"key": run.policy_key, "effective_hash": run.policy_effective_hash},
        "findings": [
            {"stage": item.stage, **item.finding.as_dict()}
            for item in stage_findings((event.phase, event.payload) for event in view.events
                                       if event.phase.startswith(FINDINGS_PHASE))
        ],
    }


def render(view: RunView, fmt: str) -> bytes:
    """The report of ``view`` in ``fmt`` (``json | md | html``), UTF-8.

    Raises:
        ValueError: an unknown format.
    """
    data = report_data(view)
    if fmt == "json":
        return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
    if fmt == "md":
        from bot.board.report_md import markdown

        return markdown(data).encode()
    if fmt == "html":
        from bot.board.render import environment

        return environment().get_template("report.html").render(report=data).encode()
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
