"""Evidence from what really happened in a turn, never from the model's words.

Seed 000 §4.2 and backlog SF-4002 ("real logs/diffs tied to run + scenario
IDs, not placeholder paths"): every ``commandExecution`` item of a turn
becomes a command :class:`~bot.domain.results.Evidence` (output capped, the cut
stated); ``git diff`` of the worktree becomes a diff evidence. A scenario the
agent reports ``passed`` is only kept ``passed`` when every command it cites
really ran in the turn with an exit code of its own (alone or in an ``&&``
chain, :func:`same_command`) and exited 0; otherwise it becomes ``blocked``
(:func:`judge`).

Worktree states are captured as git tree objects through a temporary index
(``GIT_INDEX_FILE``), so untracked files count and neither the real index nor
the working tree is touched (https://git-scm.com/docs/git#Documentation/git.txt-codeGITINDEXFILEcode).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import stat
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.codex.turns import CommandRun
from bot.domain.results import Evidence, ExecutionReport, ScenarioOutcome
from bot.errors import GitError
from bot.workspace.git import NO_DRIVERS, git

#: Characters of command output kept per evidence (head + tail).
OUTPUT_LIMIT = 12_000
_HEAD = 2_000
_SHELLS = {"bash", "sh", "zsh", "dash"}


def evidence_id(content: dict[str, Any]) -> str:
    """``"ev-"`` + the first 16 hex digits of the SHA-256 of ``content`` as canonical JSON."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "ev-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def cap_output(text: str, limit: int = OUTPUT_LIMIT) -> tuple[str, str | None]:
    """``text`` cut to ``limit`` characters (the head and the tail kept) and what was cut.

    Returns ``(text, None)`` when nothing was cut, else the kept text with a
    marker line and a sentence such as ``"cut 5000 of 17000 characters after
    character 2000"``.
    """
    if len(text) <= limit:
        return text, None
    cut = len(text) - limit
    statement = f"cut {cut} of {len(text)} characters after character {_HEAD}"
    kept = text[:_HEAD] + f"\n[… {statement} …]\n" + text[_HEAD + cut:]
    return kept, statement


def command_evidence(items: Iterable[CommandRun], *, turn_id: str | None, attempt: int) -> list[Evidence]:
    """One command evidence per ``commandExecution`` item, in stream order."""
    evidence = []
    for item in items:
        output, cut = cap_output(item.output or "")
        content = {
            "item": item.item_id, "turn": turn_id, "command": item.command, "cwd": str(item.cwd),
            "exit_code": item.exit_code, "output": item.output or "",
        }
        evidence.append(Evidence(
            id=evidence_id(content), kind="command", turn_id=turn_id, attempt=attempt,
            command=item.command, cwd=str(item.cwd), exit_code=item.exit_code,
            duration_ms=item.duration_ms, output=output, output_cut=cut,
        ))
    return evidence


def diff_evidence(diff: str, files: Sequence[str], *, turn_id: str | None, attempt: int,
                  scenario_ids: Sequence[str]) -> Evidence | None:
    """The worktree change of one turn as evidence, or ``None`` when nothing changed."""
    if not files:
        return None
    return Evidence(
        id=evidence_id({"turn": turn_id, "diff": diff, "files": list(files)}), kind="diff",
        turn_id=turn_id, attempt=attempt, diff=diff, files=list(files), scenario_ids=list(scenario_ids),
    )


#: Quoted strings and backslash escapes, leftmost first: ``\x``, ``'…'``, ``"…"`` (``\"`` inside).
_QUOTED = re.compile(r"""\\.|'[^']*'|"(?:\\.|[^"\\])*\"""", re.DOTALL)
#: Unquoted separators of simple commands: ``&&``, ``||``, ``|&``, ``;``, ``|``, a newline, a
#: background ``&`` (not the ``&`` of ``>&`` or ``&>`` redirections).
_SEPARATOR = re.compile(r"&&|\|\||\|&|[;|\n]|(?<![<>&])&(?![&>])")
#: Unquoted subshells and command substitution: their commands are not read.
_SUBSHELL = re.compile(r"[()`]")
_SHELL_C = re.compile(r"-[A-Za-z]*c[A-Za-z]*")


def _commands(command: str) -> tuple[list[tuple[str, ...]], bool] | None:
    """The simple commands of ``command`` (each as its words) and whether its exit code 0 proves that each
    exited 0; ``None`` when it cannot be read (unbalanced quotes, subshells, command substitution).

    Only an ``&&`` chain proves each part (bash manual, "Lists of Commands": an
    AND list stops at the first failure and returns the last status,
    https://www.gnu.org/software/bash/manual/bash.html#Lists-of-Commands);
    ``;``, ``||``, pipes (the status is the last command's), a background
    ``&`` and newlines do not. Operators inside quotes are characters of a
    word. ``bash -lc 'X'`` (any shell of :data:`_SHELLS`, one option cluster
    holding ``c``) is read as ``X``.
    """
    command = command.strip()
    masked = _QUOTED.sub(lambda match: "_" * len(match.group()), command)
    if not command or _SUBSHELL.search(masked):
        return None
    parts: list[tuple[str, ...]] = []
    proves, start = True, 0
    for separator in [*_SEPARATOR.finditer(masked), None]:
        end = separator.start() if separator else len(command)
        try:
            words = shlex.split(command[start:end])
        except ValueError:
            return None
        if len(words) == 3 and Path(words[0]).name in _SHELLS and _SHELL_C.fullmatch(words[1]):
            inner = _commands(words[2])
            if inner is None:
                return None
            parts += inner[0]
            proves = proves and inner[1]
        elif words:
            parts.append(tuple(words))
        if separator is not None:
            proves = proves and separator.group() == "&&"
            start = separator.end()
    return (parts, proves) if parts else None


def _run_of(cited: list[tuple[str, ...]], recorded: list[tuple[str, ...]]) -> bool:
    """True when ``cited`` is a run of consecutive commands of ``recorded``."""
    size = len(cited)
    return any(recorded[start:start + size] == cited for start in range(len(recorded) - size + 1))


def same_command(cited: str, recorded: str) -> bool:
    """True when ``recorded`` exiting 0 proves that ``cited`` exited 0 (see :func:`_commands`).

    Either both are the same command (whitespace and quoting aside, ``bash
    -lc`` unwrapped), or ``recorded`` is an ``&&`` chain in which ``cited``
    (a command or itself an ``&&`` chain) is a run of consecutive parts.
    ``pytest -q`` is proven by ``cd app && pytest -q`` but not by ``pytest -q
    || true``, ``pytest -q | tee log``, ``pytest -q; echo ok`` nor ``pytest -q &``.
    """
    wanted, ran = _commands(cited), _commands(recorded)
    return wanted is not None and ran is not None and wanted[1] and ran[1] and _run_of(wanted[0], ran[0])


def _hidden_in(cited: str, recorded: str) -> bool:
    """True when ``cited`` ran as part of ``recorded`` but ``recorded``'s exit code is not its own."""
    wanted, ran = _commands(cited), _commands(recorded)
    return wanted is not None and ran is not None and not (wanted[1] and ran[1]) and _run_of(wanted[0], ran[0])


def proof(cited: Sequence[str], commands: Sequence[Evidence]) -> tuple[list[Evidence], str | None]:
    """The recorded commands proving ``cited`` (latest run of each, see :func:`same_command`) and why
    they do not prove a pass.

    The reason is ``None`` when every cited command was run and exited 0.
    """
    if not cited:
        return [], "the result cites no command"
    matched, missing, hidden, failing = [], [], [], []
    for command in cited:
        runs = [item for item in commands if item.command and same_command(command, item.command)]
        if not runs:
            inside = [item.command for item in commands if item.command and _hidden_in(command, item.command)]
            if inside:
                hidden.append(f"{command} (only within `{inside[-1]}`)")
            else:
                missing.append(command)
            continue
        matched.append(runs[-1])
        if runs[-1].exit_code != 0:
            failing.append(f"{command} (exit {runs[-1].exit_code})")
    if missing:
        return matched, "cited command(s) never ran in the turn: " + "; ".join(missing)
    if hidden:
        return matched, ("cited command(s) only ran inside a command whose exit code is not theirs "
                         "(joined by ;, ||, |, & or a newline): " + "; ".join(hidden))
    if failing:
        return matched, "cited command(s) did not exit 0: " + "; ".join(failing)
    return matched, None


def judge(report: ExecutionReport, commands: list[Evidence], selected: Sequence[str]) -> list[ScenarioOutcome]:
    """The bot's verdict per selected scenario, linking ``commands`` to the scenarios citing them.

    - a reported ``passed`` without proof (see :func:`proof`) becomes ``blocked``;
    - a selected scenario the report leaves out is ``blocked`` ("no result reported");
    - reports for scenarios that were not selected are ignored.

    ``commands`` are updated in place: each gets the ids of the scenarios that cite it.
    Returns the outcomes in the order of ``selected``.
    """
    reports = {item.scenario_id: item for item in report.scenarios if item.scenario_id in selected}
    outcomes = []
    for scenario_id in selected:
        item = reports.get(scenario_id)
        if item is None:
            outcomes.append(ScenarioOutcome(
                scenario_id=scenario_id, status="blocked", reported_status="blocked",
                blocked_reason="no result reported for this scenario",
            ))
            continue
        matched, missing_proof = proof(item.commands, commands)
        for evidence in matched:
            if scenario_id not in evidence.scenario_ids:
                evidence.scenario_ids.append(scenario_id)
        status, reason = item.status, None
        if item.status == "passed" and missing_proof:
            status, reason = "blocked", f"reported passed without proof: {missing_proof}"
        outcomes.append(ScenarioOutcome(
            scenario_id=scenario_id, status=status, reported_status=item.status,
            checkpoints=item.checkpoints, commands=item.commands, rerun_command=item.rerun_command,
            evidence_ids=[evidence.id for evidence in matched], notes=item.notes, blocked_reason=reason,
            misread=item.misread,
        ))
    return outcomes


# -- git: worktree snapshots and diffs ---------------------------------------------------------
#
# Every command goes through the hardened runner (bot.workspace.git): the worktree was just written by
# the agent, so its hooks, config and attributes are hostile.

#: Mode of a symbolic link in a git tree (https://git-scm.com/docs/git-fast-import#_filemodify).
SYMLINK_MODE = "120000"


async def snapshot(worktree: Path) -> str:
    """The worktree's current content (tracked and untracked, ``.gitignore`` respected) as a tree id.

    Symbolic links are recorded as links (git never follows them).
    """
    with tempfile.TemporaryDirectory(prefix="sf-index-") as folder:
        env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
        await git("read-tree", "HEAD", cwd=worktree, env=env)
        await git("add", "-A", cwd=worktree, env=env)
        return (await git("write-tree", cwd=worktree, env=env)).strip()


async def committed_texts(worktree: Path, paths: Iterable[str], *, commit: str = "HEAD") -> dict[str, str]:
    """Path → text of each of ``paths`` in ``commit`` of the worktree (absent ones left out): what the
    commit under test says, whatever the agent wrote in the working tree."""
    texts = {}
    for path in paths:
        try:
            texts[path] = await git("show", f"{commit}:{path}", cwd=worktree)
        except GitError:  # not a file of the commit
            continue
    return texts


async def diff(worktree: Path, before: str, after: str) -> tuple[str, list[str]]:
    """``git diff before after`` (tree ids, no external diff or textconv) and the paths it touches."""
    if before == after:
        return "", []
    text = await git("diff", *NO_DRIVERS, "--no-color", "--binary", before, after, cwd=worktree)
    names = await git("diff", *NO_DRIVERS, "--name-only", "-z", before, after, cwd=worktree)
    return text, [name for name in names.split("\0") if name]


async def entries(worktree: Path, tree: str) -> dict[str, tuple[str, str]]:
    """Every file of ``tree``: path → ``(mode, blob id)``."""
    listing = await git("ls-tree", "-r", "-z", tree, cwd=worktree)
    found = {}
    for record in listing.split("\0"):
        if record:
            meta, _, path = record.partition("\t")
            mode, _kind, sha = meta.split()
            found[path] = (mode, sha)
    return found


async def new_links(worktree: Path, before: str, after: str) -> list[str]:
    """Paths that are symbolic links in ``after`` and were not the same link in ``before``."""
    old, new = await entries(worktree, before), await entries(worktree, after)
    return sorted(path for path, (mode, sha) in new.items() if mode == SYMLINK_MODE and old.get(path) != (mode, sha))


def _remove(worktree: Path, path: str) -> None:
    """Delete ``path`` itself (a link is unlinked, never followed), then the directories it leaves empty.

    Nothing happens when a folder on the way is a link or not a folder: that folder is a change
    of its own and is restored as such.
    """
    current = worktree
    for part in Path(path).parts[:-1]:
        current = current / part
        if not os.path.lexists(current) or not stat.S_ISDIR(os.lstat(current).st_mode):
            return
    target = worktree / path
    if os.path.lexists(target) and not stat.S_ISDIR(os.lstat(target).st_mode):
        os.unlink(target)
    for parent in target.parents:  # directories the change created, now empty
        if parent == worktree or not parent.is_dir() or any(parent.iterdir()):
            break
        parent.rmdir()


async def restore(worktree: Path, tree: str, paths: Sequence[str]) -> None:
    """Put ``paths`` back as they are in ``tree`` (deleting those absent from it); the index is untouched.

    Never writes through a link: paths absent from ``tree`` are unlinked themselves (:func:`_remove`),
    the others are written by ``git checkout-index --force`` from a temporary index holding ``tree``,
    which replaces a link standing where a file or a folder of ``tree`` belongs instead of following it
    (https://git-scm.com/docs/git-checkout-index). ``worktree`` must be the checkout's root as given
    to :func:`snapshot`.
    """
    present = await entries(worktree, tree)
    for path in sorted((p for p in paths if p not in present), key=lambda p: -p.count("/")):
        _remove(worktree, path)
    kept = [path for path in paths if path in present]
    if kept:
        with tempfile.TemporaryDirectory(prefix="sf-index-") as folder:
            env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
            await git("read-tree", tree, cwd=worktree, env=env)
            await git("checkout-index", "--force", "--", *kept, cwd=worktree, env=env)
