"""Run one git command for the bot: hardened, a scrubbed environment, the token only as an extra header.

Every git command of the bot (mirror, worktree, snapshot, diff, restore,
commit, push, the source scanner) goes through :func:`git` or
:func:`git_sync`, which put :func:`hardening` in front of its arguments: no
hook runs (``core.hooksPath=/dev/null``), no fsmonitor (``core.fsmonitor=false``),
no ssh command, askpass, credential helper, pager, editor or signing program
from the repository, and every ``filter.<driver>`` that the repository's (or a
planted) config defines is emptied, so a ``.gitattributes`` ``filter=`` runs
nothing (an empty ``clean``/``smudge``/``process`` is no filter,
https://git-scm.com/docs/gitattributes#_filter). System and global config are
not read (``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL=/dev/null``) and the
environment holds only :data:`PASSTHROUGH_ENV`. Diff commands add
:data:`NO_DRIVERS` (no external diff, no textconv).

The installation token reaches git only as an ``http.extraHeader`` given to
that one command through ``GIT_CONFIG_COUNT`` / ``GIT_CONFIG_KEY_0`` /
``GIT_CONFIG_VALUE_0`` (https://git-scm.com/docs/git-config#ENVIRONMENT):
never in a URL, a remote, the argument list or ``.git/config``. The header
is HTTP Basic with ``x-access-token`` as the user, as GitHub documents for
installation tokens over HTTPS
(https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation#about-authentication-as-a-github-app-installation).
"""
from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bot.errors import GitError

#: Variables passed through to git from the process environment (proxies and
#: CA bundles that a deployment may need); everything else is dropped.
PASSTHROUGH_ENV = (
    "PATH", "HOME", "LANG", "http_proxy", "https_proxy", "no_proxy",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO",
)


#: ``-c`` overrides of the keys that make git run a program (``git -c`` wins over every config file,
#: https://git-scm.com/docs/git#Documentation/git.txt--cltnamegtltvaluegt); an empty ``credential.helper``
#: clears the list of helpers (https://git-scm.com/docs/gitcredentials#_configuration_options).
SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull), ("core.fsmonitor", "false"), ("core.sshCommand", "ssh"),
    ("core.askPass", ""), ("credential.helper", ""), ("core.pager", "cat"), ("core.editor", "false"),
    ("sequence.editor", "false"), ("commit.gpgSign", "false"), ("tag.gpgSign", "false"),
    ("protocol.ext.allow", "never"),
)
#: Options of ``git diff``/``log -p`` that keep repository diff drivers from running.
NO_DRIVERS = ("--no-ext-diff", "--no-textconv")
_FILTER_KEY = re.compile(rb"^filter\.(.+)\.(?:clean|smudge|process|required)$", re.IGNORECASE)


def _overrides(listing: bytes) -> list[str]:
    """``-c`` arguments emptying every filter driver in ``git config -z --list`` output."""
    drivers = {}
    for entry in listing.split(b"\0"):
        match = _FILTER_KEY.match(entry.split(b"\n", 1)[0])
        if match:
            drivers[match.group(1).decode(errors="replace")] = None
    args: list[str] = []
    for key, value in SAFE_CONFIG:
        args += ["-c", f"{key}={value}"]
    for driver in drivers:
        args += ["-c", f"filter.{driver}.clean=", "-c", f"filter.{driver}.smudge=",
                 "-c", f"filter.{driver}.process=", "-c", f"filter.{driver}.required=false"]
    return args


def _listing_command(args: Sequence[str]) -> list[str]:
    """``git config -z --list`` with the options of ``args`` before the subcommand that locate the
    repository (``-C dir``, ``--git-dir=…``, ``--work-tree=…``; ``-c`` pairs left out)."""
    located, index = [], 0
    while index < len(args) and args[index].startswith("-"):
        if args[index] in ("-C", "-c"):
            located += args[index:index + 2] if args[index] == "-C" else []
            index += 2
        else:
            located.append(args[index])
            index += 1
    return ["git", *located, *_overrides(b""), "config", "-z", "--list"]


def hardening(args: Sequence[str], cwd: Path | None) -> list[str]:
    """The ``-c`` arguments to put before ``args`` run in ``cwd`` (see the module docstring).

    Reads the config git would see there (``git config -z --list``, which runs nothing)
    to find the filter drivers to empty.
    """
    listing = subprocess.run(_listing_command(args), cwd=cwd, env=git_env(None), stdin=subprocess.DEVNULL,
                             capture_output=True, check=False).stdout
    return _overrides(listing)


def git_sync(*args: str, cwd: Path | None = None, input: bytes | None = None,
             ok: Sequence[int] = (0,), **context) -> bytes:
    """Run ``git *args`` hardened, blocking; its stdout. For the synchronous source scanner.

    Raises:
        GitError: an exit code not in ``ok``; ``message`` is git's stderr unchanged.
    """
    process = subprocess.run(
        ["git", *hardening(args, cwd), *args], cwd=cwd, env=git_env(None), input=input,
        stdin=None if input is not None else subprocess.DEVNULL, capture_output=True, check=False,
    )
    if process.returncode not in ok:
        raise GitError(process.stderr.decode(errors="replace").strip(), command=" ".join(("git", *args)),
                       exit_code=process.returncode, **context)
    return process.stdout


def git_env(token: str | None) -> dict[str, str]:
    """A scrubbed environment for one git command, with the token as an extra header.

    No prompt (``GIT_TERMINAL_PROMPT=0``), no system or global config, so only
    the repository's own config and ours apply.
    """
    env = {key: os.environ[key] for key in PASSTHROUGH_ENV if key in os.environ}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    if token is not None:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: basic {basic}",
        )
    return env


async def git_bytes(*args: str, cwd: Path | None = None, token: str | None = None,
                    env: dict[str, str] | None = None, **context) -> bytes:
    """Run ``git *args`` hardened (see the module docstring) and return its raw stdout.

    ``env`` adds variables for this command only (e.g. ``GIT_INDEX_FILE``).

    Raises:
        GitError: non-zero exit; ``message`` is git's stderr unchanged, the
            context holds the command (never the token), exit code and ``context``.
    """
    scan = await asyncio.create_subprocess_exec(
        *_listing_command(args), cwd=cwd, env=git_env(None),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    options = _overrides((await scan.communicate())[0])
    process = await asyncio.create_subprocess_exec(
        "git", *options, *args, cwd=cwd, env={**git_env(token), **(env or {})},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise GitError(
            stderr.decode(errors="replace"),
            command=" ".join(("git", *args)),
            exit_code=process.returncode,
            **context,
        )
    return stdout


async def git(*args: str, cwd: Path | None = None, token: str | None = None,
              env: dict[str, str] | None = None, **context) -> str:
    """:func:`git_bytes` decoded as text (undecodable bytes replaced)."""
    return (await git_bytes(*args, cwd=cwd, token=token, env=env, **context)).decode(errors="replace")
