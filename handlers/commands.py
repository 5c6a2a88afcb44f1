"""Parse a `/scenarioforge …` command out of a comment body (pure, no I/O).

``parse(body)`` returns ``None`` when the body holds no command, a
``Command`` when the first command line is valid, or a ``CommandError``
saying what was wrong with it. A command line starts with ``/scenarioforge``
(at most three spaces of indentation, as a Markdown paragraph); lines inside
fenced code blocks and block quotes (``>``) are not commands, so quoting an
earlier command never runs it again.

After the verb come its flags, split with ``shlex`` (quotes group words, as in
``--branch "feature/x"``) and checked by ``argparse``, whose errors become our
``CommandError`` values instead of exiting. For ``generate``, flags are read
only up to the first word that is neither a flag nor a flag's value (or up to
``--``); the rest of the line is the instruction TEXT, verbatim: it may hold
apostrophes or words that look like flags (``generate cover the --branch
option docs``).

No flag changes credentials, endpoints or sandboxing: the only flags are the
ones listed in ``bot.github.messages.USAGE``.
"""
from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

from bot.github import messages

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
    repeat: int | None = None
    allow_test_changes: bool = False
    resume: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    config: bool = False

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
    "help": (), "status": ("config",), "cancel": (), "confirm": (),
    "generate": ("update", "branch", "text"),
    "execute": ("mode", "scenarios", "revision", "repeat", "allow_test_changes", "resume"),
    "sources": ("include", "exclude"),
}


class _Invalid(Exception):
    """Raised by ``_Parser.error`` instead of printing and exiting."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, verb: str) -> None:
        super().__init__(prog=f"{PREFIX} {verb}", add_help=False, allow_abbrev=False, exit_on_error=False)

    def error(self, message: str) -> NoReturn:
        raise _Invalid(message)


def _at_least_one(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {value!r}")
    return int(value)


def _repeat(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_REPEAT:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_REPEAT}, got {value!r}")
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


#: Most runs per scenario ``execute --repeat N`` asks for (as ``config.repo.ExecuteConfig.repeat``).
MAX_REPEAT = 20
#: What ``execute --resume RUN_ID`` takes over from RUN_ID (``bot.execution.resume``), so it takes none of them.
_RESUME_KEEPS = ("mode", "scenarios", "revision", "repeat", "allow_test_changes")
#: Flags of ``generate`` that take the next word as their value.
_GENERATE_VALUE_FLAGS = ("--branch",)


def _parser(verb: str) -> _Parser:
    parser = _Parser(verb)
    if verb == "generate":
        parser.add_argument("--update", action="store_true")
        parser.add_argument(*_GENERATE_VALUE_FLAGS, type=_branch)
    elif verb == "execute":
        parser.add_argument("--mode", choices=MODES)
        parser.add_argument("--scenarios", type=_scenario_ids, default=())
        parser.add_argument("--revision", type=_at_least_one)
        parser.add_argument("--repeat", type=_repeat)
        parser.add_argument("--allow-test-changes", action="store_true")
        parser.add_argument("--resume", type=_at_least_one, metavar="RUN_ID")
    elif verb == "status":
        parser.add_argument("--config", action="store_true")
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


def split_flags(rest: str, value_flags: tuple[str, ...]) -> tuple[list[str], str]:
    """Split the leading flags of ``rest`` from the text after them.

    Returns ``(tokens, text)``: ``tokens`` are the flag words and the values of
    ``value_flags`` (each takes the next word), unquoted by ``shlex``; ``text``
    is ``rest`` verbatim from the first other word on (after ``--`` if given),
    ``""`` when there is none. Words after the flags are never lexed, so an
    apostrophe there is just text.

    Raises:
        ValueError: a flag or flag value has an unbalanced quote (``shlex``).
    """
    lexer = shlex.shlex(rest, posix=True)
    lexer.whitespace_split, lexer.commenters = True, ""
    tokens: list[str] = []
    wants_value = False
    while True:
        start = len(rest) - len(rest[lexer.instream.tell():].lstrip(lexer.whitespace))
        if start == len(rest):
            return tokens, ""
        if not wants_value and not rest.startswith("-", start):
            return tokens, rest[start:]
        token = lexer.get_token()
        if token == "--" and not wants_value:
            return tokens, rest[lexer.instream.tell():].lstrip(lexer.whitespace)
        tokens.append(token)
        wants_value = not wants_value and token in value_flags


def parse(body: str) -> Command | CommandError | None:
    """Parse the first command of a comment body; see the module docstring."""
    line = find_command_line(body)
    if line is None:
        return None
    words = line.split(None, 2)
    if len(words) < 2:
        return CommandError(line, "no verb given", None)
    verb, rest = words[1], words[2] if len(words) > 2 else ""
    if verb not in VERBS:
        return CommandError(line, f"unknown verb {verb!r}", None)
    try:
        tokens, text = split_flags(rest, _GENERATE_VALUE_FLAGS) if verb == "generate" else (shlex.split(rest), "")
    except ValueError as exc:  # unbalanced quotes
        return CommandError(line, f"cannot split the line: {exc}", verb)
    try:
        options = vars(_parser(verb).parse_args(tokens))
    except (_Invalid, argparse.ArgumentError) as exc:
        return CommandError(line, str(exc), verb)
    if verb == "generate":
        options["text"] = text
    if options.get("resume") and (given := [f"--{name.replace('_', '-')}" for name in _RESUME_KEEPS if options[name]]):
        return CommandError(line, f"--resume cannot be combined with {', '.join(given)}: the resumed run keeps "
                                  "its mode, scenarios, revision, repeat and test-change rule", verb)
    for name in ("include", "exclude", "scenarios"):
        if name in options:
            options[name] = tuple(options[name])
    return Command(verb=verb, line=line, **options)
