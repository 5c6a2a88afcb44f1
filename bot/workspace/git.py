"""Run one git command for the bot: a scrubbed environment, the token only as an extra header.

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
from pathlib import Path

from bot.errors import GitError

#: Variables passed through to git from the process environment (proxies and
#: CA bundles that a deployment may need); everything else is dropped.
PASSTHROUGH_ENV = (
    "PATH", "HOME", "LANG", "http_proxy", "https_proxy", "no_proxy",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO",
)


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


async def git(*args: str, cwd: Path | None = None, token: str | None = None, **context) -> str:
    """Run ``git *args`` and return its stdout.

    Raises:
        GitError: non-zero exit; ``message`` is git's stderr unchanged, the
            context holds the command (never the token), exit code and ``context``.
    """
    process = await asyncio.create_subprocess_exec(
        "git", *args, cwd=cwd, env=git_env(token),
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
    return stdout.decode(errors="replace")
