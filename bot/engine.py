"""Drive ``codex app-server`` through the official ``openai-codex`` SDK.

One :class:`Engine` per process; ``engine.thread(cwd, sandbox=...)`` starts one
Codex process and one thread (one thread per run, seed 000 §4); each
``thread.turn(...)`` runs a turn, streams real transitions to ``on_event``
(seed 000 §5, "no fake progress") and returns a :class:`TurnResult` holding
what really happened: every ``commandExecution`` item, the final message, the
token usage of that turn.

Safety (DESIGN.md "Engine"): approvals are never granted (``approvalPolicy``
"never", and any approval request is declined), the sandbox has no network,
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
import contextlib
import inspect
import json
import os
import shutil
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codex_cli_bin import bundled_codex_path, bundled_package_dir, bundled_path_dir
from openai_codex import (
    ApprovalMode,
    AsyncCodex,
    AsyncThread,
    AsyncTurnHandle,
    CodexConfig,
    Sandbox,
    SkillInput,
    TextInput,
)
from openai_codex import CodexError as SdkError
from openai_codex.generated.v2_all import (
    AgentMessageThreadItem,
    CommandExecutionThreadItem,
    ItemCompletedNotification,
    ItemStartedNotification,
    ThreadTokenUsageUpdatedNotification,
    TokenUsageBreakdown,
    TurnCompletedNotification,
    TurnError,
    TurnStatus,
)

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

#: Skills shipped with the bot (``bot/skills/<name>/SKILL.md``), installed into
#: ``$CODEX_HOME/skills`` where Codex discovers user skills
#: (https://developers.openai.com/codex/skills).
SKILLS_DIR = Path(__file__).parent / "skills"

PROVIDER = "scenarioforge"
#: The variable holding the custom provider's API key; named in its ``env_key``
#: when present (https://developers.openai.com/codex/config-reference,
#: ``model_providers.<id>.env_key``): Codex then sends it as a bearer token.
PROVIDER_KEY_ENV = "OPENAI_API_KEY"
INTERRUPT_TIMEOUT_S = 10.0

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


@dataclass(frozen=True)
class EngineEvent:
    """One real transition, shaped after the seed's event envelope (000 §5).

    ``status`` is one of ``running | passed | failed | complete``; the caller
    adds ``eventId``, ``action`` and ``timestamp`` when it persists the event.
    """

    phase: str
    status: str
    message: str
    payload: dict[str, Any] = field(default_factory=dict)


OnEvent = Callable[[EngineEvent], Awaitable[None] | None]


@dataclass(frozen=True)
class CommandRun:
    """A command the agent really ran (a ``commandExecution`` item); ``duration_ms`` in ms."""

    item_id: str
    command: str
    cwd: str
    exit_code: int | None
    output: str
    duration_ms: int | None
    status: str


@dataclass(frozen=True)
class TokenUsage:
    """Token counts of one turn (difference of the thread totals before and after)."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def of(cls, breakdown: TokenUsageBreakdown) -> TokenUsage:
        return cls(
            breakdown.input_tokens, breakdown.cached_input_tokens, breakdown.output_tokens,
            breakdown.reasoning_output_tokens, breakdown.total_tokens,
        )

    def __sub__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(*(a - b for a, b in zip(self.astuple(), other.astuple())))

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple[int, ...]:
        return (self.input_tokens, self.cached_input_tokens, self.output_tokens,
                self.reasoning_output_tokens, self.total_tokens)


@dataclass(frozen=True)
class TurnResult:
    """What a completed turn produced.

    ``text`` is the final agent message; ``parsed`` its JSON when the turn had
    an ``output_schema``; ``items`` every completed thread item as JSON (camelCase,
    as on the wire); ``commands`` the ``commandExecution`` items in order;
    ``duration_s`` is wall-clock seconds measured by the bot.
    """

    thread_id: str
    turn_id: str
    text: str
    parsed: Any
    items: list[dict[str, Any]]
    commands: list[CommandRun]
    usage: TokenUsage
    duration_s: float


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

    def codex_config(self) -> CodexConfig:
        """SDK launch configuration: ``env -u … bwrap … -- codex … app-server``.

        The SDK starts the child with a copy of ``os.environ`` plus
        ``CodexConfig.env``, so ``env -u NAME …`` removes every variable
        outside the allow-list (:meth:`process_env` becomes the whole
        environment; values travel in the environment, never on the command
        line), then :meth:`namespace_args` hides the secret files.

        Raises:
            CodexError: no bubblewrap binary was found.
        """
        env = self.process_env()
        args = ["env", *(f"--unset={name}" for name in sorted(os.environ.keys() - env.keys()))]
        args += self.namespace_args()
        args.append(str(bundled_codex_path()))
        for override in self.config_overrides():
            args += ["--config", override]
        args += ["app-server", "--listen", "stdio://"]
        return CodexConfig(launch_args_override=tuple(args), env=env, client_name="scenarioforge")

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
        codex = AsyncCodex(self.codex_config())
        # The SDK's default handler accepts approvals; ours declines every one.
        codex._client._sync._approval_handler = _decline
        try:
            try:
                thread = await codex.thread_start(
                    cwd=str(cwd),
                    sandbox=Sandbox(sandbox),
                    approval_mode=ApprovalMode.deny_all,
                    model=self.settings.codex_model,
                    ephemeral=False,
                )
            except SdkError as exc:
                raise CodexError(str(exc), error_type=type(exc).__name__) from exc
            yield EngineThread(thread, self.codex_home, self.settings.turn_timeout_s)
        finally:
            await _close(codex)


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


def _unwrap(item: Any) -> Any:
    """Thread items arrive as a pydantic root model around the concrete item."""
    return getattr(item, "root", item)


def _decline(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    return _APPROVAL_DECLINES.get(method, {})


async def emit(on_event: OnEvent | None, event: EngineEvent) -> None:
    """Deliver ``event`` to a sync or async callback (``None`` = nobody listens)."""
    if on_event is None:
        return
    result = on_event(event)
    if inspect.isawaitable(result):
        await result


def _command_run(item: CommandExecutionThreadItem) -> CommandRun:
    return CommandRun(
        item_id=item.id, command=item.command, cwd=str(_unwrap(item.cwd)), exit_code=item.exit_code,
        output=item.aggregated_output or "", duration_ms=item.duration_ms,
        status=getattr(item.status, "value", str(item.status)),
    )


def _error_type(error: TurnError | None) -> str:
    info = error.codex_error_info if error is not None else None
    if info is None:
        return "TurnFailed"
    root = getattr(info, "root", info)
    value = getattr(root, "value", None)
    if isinstance(value, str):
        return value
    dumped = root.model_dump(by_alias=True, mode="json") if hasattr(root, "model_dump") else root
    return next(iter(dumped)) if isinstance(dumped, dict) and dumped else str(dumped)


class EngineThread:
    """One Codex thread; turns run one after another in the same conversation."""

    def __init__(self, thread: AsyncThread, codex_home: Path, timeout_s: float) -> None:
        self._thread = thread
        self._codex_home = codex_home
        self._timeout_s = timeout_s
        self._usage_total = TokenUsage()
        self._handle: AsyncTurnHandle | None = None

    @property
    def id(self) -> str:
        return self._thread.id

    async def interrupt(self) -> None:
        """Interrupt the running turn, if any (``/scenarioforge cancel``); that turn
        then raises :class:`CodexError` of type ``TurnInterrupted``."""
        if self._handle is not None:
            await self._handle.interrupt()

    async def turn(
        self,
        text: str,
        *,
        output_schema: dict[str, Any] | None = None,
        skills: Sequence[str] = (),
        on_event: OnEvent | None = None,
    ) -> TurnResult:
        """Run one turn with ``text`` (and the named installed ``skills`` attached).

        Returns the :class:`TurnResult`; with ``output_schema`` the final
        message is parsed as JSON into ``parsed``.

        Raises:
            CodexError: the turn failed (Codex's message and error type), was
                interrupted, exceeded ``turn_timeout_s`` (type ``TurnTimeout``,
                the turn is interrupted first), or returned non-JSON when a
                schema was requested (type ``InvalidOutput``).
        """
        inputs: list[Any] = [TextInput(text)]
        inputs += [SkillInput(name, str(self._codex_home / "skills" / name / "SKILL.md")) for name in skills]
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            handle = await self._thread.turn(inputs, output_schema=output_schema)
        except SdkError as exc:
            raise CodexError(str(exc), error_type=type(exc).__name__, thread_id=self.id) from exc
        self._handle = handle
        context = {"thread_id": self.id, "turn_id": handle.id}
        await emit(on_event, EngineEvent("codex", "running", "Codex turn started", dict(context)))

        items: list[Any] = []
        usage = self._usage_total
        completed: TurnCompletedNotification | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                async for note in handle.stream():
                    payload = note.payload
                    if isinstance(payload, ItemStartedNotification):
                        item = _unwrap(payload.item)
                        if isinstance(item, CommandExecutionThreadItem):
                            await emit(on_event, EngineEvent(
                                "command", "running", item.command,
                                {**context, "item_id": item.id, "command": item.command, "cwd": str(_unwrap(item.cwd))},
                            ))
                    elif isinstance(payload, ItemCompletedNotification):
                        item = _unwrap(payload.item)
                        items.append(item)
                        if isinstance(item, CommandExecutionThreadItem):
                            run = _command_run(item)
                            await emit(on_event, EngineEvent(
                                "command", "passed" if run.exit_code == 0 else "failed", run.command,
                                {**context, "item_id": run.item_id, "exit_code": run.exit_code,
                                 "duration_ms": run.duration_ms},
                            ))
                    elif isinstance(payload, ThreadTokenUsageUpdatedNotification):
                        usage = TokenUsage.of(payload.token_usage.total)
                    elif isinstance(payload, TurnCompletedNotification):
                        completed = payload
        except TimeoutError:
            # Best effort: leaving the thread's context stops the process anyway.
            with contextlib.suppress(TimeoutError, SdkError):
                await asyncio.wait_for(handle.interrupt(), INTERRUPT_TIMEOUT_S)
            raise CodexError(
                f"turn did not complete within {self._timeout_s:g} s and was interrupted",
                error_type="TurnTimeout", **context,
            ) from None
        except SdkError as exc:
            raise CodexError(str(exc), error_type=type(exc).__name__, **context) from exc
        finally:
            self._handle = None

        turn_usage = usage - self._usage_total
        self._usage_total = usage
        if completed is None:
            raise CodexError("turn stream ended without turn/completed", error_type="TurnIncomplete", **context)
        turn = completed.turn
        if turn.status != TurnStatus.completed:
            error = turn.error
            message = error.message if error is not None else f"turn {turn.status.value}"
            if error is not None and error.additional_details:
                message = f"{message}\n{error.additional_details}"
            await emit(on_event, EngineEvent("codex", "failed", message, dict(context)))
            error_type = "TurnInterrupted" if turn.status == TurnStatus.interrupted else _error_type(error)
            raise CodexError(message, error_type=error_type, **context)

        final = [item.text for item in items if isinstance(item, AgentMessageThreadItem)]
        text_out = final[-1] if final else ""
        parsed = None
        if output_schema is not None:
            try:
                parsed = json.loads(text_out)
            except json.JSONDecodeError as exc:
                raise CodexError(
                    f"final message is not JSON ({exc}): {text_out[:2000]}", error_type="InvalidOutput", **context
                ) from exc
        result = TurnResult(
            thread_id=self.id,
            turn_id=handle.id,
            text=text_out,
            parsed=parsed,
            items=[item.model_dump(by_alias=True, mode="json", exclude_none=True) for item in items],
            commands=[_command_run(item) for item in items if isinstance(item, CommandExecutionThreadItem)],
            usage=turn_usage,
            duration_s=loop.time() - started,
        )
        await emit(on_event, EngineEvent(
            "codex", "complete", "Codex turn completed",
            {**context, "commands": len(result.commands), "total_tokens": turn_usage.total_tokens},
        ))
        return result
