"""The ``generate`` action's loop: prompt → Codex turn → validate → refine → pack revision.

:func:`generate_pack` is shared by the worker and the local command
(``scenarioforge generate --repo PATH``, :func:`generate_command`). It runs one
Codex thread (read-only sandbox) per call: the first turn generates (or, with
``previous``, updates) the pack through the ``outputSchema``; validator
findings go back to Codex in the same thread for up to ``refine_rounds``
rounds (issue 4; the Scenario Generator plan's refinement loops, seed 002
"Plan Refinement Loop (configurable 1-5 iterations)"); a pack still invalid
after that raises :class:`PackInvalid` with the findings.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.codex.engine import Engine
from bot.codex.prompts import (
    PROMPT_VERSION,
    SourceText,
    generation_prompt,
    refine_prompt,
)
from bot.codex.resume import take_over
from bot.codex.turns import EngineEvent, OnEvent, TokenUsage, TurnResult, emit
from bot.domain.pack import Finding, PackDocument, Revision, ScenarioPack, pack_schema
from bot.errors import ScenarioForgeError
from bot.jobs.steps import step
from bot.scenarios.render import render_pack
from bot.scenarios.validate import ChangeSummary, change_summary, validate_pack
from bot.workspace.git import git_sync
from config.repo import DEFAULT_TOKEN_BUDGET

PACK_JSON = "scenario-pack.json"
PACK_MD = "scenarios.md"


class PackInvalid(ScenarioForgeError):
    """The pack still broke the quality bar after the refinement rounds; ``findings`` says how."""

    def __init__(self, findings: Sequence[Finding], rounds: int, **context: Any) -> None:
        lines = "\n".join(f"- {finding}" for finding in findings)
        super().__init__(
            f"scenario pack still invalid after {rounds} refinement round(s):\n{lines}",
            error_type="PackInvalid", **context,
        )
        self.findings = list(findings)


@dataclass(frozen=True)
class GenerationResult:
    """The accepted pack, its revision metadata and the change summary against ``previous``."""

    pack: ScenarioPack
    revision: Revision
    changes: ChangeSummary
    turns: list[TurnResult]

    def document(self) -> PackDocument:
        return PackDocument(revision=self.revision, pack=self.pack)


def check_output(parsed: Any, source_ids: set[str]) -> tuple[ScenarioPack | None, list[Finding]]:
    """Parse a turn's JSON into a pack and validate it; schema errors become findings."""
    try:
        pack = ScenarioPack.model_validate(parsed)
    except ValidationError as exc:
        return None, [
            Finding("schema", f"{'.'.join(map(str, error['loc']))}: {error['msg']}")
            for error in exc.errors()
        ]
    return pack, validate_pack(pack, source_ids)


async def generate_pack(
    engine: Engine,
    *,
    worktree: Path,
    sources: Sequence[SourceText],
    inventory_facts: dict[str, Any],
    instruction: str,
    previous: PackDocument | None = None,
    refine_rounds: int = 2,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    on_event: OnEvent | None = None,
    repository: str | None = None,
    branch: str | None = None,
    head_sha: str | None = None,
    manifest_id: str | None = None,
    manifest_hash: str | None = None,
) -> GenerationResult:
    """Generate (``previous=None``, revision 1) or update (revision n+1) a scenario pack.

    ``sources`` are the selected sources of the confirmed manifest, in priority
    order; their ids are the only ones a scenario may cite. ``refine_rounds``
    is 0–5 (repository config ``generate.refine_rounds``). Timings in the
    revision are seconds per phase (prompt, codex_start, turns, validation).

    Raises:
        PackInvalid: findings remain after ``refine_rounds`` refinement turns.
        CodexError: Codex failed (raw message, with thread and turn ids).
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    prompt = generation_prompt(
        sources, inventory_facts, instruction, repository=repository or "",
        previous=previous.pack if previous else None,
        previous_revision=previous.revision.revision if previous else None,
        token_budget=token_budget,
    )
    timings["prompt"] = time.perf_counter() - clock
    if prompt.cut:
        await emit(on_event, EngineEvent(
            "prompt", "running", f"{len(prompt.cut)} source(s) cut to fit the token budget",
            {"cut": [cut.as_dict() for cut in prompt.cut]},
        ))
    source_ids = {source.source_id for source in sources}
    schema = pack_schema()
    turns: list[TurnResult] = []
    history: list[list[Finding]] = []

    clock = time.perf_counter()
    async with engine.thread(worktree, sandbox="read-only") as thread:
        timings["codex_start"] = time.perf_counter() - clock
        timings["turns"] = timings["validation"] = 0.0
        # Checkpointed steps (bot.jobs.steps): the thread's id, then each turn. A resumed
        # workflow gets the finished turns back without paying for them and continues the
        # recorded thread, or, where Codex cannot resume it, a new one told what came before.
        recorded_thread = await step("codex_thread", _value, thread.id)
        live: list[bool] = []

        async def run_turn(text: str, skills: tuple[str, ...]) -> TurnResult:
            if not live:
                live.append(True)
                used = sum((turn.usage for turn in turns), TokenUsage())
                text, retold = await take_over(thread, recorded_thread, used=used, first_prompt=prompt.text,
                                               previous_answer=turns[-1].text if turns else None, follow_up=text)
                skills = ("scenario",) if retold else skills
            turn = await thread.turn(text, output_schema=schema, skills=skills, on_event=on_event)
            return replace(turn, items=[], commands=[])  # the checkpoint keeps what generation uses

        text = prompt.text
        for round_ in range(refine_rounds + 1):
            # The skill is attached once; refinement turns share the thread's context.
            skills = ("scenario",) if round_ == 0 else ()
            turn = await step(f"turn {round_ + 1}", run_turn, text, skills)
            turns.append(turn)
            timings["turns"] += turn.duration_s
            clock = time.perf_counter()
            pack, findings = check_output(turn.parsed, source_ids)
            timings["validation"] += time.perf_counter() - clock
            history.append(findings)
            context = {"thread_id": thread.id, "turn_id": turn.turn_id, "round": round_}
            if pack is not None and not findings:
                await emit(on_event, EngineEvent(
                    "validate", "passed", f"pack valid: {len(pack.scenario_ids())} scenarios", context))
                break
            await emit(on_event, EngineEvent(
                "validate", "failed", f"{len(findings)} finding(s)",
                {**context, "findings": [finding.as_dict() for finding in findings]},
            ))
            if round_ == refine_rounds:
                raise PackInvalid(findings, refine_rounds, thread_id=thread.id, turn_id=turn.turn_id)
            text = refine_prompt(findings, sorted(source_ids))

    changes = change_summary(previous.pack if previous else None, pack)
    revision = Revision(
        revision=previous.revision.revision + 1 if previous else 1,
        mode="update" if previous else "initial",
        prompt_version=PROMPT_VERSION,
        model=engine.settings.codex_model,
        thread_id=turns[0].thread_id,
        turn_ids=[turn.turn_id for turn in turns],
        manifest_id=manifest_id, manifest_hash=manifest_hash,
        repository=repository, branch=branch, head_sha=head_sha,
        token_usage=[{"turn_id": turn.turn_id, **asdict(turn.usage)} for turn in turns],
        timings_s={phase: round(seconds, 4) for phase, seconds in timings.items()},
        cut_sources=[cut.as_dict() for cut in prompt.cut],
        findings_history=[[finding.as_dict() for finding in findings] for findings in history],
        change_summary=changes.as_dict(),
    )
    return GenerationResult(pack=pack, revision=revision, changes=changes, turns=turns)


async def _value(value: Any) -> Any:
    return value


def find_test_commands(worktree: Path) -> list[str]:
    """Test commands a repository declares: pytest (``pyproject.toml``/``pytest.ini``),
    ``package.json`` ``scripts.test``, a Makefile ``test`` target, ``go.mod``, ``Cargo.toml``."""

    def read(name: str) -> str:
        path = worktree / name
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

    commands = []
    if "pytest" in read("pyproject.toml") or (worktree / "pytest.ini").is_file():
        commands.append("python -m pytest")
    try:
        scripts = json.loads(read("package.json") or "{}").get("scripts") or {}
    except (json.JSONDecodeError, AttributeError):
        scripts = {}
    if isinstance(scripts, dict) and "test" in scripts:
        commands.append(f"npm test  # {scripts['test']}")
    if any(line.startswith("test:") for line in read("Makefile").splitlines()):
        commands.append("make test")
    if (worktree / "go.mod").is_file():
        commands.append("go test ./...")
    if (worktree / "Cargo.toml").is_file():
        commands.append("cargo test")
    return commands


def repository_facts(worktree: Path, languages: dict[str, int]) -> dict[str, Any]:
    """The inventory facts a prompt carries: files per language and test commands found."""
    ranked = sorted(languages.items(), key=lambda kv: -kv[1])
    return {
        "languages": {language: f"{count} files" for language, count in ranked},
        "test_commands": find_test_commands(worktree),
    }


# ---------------------------------------------------------------- local mode


def _print_event(event: EngineEvent) -> None:
    """Progress on the terminal: one line per real transition."""
    if event.phase == "command" and event.status == "running":
        print(f"    $ {event.message}", flush=True)
    elif event.phase == "command":
        print(f"      exit {event.payload.get('exit_code')} in {event.payload.get('duration_ms')} ms", flush=True)
    else:
        print(f"[{event.phase}] {event.status}: {event.message}", flush=True)


def _ask(question: str, assume_yes: bool) -> bool | None:
    """``True``/``False`` from the terminal, ``None`` when stdin is not interactive."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        return None
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}


def _blob_text(repo: Path, blob_sha: str) -> str:
    """The exact text the manifest hashed (the blob, not the possibly edited working file)."""
    return git_sync("-C", str(repo), "cat-file", "-p", blob_sha, repository=str(repo)).decode(
        "utf-8", errors="replace")


def _fail(exc: ScenarioForgeError) -> int:
    """Print a raw error with its context (seed 000 §6); exit code 1."""
    print(f"{exc.error_type}: {exc.message}", file=sys.stderr)
    if exc.context:
        print(f"context: {json.dumps(exc.context)}", file=sys.stderr)
    return 1


def _gate(selected: list[Any], assume_yes: bool) -> str | None:
    """Why generation may not start (seed 000 §7 trust gate), or ``None`` to go on."""
    if not selected:
        return "No source is selected: nothing to generate scenarios from."
    risky = [source.path for source in selected if source.status in {"stale", "suspect"}]
    if not risky:
        return None
    answer = _ask(f"{len(risky)} selected source(s) are stale or suspect ({', '.join(risky)}). Use them?", assume_yes)
    if answer is None:
        return "Stale or suspect sources are selected and stdin is not a terminal: confirm with --yes."
    return None if answer else "Not confirmed; nothing generated."


def generate_command(repo: Path, instruction: str, out: Path, assume_yes: bool = False) -> int:
    """``scenarioforge generate --repo PATH [--instruction TEXT] [--out DIR] [--yes]``.

    Scans the checkout at HEAD, shows the selection and asks for confirmation
    when stale or suspect sources are selected (seed 000 §7; ``--yes``
    confirms; a non-interactive stdin without ``--yes`` is refused), runs
    Codex and writes ``scenarios.md`` and ``scenario-pack.json`` into ``out``.
    An existing ``scenario-pack.json`` there is the previous revision (update).
    Returns the process exit code (0 ok, 1 failed, 2 refused at the gate).
    """
    from bot.sources.render import render_terminal
    from bot.sources.scan import scan_checkout
    from config.settings import Settings

    repo, out = repo.resolve(), out.resolve()
    print(f"Scanning {repo} …", flush=True)
    try:
        result = scan_checkout(repo, "HEAD")
        print(render_terminal(result), flush=True)
        selected = [source for source in result.sources if source.selected]
        if refusal := _gate(selected, assume_yes):
            print(refusal, file=sys.stderr)
            return 2
        sources = [SourceText(source.path, source.path, _blob_text(repo, source.blob_sha)) for source in selected]
        pack_path = out / PACK_JSON
        previous = (PackDocument.model_validate_json(pack_path.read_text(encoding="utf-8"))
                    if pack_path.is_file() else None)
        engine = Engine(Settings())
        print(f"Running Codex ({engine.settings.codex_model}) …", flush=True)
        generated = asyncio.run(generate_pack(
            engine, worktree=repo, sources=sources,
            inventory_facts=repository_facts(repo, result.inventory.languages),
            instruction=instruction, previous=previous, on_event=_print_event,
            head_sha=result.commit_sha, manifest_hash=result.manifest_hash, repository=repo.name,
        ))
    except ScenarioForgeError as exc:
        return _fail(exc)

    document = generated.document()
    out.mkdir(parents=True, exist_ok=True)
    pack_path.write_text(document.model_dump_json(indent=2) + "\n", encoding="utf-8")
    markdown = render_pack(document, source_link=lambda source_id: (source_id, os.path.relpath(repo / source_id, out)))
    (out / PACK_MD).write_text(markdown, encoding="utf-8")
    changes = generated.changes
    print(f"Revision {document.revision.revision}: {len(document.pack.scenario_ids())} scenarios "
          f"(+{len(changes.added)} ~{len(changes.changed)} -{len(changes.removed)}); "
          f"{sum(usage['total_tokens'] for usage in document.revision.token_usage)} tokens")
    print(f"Wrote {out / PACK_MD} and {pack_path}")
    return 0
