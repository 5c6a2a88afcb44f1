"""Drive ``codex app-server`` through the official ``openai-codex`` SDK.

One :class:`Engine` per process; ``engine.thread(cwd, sandbox=...)`` starts one
Codex process and one thread (one thread per run, seed 000 §4) and yields a
``bot.codex.turns.EngineThread``, whose turns stream real transitions and return
what really happened (see ``bot.codex.turns``). This module is the launch side:
configuration, environment, sandbox and the process.

Safety (DESIGN.md "Engine"): approvals are never granted (``approvalPolicy``
"never", and any approval request is declined), the sandbox has no network,
the workspace-write sandbox may write the worktree and the thread's own
temporary folder (``$TMPDIR``, under ``WORKDIR/tmp``) only (no ``/tmp``, no
other root: ``sandbox_workspace_write.*``), so the bot's state
(WORKDIR, mirrors, database, App key) is out of its reach wherever it lives,
the Codex process starts from an allow-listed environment, and
Codex's ``shell_environment_policy`` gives the commands it runs only the core
variables minus anything that looks like a secret
(https://developers.openai.com/codex/config-reference, ``shell_environment_policy``).
Codex's sandbox lets commands read the whole filesystem, so the process runs
in a bubblewrap mount and PID namespace where the App's private key and the
``.env`` file read by :class:`Settings` are unreadable and the bot's own
processes (their ``/proc/<pid>/root``, ``cwd`` and ``environ``) are invisible;
without that namespace no Codex process starts.
Errors keep Codex's own message and type (seed 000 §6) in
:class:`bot.errors.CodexError` with the thread and turn ids as context.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from codex_cli_bin import bundled_codex_path, bundled_package_dir, bundled_path_dir
from openai_codex import (
    ApprovalMode,
    AsyncCodex,
    CodexConfig,
    Sandbox,
)
from openai_codex import CodexError as SdkError

from bot.codex.turns import EngineThread
from bot.errors import CodexError, ConfigError
from config.settings import Settings

SandboxName = Literal["read-only", "workspace-write"]

#: Variables the Codex process itself may inherit; everything else (App key,
#: webhook secret, installation tokens, ``SCENARIOFORGE_*``) is dropped.
#: ``OPENAI_API_KEY``/``CODEX_API_KEY`` authenticate Codex to the model
#: provider; the shell policy below keeps them from the commands it runs.
DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ",
    "TMPDIR", "TEMP", "TMP", "SSL_CERT_FILE", "SSL_CERT_DIR", "OPENAI_API_KEY", "CODEX_API_KEY",
)

#: Patterns removed from the environment of every command Codex runs, on top
#: of ``inherit = "core"`` and Codex's default ``*KEY*``/``*SECRET*``/``*TOKEN*``.
SHELL_ENV_EXCLUDE: tuple[str, ...] = (
    "*KEY*", "*SECRET*", "*TOKEN*", "*PASSWORD*", "*CREDENTIAL*",
    "SCENARIOFORGE_*", "GITHUB_*", "GH_*", "GIT_CONFIG_*", "OPENAI_*", "CODEX_API*",
)

#: Skills shipped with the bot (``bot/codex/skills/<name>/SKILL.md``), installed into
#: ``$CODEX_HOME/skills`` where Codex discovers user skills
#: (https://developers.openai.com/codex/skills).
SKILLS_DIR = Path(__file__).parent / "skills"

PROVIDER = "scenarioforge"
#: The variable holding the custom provider's API key; named in its ``env_key``
#: when present (https://developers.openai.com/codex/config-reference,
#: ``model_providers.<id>.env_key``): Codex then sends it as a bearer token.
PROVIDER_KEY_ENV = "OPENAI_API_KEY"

_APPROVAL_DECLINES: dict[str, dict[str, Any]] = {
    # v2 requests (codex app-server generate-json-schema: ServerRequest.json)
    "item/commandExecution/requestApproval": {"decision": "decline"},
    "item/fileChange/requestApproval": {"decision": "decline"},
    "item/permissions/requestApproval": {"permissions": {}},
    "mcpServer/elicitation/request": {"action": "decline"},
    # v1 requests
    "execCommandApproval": {"decision": "denied"},
    "applyPatchApproval": {"decision": "denied"},
}


def parse_config_overrides(text: str) -> list[str]:
    """Turn ``CODEX_CONFIG`` (one ``key = value`` per line, value in TOML) into ``-c`` arguments.

    Blank lines and ``#`` comments are skipped.

    Raises:
        ConfigError: a line has no ``=`` or its value is not a TOML value.
    """
    overrides = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ConfigError(f"CODEX_CONFIG line is not key=value: {line!r}")
        try:
            tomllib.loads(f"v = {value}")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"CODEX_CONFIG value of {key} is not TOML: {exc}") from exc
        overrides.append(f"{key}={value}")
    return overrides


def find_bwrap() -> Path | None:
    """The bubblewrap binary ``openai-codex-cli-bin`` ships for Codex
    (``codex_cli_bin/codex-resources/bwrap``), else ``bwrap`` on ``PATH``, else ``None``."""
    bundled = bundled_package_dir() / "codex-resources" / "bwrap"
    if bundled.is_file():
        return bundled
    found = shutil.which("bwrap")
    return Path(found) if found else None


def _toml(value: Any) -> str:
    """A Python str/bool/list of str as a TOML value (JSON strings are valid TOML basic strings)."""
    return json.dumps(value)


class Engine:
    """Factory of Codex threads configured from :class:`Settings`.

    ``env_allow`` names the variables the Codex process may inherit from ours.
    Codex keeps its login (``codex login``) in ``CODEX_HOME`` (setting
    ``codex_home``, default ``<workdir>/codex-home``) or authenticates with
    ``OPENAI_API_KEY``; the shell policy keeps that key from the commands
    Codex runs. ``bwrap`` is the bubblewrap binary that builds the namespace
    hiding :meth:`secret_files` (default :func:`find_bwrap`).
    """

    def __init__(
        self, settings: Settings, *, env_allow: Iterable[str] = DEFAULT_ENV_ALLOW, bwrap: Path | None = None,
    ) -> None:
        self.settings = settings
        self.env_allow = tuple(env_allow)
        self.codex_home = (settings.codex_home or settings.workdir / "codex-home").resolve()
        self.bwrap = bwrap or find_bwrap()

    def config_overrides(self) -> list[str]:
        """Every ``-c key=value`` passed to ``codex``: model, provider, safety, then ``CODEX_CONFIG``.

        With ``codex_base_url``, the endpoint becomes the provider ``scenarioforge``,
        authenticated with ``OPENAI_API_KEY`` when that variable is set and allowed.
        """
        s = self.settings
        overrides = [f"model={_toml(s.codex_model)}"]
        if s.codex_effort:
            overrides.append(f"model_reasoning_effort={_toml(s.codex_effort)}")
        if s.codex_base_url:
            # A custom Responses-API endpoint as a model provider (CODEX-TESTING.md).
            base = f"model_providers.{PROVIDER}"
            overrides += [
                f"model_provider={_toml(PROVIDER)}",
                f"{base}.name={_toml(PROVIDER)}",
                f"{base}.base_url={_toml(s.codex_base_url)}",
                f"{base}.wire_api={_toml('responses')}",
                f"{base}.requires_openai_auth=false",
            ]
            if PROVIDER_KEY_ENV in self.env_allow and PROVIDER_KEY_ENV in os.environ:
                overrides.append(f"{base}.env_key={_toml(PROVIDER_KEY_ENV)}")
        overrides += [
            f"shell_environment_policy.inherit={_toml('core')}",
            "shell_environment_policy.ignore_default_excludes=false",
            f"shell_environment_policy.exclude={_toml(list(SHELL_ENV_EXCLUDE))}",
            "sandbox_workspace_write.network_access=false",
            # The worktree and the thread's own temporary folder ($TMPDIR, see thread()) are the only
            # writable roots: not /tmp, where a WORKDIR, database, mirror or key may live
            # (SCENARIOFORGE_CODEX_CONFIG may not change these, config.settings).
            "sandbox_workspace_write.writable_roots=[]",
            "sandbox_workspace_write.exclude_tmpdir_env_var=false",
            "sandbox_workspace_write.exclude_slash_tmp=true",
        ]
        return overrides + parse_config_overrides(s.codex_config)

    def process_env(self) -> dict[str, str]:
        """The whole environment of the Codex process: the allow-list plus ``CODEX_HOME``."""
        env = {name: os.environ[name] for name in self.env_allow if name in os.environ}
        path_dir = bundled_path_dir()
        if path_dir is not None:
            env["PATH"] = os.pathsep.join(filter(None, [str(path_dir), env.get("PATH", "")]))
        env["CODEX_HOME"] = str(self.codex_home)
        return env

    def secret_files(self) -> list[Path]:
        """The existing files Codex must not read, resolved: the App's private key
        (``private_key_path``) and the ``.env`` file(s) :class:`Settings` reads
        (its ``env_file``, relative to the working directory as pydantic-settings does)."""
        env_file = type(self.settings).model_config.get("env_file")
        env_files = [env_file] if isinstance(env_file, str | os.PathLike) else list(env_file or ())
        candidates = [self.settings.private_key_path, *map(Path, env_files)]
        resolved = (path.resolve() for path in candidates if path is not None)
        return list(dict.fromkeys(path for path in resolved if path.is_file()))

    def namespace_args(self) -> list[str]:
        """The ``bwrap … --`` prefix that runs a command in the namespace hiding :meth:`secret_files`.

        The whole filesystem is bound as is; each secret file is covered by
        ``/dev/null`` mounted ``nodev`` (opening it fails with "Permission
        denied"). A new PID namespace with its own ``/proc`` hides the bot's
        processes, whose ``/proc/<pid>/root``, ``cwd`` and ``environ`` would
        reach around the masks: Codex's sandbox already does this for the
        commands it runs, ours covers everything the Codex process starts.
        ``--die-with-parent`` stops Codex when the bot dies
        (https://github.com/containers/bubblewrap, bwrap(1)).

        Raises:
            CodexError: no bubblewrap binary was found (type ``SandboxUnavailable``).
        """
        if self.bwrap is None:
            raise CodexError(
                "bubblewrap (bwrap) not found: neither codex_cli_bin/codex-resources/bwrap nor bwrap on PATH; "
                "Codex is not started without the namespace that hides the App key and .env",
                error_type="SandboxUnavailable",
            )
        args = [str(self.bwrap), "--dev-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--die-with-parent"]
        for path in self.secret_files():
            args += ["--ro-bind", "/dev/null", str(path)]
        return [*args, "--"]

    async def check_namespace(self) -> None:
        """Run ``true`` in the :meth:`namespace_args` namespace; fail closed if bubblewrap cannot build it.

        Raises:
            CodexError: bubblewrap is missing, cannot run, or exits non-zero
                (its own message; type ``SandboxUnavailable``).
        """
        args = [*self.namespace_args(), "true"]
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, env=self.process_env(),
            )
        except OSError as exc:
            raise CodexError(f"cannot run bubblewrap {self.bwrap}: {exc}", error_type="SandboxUnavailable") from exc
        _, stderr = await proc.communicate()
        if proc.returncode != 0:
            raise CodexError(
                f"bubblewrap cannot create the mount and PID namespace that hides the App key and .env from "
                f"Codex (exit {proc.returncode}): {stderr.decode(errors='replace').strip()}\n"
                "It needs unprivileged user namespaces, as Codex's own sandbox does; Codex is not started.",
                error_type="SandboxUnavailable", bwrap=str(self.bwrap),
            )

    def codex_config(self, tmpdir: Path | None = None, cwd: Path | None = None) -> CodexConfig:
        """SDK launch configuration: ``env -u … bwrap … -- codex … app-server``.

        The SDK starts the child with a copy of ``os.environ`` plus
        ``CodexConfig.env``, so ``env -u NAME …`` removes every variable
        outside the allow-list (:meth:`process_env` becomes the whole
        environment; values travel in the environment, never on the command
        line), then :meth:`namespace_args` hides the secret files.

        ``tmpdir`` becomes ``TMPDIR``/``TMP``/``TEMP`` of the process and of the
        commands it runs (Codex's ``core`` environment), and so a writable root.
        ``cwd`` is the process's working directory: the thread's, so that the
        sandbox of a bare ``command/exec`` (``EngineThread.run_command``), whose
        writable root is the server's working directory, is the worktree and
        never the bot's own folder.

        Raises:
            CodexError: no bubblewrap binary was found.
        """
        env = self.process_env()
        if tmpdir is not None:
            env.update(TMPDIR=str(tmpdir), TMP=str(tmpdir), TEMP=str(tmpdir))
        args = ["env", *(f"--unset={name}" for name in sorted(os.environ.keys() - env.keys()))]
        args += self.namespace_args()
        args.append(str(bundled_codex_path()))
        for override in self.config_overrides():
            args += ["--config", override]
        args += ["app-server", "--listen", "stdio://"]
        return CodexConfig(launch_args_override=tuple(args), env=env, client_name="scenarioforge",
                           cwd=str(cwd) if cwd is not None else None)

    def install_skills(self) -> None:
        """Copy the bundled skills into ``$CODEX_HOME/skills`` (replacing older copies)."""
        target = self.codex_home / "skills"
        for skill in SKILLS_DIR.iterdir():
            if (skill / "SKILL.md").is_file():
                shutil.copytree(skill, target / skill.name, dirs_exist_ok=True)

    @asynccontextmanager
    async def thread(self, cwd: Path, *, sandbox: SandboxName = "read-only") -> AsyncIterator[EngineThread]:
        """Start a Codex process and one thread rooted at ``cwd``; stop the process on exit.

        Raises:
            CodexError: the namespace hiding the secret files cannot be built
                (type ``SandboxUnavailable``), or the process could not start or
                refused the thread (raw message).
        """
        self.codex_home.mkdir(parents=True, exist_ok=True)
        self.install_skills()
        await self.check_namespace()
        # A private temporary folder per thread: tests that write temporary files work, while /tmp and
        # the other threads' folders stay read-only to the agent. Removed when the thread ends.
        scratch = self.settings.workdir.resolve() / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        tmpdir = Path(tempfile.mkdtemp(prefix="thread-", dir=scratch))
        codex = AsyncCodex(self.codex_config(tmpdir, cwd))
        # The SDK's default handler accepts approvals; ours declines every one.
        codex._client._sync._approval_handler = _decline
        try:
            options: dict[str, Any] = {"cwd": str(cwd), "sandbox": Sandbox(sandbox),
                                       "approval_mode": ApprovalMode.deny_all, "model": self.settings.codex_model}
            try:
                thread = await codex.thread_start(ephemeral=False, **options)
            except SdkError as exc:
                raise CodexError(str(exc), error_type=type(exc).__name__) from exc

            async def resume(thread_id: str) -> Any:
                return await codex.thread_resume(thread_id, **options)

            yield EngineThread(thread, self.codex_home, self.settings.turn_timeout_s, resume=resume)
        finally:
            await _close(codex)
            shutil.rmtree(tmpdir, ignore_errors=True)


async def _close(codex: AsyncCodex) -> None:
    """Stop the Codex process and close its pipes.

    The SDK's ``close()`` terminates the process but leaves stdout/stderr
    open until garbage collection (a ``ResourceWarning``); we close them.
    """
    proc = codex._client._sync._proc
    await codex.close()
    if proc is not None:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _decline(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    return _APPROVAL_DECLINES.get(method, {})
