"""A Codex thread's turns and what they produce (the engine's output side).

:class:`EngineThread` runs one turn after another in the same thread
(``bot.codex.engine.Engine.thread`` starts it), streams each real transition to
``on_event`` as an :class:`EngineEvent` (seed 000 §5, "no fake progress") and
returns a :class:`TurnResult`: every ``commandExecution`` item as a
:class:`CommandRun`, the final message (parsed when the turn had an
``outputSchema``) and the turn's :class:`TokenUsage`. Errors keep Codex's own
message and type (seed 000 §6) in :class:`bot.errors.CodexError`.
"""
from __future__ import annotations

import asyncio
import logging
import contextlib
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openai_codex import AsyncThread, AsyncTurnHandle, SkillInput, TextInput
from openai_codex import CodexError as SdkError
from openai_codex.generated.v2_all import (
    AgentMessageThreadItem,
    CommandExecResponse,
    CommandExecutionThreadItem,
    ItemCompletedNotification,
    ItemStartedNotification,
    ThreadTokenUsageUpdatedNotification,
    TokenUsageBreakdown,
    TurnCompletedNotification,
    TurnError,
    TurnStatus,
)

from bot.errors import CodexError

INTERRUPT_TIMEOUT_S = 10.0

log = logging.getLogger(__name__)


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


def _unwrap(item: Any) -> Any:
    """Thread items arrive as a pydantic root model around the concrete item."""
    return getattr(item, "root", item)


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

    def __init__(self, thread: AsyncThread, codex_home: Path, timeout_s: float, *,
                 resume: Callable[[str], Awaitable[AsyncThread]] | None = None) -> None:
        self._thread = thread
        self._codex_home = codex_home
        self._timeout_s = timeout_s
        self._usage_total = TokenUsage()
        self._handle: AsyncTurnHandle | None = None
        self._resume = resume

    @property
    def id(self) -> str:
        return self._thread.id

    @property
    def usage(self) -> TokenUsage:
        """The thread's token total so far, as Codex reports it (what :meth:`adopt` takes as ``used``)."""
        return self._usage_total

    async def run_command(self, command: str, *, cwd: Path, timeout_s: float, output_cap: int) -> CommandRun:
        """Run ``command`` itself (no model, no turn) in the thread's sandbox: ``bash -o pipefail -c``,
        workspace-write with ``cwd`` the only writable root besides the thread's ``$TMPDIR``, network off,
        killed after ``timeout_s`` seconds (exit 124), each of stdout and stderr capped at ``output_cap`` bytes;
        the model's keys are unset (app-server ``command/exec``). ``output`` is stderr, then stdout (where
        test runners print their verdict, so it ends the text); ``item_id`` is ``"bot"``, ``status`` ``completed``.

        Raises:
            CodexError: the app-server refused the request (its message and type).
        """
        params = {
            "command": ["bash", "-o", "pipefail", "-c", command], "cwd": str(cwd),
            "timeoutMs": int(timeout_s * 1000), "outputBytesCap": output_cap,
            "env": {"OPENAI_API_KEY": None, "CODEX_API_KEY": None},
            "sandboxPolicy": {"type": "workspaceWrite", "writableRoots": [str(cwd)], "networkAccess": False,
                              "excludeSlashTmp": True},
        }
        started = asyncio.get_running_loop().time()
        try:
            response = await self._thread._codex._client.request(  # the SDK has no wrapper for command/exec
                "command/exec", params, response_model=CommandExecResponse)
        except SdkError as exc:
            raise CodexError(str(exc), error_type=type(exc).__name__, thread_id=self.id) from exc
        output = "\n".join(part for part in (response.stderr, response.stdout) if part)  # the verdict last
        elapsed = int((asyncio.get_running_loop().time() - started) * 1000)
        return CommandRun(item_id="bot", command=command, cwd=str(cwd), exit_code=response.exit_code,
                          output=output, duration_ms=elapsed, status="completed")

    async def adopt(self, thread_id: str, used: TokenUsage) -> bool:
        """Continue thread ``thread_id`` (an earlier process's, ``thread/resume``) instead of this
        one, whose turns so far used ``used`` tokens (Codex reports a thread's running total); False
        when Codex cannot (its rollout lives in another ``CODEX_HOME``): this thread stays."""
        if thread_id == self.id:
            return True
        if self._resume is None:
            return False
        try:
            self._thread = await self._resume(thread_id)
        except SdkError as exc:
            log.warning("Codex could not resume thread %s (a new thread takes over): %s", thread_id, exc)
            return False
        self._usage_total = used
        return True

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
