"""The Markdown form of a run report (``bot.board.report``): headings, lists and fenced blocks.

Untrusted text (messages, scenario texts, command output, diffs, errors) goes
into fenced blocks whose fence is longer than any backtick run inside, or into
inline code, so it cannot change the document's structure.
"""
from __future__ import annotations

import json
import re
from typing import Any


def fenced(text: str, info: str = "") -> str:
    """``text`` in a fenced code block that no backtick run inside can close."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}{info}\n{text}\n{fence}"


def code(text: Any) -> str:
    """``text`` as inline code (CommonMark: a longer backtick string and padding spaces)."""
    value = str(text).replace("\n", " ")
    ticks = "`" * (1 + max((len(run) for run in re.findall(r"`+", value)), default=0))
    return f"{ticks} {value} {ticks}"


def _header(run: dict[str, Any]) -> list[str]:
    return [
        f"# ScenarioForge run {run['id']} · {code(run['action'])} · {run['state']}", "",
        f"- repository: {code(run['repository'])}, {'pull request' if run['is_pull_request'] else 'issue'} "
        f"#{run['issue_number']}",
        f"- requested by: {code(run['requester'])}", f"- arguments: {code(json.dumps(run['args'], sort_keys=True))}",
        f"- head SHA: {code(run['head_sha'] or '-')}, ref: {code(run['ref'] or '-')}",
        f"- created {run['created_at']}, started {run['started_at'] or '-'}, finished {run['finished_at'] or '-'}",
        "",
    ]


def _sources(report: dict[str, Any]) -> list[str]:
    lines = []
    if (manifest := report["manifest"]) is not None:
        lines += [f"## Manifest {code(manifest['manifest_hash'])} at {code(manifest['commit_sha'])}", ""]
        lines += [f"- {code(s['path'])} at {code(s['blob_sha'])}: {s['status']}"
                  f"{'' if s['selected'] else ' (not selected)'}" for s in manifest["sources"]]
        lines.append("")
    if (pack := report["pack"]) is not None:
        lines += [f"## Pack revision {pack['revision']} ({pack['mode']}, {code(pack['model'])})", ""]
        lines += [f"- {code(s['id'])} {code(s['title'])} from {', '.join(code(p) for p in s['source_ids'])}"
                  for s in pack["scenarios"]]
        lines.append("")
    return lines


def _scenario(result: dict[str, Any], evidence: dict[str, dict[str, Any]]) -> list[str]:
    lines = [f"### {code(result['scenario_id'])}: {result['status']}", ""]
    if result.get("classification"):
        cause = result["classification"]
        lines += [f"- cause: {cause['cause']}: {code(cause['reason'])}", f"- action: {code(cause['action'])}"]
    if result.get("blocked_reason"):
        lines.append(f"- blocked: {code(result['blocked_reason'])}")
    if result.get("rerun_command"):
        lines.append(f"- rerun: {code(result['rerun_command'])}")
    for checkpoint in result["checkpoints"]:
        mark = "passed" if checkpoint["passed"] else "FAILED"
        lines += [f"- checkpoint {mark}: {code(checkpoint['checkpoint'])}",
                  f"  - expected: {code(checkpoint['expected'])}", f"  - observed: {code(checkpoint['observed'])}"]
    if result.get("notes"):
        lines += ["", fenced(result["notes"], "text")]
    for evidence_id in result["evidence_ids"]:
        item = evidence.get(evidence_id)
        if item is not None and item["kind"] == "command":
            cut = f" ({item['output_cut']})" if item.get("output_cut") else ""
            lines += ["", f"Evidence {code(evidence_id)}: {code(item['command'])} → exit {item['exit_code']} "
                      f"in {item['duration_ms']} ms{cut}", "", fenced(item["output"], "text")]
    return lines + [""]


def _execution(execution: dict[str, Any]) -> list[str]:
    evidence = {item["id"]: item for item in execution["evidence"]}
    lines = [f"## Execution: {execution['status']} (mode {execution['mode']}, stop reason "
             f"{execution['stop_reason'] or '-'})", "",
             f"- tokens: {execution['tokens']}, duration {execution['duration_s']:.1f} s "
             f"(Codex {execution['codex_s']:.1f} s)", ""]
    for result in execution["results"]:
        lines += _scenario(result, evidence)
    for attempt in execution["attempts"]:
        lines += [f"### Fix attempt {attempt['number']}: rerun {attempt['rerun_outcome']}", "",
                  f"- scenarios: {', '.join(code(s) for s in attempt['scenario_ids'])}"]
        if attempt["summary"]:
            lines += ["", fenced(attempt["summary"], "text")]
        if attempt["diff"]:
            lines += ["", fenced(attempt["diff"], "diff")]
        lines.append("")
    return lines


def _findings(report: dict[str, Any]) -> list[str]:
    policy = report["policy"]["key"]
    lines = [f"## Findings ({len(report['findings'])})" + (f" of policy {code(policy)}" if policy else ""), ""]
    lines += [f"- {item['stage']} · {item['severity']} · {code(item['code'])} on {code(item['scope'])}: "
              f"{code(item['message'])}; suggested fix: {code(item['suggested_fix'])}" for item in report["findings"]]
    return lines + ([] if report["findings"] else ["None."]) + [""]


def markdown(report: dict[str, Any]) -> str:
    """The report dict of ``bot.board.report.report_data`` as a Markdown document."""
    run = report["run"]
    lines = _header(run) + _sources(report)
    if report["execution"] is not None:
        lines += _execution(report["execution"])
    if (pull := report["pull_request"]) is not None:
        state = "merged" if pull["merged"] else (pull["state"] or "unknown")
        lines += [f"## Fix pull request #{pull['number']} ({state})", "", f"- {pull['url']}",
                  f"- branch {code(pull['branch'])}", ""]
    lines += _findings(report)
    if run["error"]:
        lines += ["## Error", "", fenced(json.dumps(run["error"], indent=2, sort_keys=True), "json"), ""]
    lines += ["## Events", ""]
    lines += [f"- {event['timestamp']} {code(event['phase'])} {event['status']}: {code(event['message'] or '-')}"
              for event in report["events"]]
    return "\n".join(lines) + "\n"
