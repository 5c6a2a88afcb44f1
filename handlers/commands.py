"""Parse a `/scenarioforge …` command out of a comment body (pure, no I/O).

``parse(body)`` returns ``None`` when the body holds no command, a
``Command`` when the first command line is valid, or a ``CommandError``
saying what was wrong with it. A command line starts with ``/scenarioforge``
(at most three spaces of indentation, as a Markdown paragraph); lines inside
fenced code blocks and block quotes (``>``) are not commands, so quoting an
earlier command never runs it again. Tokens are split with ``shlex`` (quotes
group words); flags are checked by ``argparse`` whose errors become our
``CommandError`` values instead of exiting.

No flag changes credentials, endpoints or sandboxing: the only flags are the
ones listed in ``bot.messages.USAGE``.
"""
from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

from bot import messages

PREFIX = "/scenarioforge"
VERBS = ("help", "status", "cancel", "generate", "execute", "sources", "confirm")
MODES = ("run", "fix", "pr", "full")

_COMMAND_LINE = re.compile(r"^ {0,3}/scenarioforge(?:\s|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_QUOTE = re.compile(r"^ {0,3}>")
_SCENARIO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# git-check-ref-format(1): no "..", "@{", control characters, space, ~ ^ : ? * [ \,
# no leading "-" or "/", no trailing "/", "." or ".lock", no "//".
_BAD_REF = re.compile(r"\.\.|@\{|//|[\x00-\x20\x7f~^:?*\[\\]|^[-/.]|/\.|[/.]$|\.lock$")


@dataclass(frozen=True)
class Command:
    """A valid command. Only the fields of its verb are set; the rest keep defaults.

    ``mode`` and ``revision`` are ``None`` when not given (the repository
    config or the latest revision decides later).
    """

    verb: str
    line: str
    update: bool = False
    branch: str | None = None
    text: str = ""
    mode: str | None = None
    scenarios: tuple[str, ...] = ()
    revision: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def args(self) -> dict[str, Any]:
        """The verb's flags as a JSON-ready dict (stored as ``Run.args``)."""
        fields = _FLAGS_OF[self.verb]
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in asdict(self).items() if name in fields}


@dataclass(frozen=True)
class CommandError:
    """An invalid command: the line as written, what was wrong, and the usage to show.

    ``verb`` is ``None`` when the verb itself is unknown or missing (usage is
    then the whole command reference).
    """

    line: str
    problem: str
    verb: str | None

    @property
    def usage(self) -> str:
        return messages.usage(self.verb)


_FLAGS_OF: dict[str, tuple[str, ...]] = {
    "help": (), "status": (), "cancel": (), "confirm": (),
    "generate": ("update", "branch", "text"),
    "execute": ("mode", "scenarios", "revision"),
    "sources": ("include", "exclude"),
}


class _Invalid(Exception):
    """Raised by ``_Parser.error`` instead of printing and exiting."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, verb: str) -> None:
        super().__init__(prog=f"{PREFIX} {verb}", add_help=False, allow_abbrev=False, exit_on_error=False)

    def error(self, message: str) -> NoReturn:
        raise _Invalid(message)


def _revision(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {value!r}")
    return int(value)


def _scenario_ids(value: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(","))
    bad = [scenario_id for scenario_id in ids if not _SCENARIO_ID.match(scenario_id)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"invalid scenario id {bad[0]!r} (ids are letters, digits, '.', '_' or '-', comma-separated)"
        )
    return ids


def _branch(value: str) -> str:
    if _BAD_REF.search(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a valid branch name")
    return value


def _parser(verb: str) -> _Parser:
    parser = _Parser(verb)
    if verb == "generate":
        parser.add_argument("--update", action="store_true")
        parser.add_argument("--branch", type=_branch)
        parser.add_argument("text", nargs="*")
    elif verb == "execute":
        parser.add_argument("--mode", choices=MODES)
        parser.add_argument("--scenarios", type=_scenario_ids, default=())
        parser.add_argument("--revision", type=_revision)
    elif verb == "sources":
        parser.add_argument("--include", nargs="+", action="extend", default=[])
        parser.add_argument("--exclude", nargs="+", action="extend", default=[])
    return parser


def find_command_line(body: str) -> str | None:
    """The first line of ``body`` that is a command, outside code fences and quotes."""
    fence: str | None = None
    for line in body.splitlines():
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
        elif not _QUOTE.match(line) and _COMMAND_LINE.match(line):
            return line.strip()
    return None


def parse(body: str) -> Command | CommandError | None:
    """Parse the first command of a comment body; see the module docstring."""
    line = find_command_line(body)
    if line is None:
        return None
    try:
        tokens = shlex.split(line)
    except ValueError as exc:  # unbalanced quotes
        return CommandError(line, f"cannot split the line: {exc}", None)
    if len(tokens) < 2:
        return CommandError(line, "no verb given", None)
    verb = tokens[1]
    if verb not in VERBS:
        return CommandError(line, f"unknown verb {verb!r}", None)
    try:
        options = vars(_parser(verb).parse_intermixed_args(tokens[2:]))
    except (_Invalid, argparse.ArgumentError) as exc:
        return CommandError(line, str(exc), verb)
    if "text" in options:
        options["text"] = " ".join(options["text"])
    for name in ("include", "exclude", "scenarios"):
        if name in options:
            options[name] = tuple(options[name])
    return Command(verb=verb, line=line, **options)
