"""The engine against the real ``codex`` binary and the scripted model server."""
from __future__ import annotations

import asyncio
import json
import shlex
from dataclasses import dataclass, field

import pytest

from bot.codex.engine import Engine, parse_config_overrides
from bot.domain.pack import ScenarioPack, pack_schema
from bot.errors import CodexError, ConfigError
from tests.support.model_server import (
    Failure,
    HttpError,
    ScriptedModel,
    assistant_message,
    exec_call,
    output_schema,
    sample_pack,
    tool_outputs,
)

SECRETS = {
    "SCENARIOFORGE_WEBHOOK_SECRET": "whsec-value-1f3a",
    "GITHUB_TOKEN": "ghs_installation-token-value-77",
    "DEPLOY_PASSWORD": "hunter2-value-99",
}
#: Codex itself needs the model key to authenticate; the commands it runs must not see it.
MODEL_KEY = {"OPENAI_API_KEY": "sk-openai-key-value-42"}
APP_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEapp-key-body-value-3c9\n-----END RSA PRIVATE KEY-----\n"
DOTENV_SECRET = "whsec-dotenv-value-5e1"


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    (path / "docs").mkdir(parents=True)
    (path / "docs" / "prd.md").write_text("# PRD\nCustomers pay with a saved card.\n")
    return path


def sleep_then_answer(request):
    """A turn whose command outlives any test timeout."""
    return [exec_call("sleep 20")] if not tool_outputs(request) else [assistant_message("x")]


def cat_then_pack(request):
    """Step 1: make the agent read the PRD; step 2: answer with a pack."""
    if not tool_outputs(request):
        return [exec_call("cat docs/prd.md")]
    return [assistant_message(json.dumps(sample_pack()))]


async def test_turn_captures_real_commands_and_returns_the_pack(model_server, codex_settings, repo):
    model_server.script = cat_then_pack
    events = []
    async with Engine(codex_settings).thread(repo) as thread:
        result = await thread.turn("Write the pack.", output_schema=pack_schema(), on_event=events.append)

    [command] = result.commands
    assert "cat docs/prd.md" in command.command
    assert command.exit_code == 0
    assert "Customers pay with a saved card." in command.output
    assert command.cwd == str(repo)
    assert ScenarioPack.model_validate(result.parsed).scenario_ids() == ["SC-001", "SC-002"]
    assert result.thread_id == thread.id and result.turn_id
    assert result.usage.total_tokens == 240  # two model steps of 120 tokens each
    assert any(item["type"] == "commandExecution" for item in result.items)
    # the schema reached the model, strict, on every step of the turn
    assert all(output_schema(request) == pack_schema() for request in model_server.requests)
    assert model_server.requests[0]["text"]["format"]["strict"] is True
    assert [(e.phase, e.status) for e in events] == [
        ("codex", "running"), ("command", "running"), ("command", "passed"), ("codex", "complete")]
    assert events[-1].payload["turn_id"] == result.turn_id


@pytest.mark.parametrize(("step", "raw", "error_type"), [
    (Failure("Rate limit reached for scripted-model in org-42", "rate_limit_exceeded"),
     "Rate limit reached for scripted-model in org-42", "rateLimitExceeded"),
    (HttpError(400, "Invalid schema for response_format 'codex_output_schema'"),
     "Invalid schema for response_format 'codex_output_schema'", "other"),
])
async def test_model_error_is_passed_through_raw(model_server, codex_settings, repo, step, raw, error_type):
    model_server.script = lambda request: step
    events = []
    async with Engine(codex_settings).thread(repo) as thread:
        with pytest.raises(CodexError) as caught:
            await thread.turn("Write the pack.", on_event=events.append)
    assert raw in caught.value.message
    assert caught.value.error_type == error_type  # Codex's own codexErrorInfo
    assert caught.value.context["thread_id"] == thread.id
    assert caught.value.context["turn_id"]
    assert events[-1].status == "failed"


async def test_commands_see_no_secret_from_our_environment(model_server, codex_settings, repo, monkeypatch):
    for name, value in {**SECRETS, **MODEL_KEY}.items():
        monkeypatch.setenv(name, value)
    model_server.script = lambda request: (
        [exec_call("env; cat /proc/$PPID/environ | tr '\\0' '\\n'")] if not tool_outputs(request)
        else [assistant_message("done")]
    )
    engine = Engine(codex_settings)
    launch = engine.codex_config()
    assert not set(SECRETS) & set(launch.env)
    assert set(SECRETS) <= {arg.split("=", 1)[1] for arg in launch.launch_args_override if arg.startswith("--unset=")}
    assert not any(value in " ".join(launch.launch_args_override) for value in SECRETS.values())
    assert launch.env["OPENAI_API_KEY"] == MODEL_KEY["OPENAI_API_KEY"]
    async with engine.thread(repo) as thread:
        result = await thread.turn("List the environment.")

    seen = "\n".join(tool_outputs(model_server.requests[-1]))
    assert "PATH=" in seen  # the command really ran and its output reached the model
    assert "SCENARIOFORGE_" not in seen
    for value in [*SECRETS.values(), *MODEL_KEY.values()]:
        assert value not in seen
        assert value not in result.commands[0].output


async def test_timeout_interrupts_the_turn(model_server, codex_settings, repo):
    model_server.script = sleep_then_answer
    settings = codex_settings.model_copy(update={"turn_timeout_s": 1.5})
    async with Engine(settings).thread(repo) as thread:
        with pytest.raises(CodexError) as caught:
            await thread.turn("Wait.")
    assert caught.value.error_type == "TurnTimeout"
    assert caught.value.context["turn_id"]


def test_config_overrides_are_toml_values_one_per_line(codex_settings):
    assert parse_config_overrides('a.b = "x"\n\n# comment\nc=[1, 2]\n') == ['a.b="x"', "c=[1, 2]"]
    with pytest.raises(ConfigError):
        parse_config_overrides("a.b = not toml")
    overrides = Engine(codex_settings).config_overrides()
    assert 'shell_environment_policy.inherit="core"' in overrides
    assert "sandbox_workspace_write.network_access=false" in overrides
    assert overrides[-1] == "model_providers.scenarioforge.stream_max_retries=0"


def test_custom_provider_takes_its_key_from_openai_api_key(codex_settings, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert not any(".env_key=" in o for o in Engine(codex_settings).config_overrides())
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY["OPENAI_API_KEY"])
    overrides = Engine(codex_settings).config_overrides()
    assert 'model_providers.scenarioforge.env_key="OPENAI_API_KEY"' in overrides
    assert "model_providers.scenarioforge.requires_openai_auth=false" in overrides
    assert not any(".env_key=" in o for o in Engine(codex_settings, env_allow=["PATH"]).config_overrides())


@dataclass
class KeyCheckingModel(ScriptedModel):
    """The scripted model, also recording each request's ``Authorization`` header."""

    authorizations: list[str | None] = field(default_factory=list)

    async def _responses(self, request):
        self.authorizations.append(request.headers.get("Authorization"))
        return await super()._responses(request)


async def test_the_endpoint_receives_the_key(aiohttp_server, codex_settings, repo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", MODEL_KEY["OPENAI_API_KEY"])
    model = KeyCheckingModel(script=lambda request: [assistant_message("done")])
    server = await aiohttp_server(model.app())
    settings = codex_settings.model_copy(update={"codex_base_url": str(server.make_url("/v1"))})
    async with Engine(settings).thread(repo) as thread:
        await thread.turn("Hello.")
    assert model.authorizations == [f"Bearer {MODEL_KEY['OPENAI_API_KEY']}"]


async def test_escalation_is_never_approved_and_nothing_runs(model_server, codex_settings, repo):
    def script(request):
        if not tool_outputs(request):
            call = exec_call("echo pwned > escaped.txt")
            arguments = json.loads(call["arguments"])
            call["arguments"] = json.dumps({**arguments, "sandbox_permissions": "require_escalated",
                                            "justification": "write outside the sandbox"})
            return [call]
        return [assistant_message("done")]

    model_server.script = script
    async with Engine(codex_settings).thread(repo, sandbox="workspace-write") as thread:
        result = await thread.turn("Try to escalate.")
    assert result.commands == []
    assert not (repo / "escaped.txt").exists()
    assert "reject" in tool_outputs(model_server.requests[-1])[0]


async def test_workspace_write_edits_the_worktree_without_network(model_server, codex_settings, repo):
    probe = f"import urllib.request; urllib.request.urlopen('{model_server.base_url}/models', timeout=5)"
    model_server.script = lambda request: (
        [exec_call(f"echo fixed > docs/fix.txt && python3 -c \"{probe}\"")] if not tool_outputs(request)
        else [assistant_message("done")]
    )
    async with Engine(codex_settings).thread(repo, sandbox="workspace-write") as thread:
        result = await thread.turn("Edit and call the network.")
    assert (repo / "docs" / "fix.txt").read_text() == "fixed\n"
    [command] = result.commands
    assert command.exit_code != 0  # the loopback model server is unreachable from the sandbox
    assert "Operation not permitted" in command.output
    assert len(model_server.requests) == 2  # only Codex's own two model calls


async def test_interrupt_ends_the_running_turn(model_server, codex_settings, repo):
    model_server.script = sleep_then_answer
    async with Engine(codex_settings).thread(repo) as thread:

        async def cancel_when_command_starts(event):
            if event.phase == "command" and event.status == "running":
                await thread.interrupt()

        with pytest.raises(CodexError) as caught:
            await thread.turn("Wait.", on_event=cancel_when_command_starts)
    assert caught.value.error_type == "TurnInterrupted"


@pytest.fixture
def secret_files(tmp_path, monkeypatch, codex_settings):
    """The App key file and a ``.env`` in the bot's working directory, as setup mode writes them."""
    key = tmp_path / "keys" / "scenarioforge.private-key.pem"
    key.parent.mkdir()
    key.write_text(APP_KEY)
    bot_dir = tmp_path / "bot"
    bot_dir.mkdir()
    (bot_dir / ".env").write_text(f"SCENARIOFORGE_WEBHOOK_SECRET={DOTENV_SECRET}\n")
    monkeypatch.chdir(bot_dir)
    monkeypatch.setenv("SCENARIOFORGE_WEBHOOK_SECRET", DOTENV_SECRET)
    return codex_settings.model_copy(update={"private_key_path": key}), key, bot_dir / ".env"


@pytest.mark.parametrize("sandbox", ["read-only", "workspace-write"])
async def test_commands_cannot_read_the_app_key_or_env_file(model_server, secret_files, repo, sandbox):
    settings, key, dotenv = secret_files
    # Direct reads, then around the masks through any process's /proc entry
    # (the bot's own cwd holds the .env, its environ the secret).
    probe = (f"cat {shlex.quote(str(key))}; k=$?; cat {shlex.quote(str(dotenv))}; e=$?; "
             f"for p in /proc/[0-9]*; do cat $p/root{shlex.quote(str(key))} $p/cwd/.env; "
             "tr '\\0' '\\n' < $p/environ; done; echo key=$k env=$e")
    model_server.script = lambda request: (
        [exec_call(probe)] if not tool_outputs(request) else [assistant_message("done")]
    )
    engine = Engine(settings)
    assert engine.secret_files() == [key, dotenv]
    async with engine.thread(repo, sandbox=sandbox) as thread:
        result = await thread.turn("Read the secrets.")

    [command] = result.commands
    seen = "\n".join(tool_outputs(model_server.requests[-1]))
    for secret in ("app-key-body-value-3c9", "BEGIN RSA PRIVATE KEY", DOTENV_SECRET):
        assert secret not in seen
        assert secret not in command.output
    # the command really ran; both direct reads were refused
    assert "Permission denied" in seen and "key=1 env=1" in seen
    assert key.read_text() == APP_KEY  # masked for Codex only


async def test_nothing_in_the_namespace_reaches_the_files_around_the_masks(secret_files):
    """Beyond Codex's sandboxed commands: any process Codex starts cannot use the
    bot's ``/proc/<pid>/root``, ``cwd`` or ``environ`` to read around the masks."""
    settings, key, _ = secret_files
    script = (f"for p in /proc/[0-9]*; do cat $p/root{shlex.quote(str(key))} $p/cwd/.env; "
              "tr '\\0' '\\n' < $p/environ; done")
    engine = Engine(settings)
    proc = await asyncio.create_subprocess_exec(
        *engine.namespace_args(), "sh", "-c", script,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=engine.process_env(),
    )
    out = (await proc.communicate())[0].decode()
    assert "Permission denied" in out  # the masked files, seen through the namespace's own processes
    for secret in ("app-key-body-value-3c9", DOTENV_SECRET):
        assert secret not in out


async def test_no_codex_without_the_namespace(model_server, codex_settings, repo, tmp_path):
    fake = tmp_path / "bwrap"  # what bubblewrap prints where user namespaces are not allowed
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely because the kernel "
                    "does not allow non-privileged user namespaces.' >&2\nexit 1\n")
    fake.chmod(0o755)
    for bwrap, says in [(fake, "No permissions to create new namespace"),
                        (tmp_path / "missing" / "bwrap", "cannot run bubblewrap")]:
        with pytest.raises(CodexError) as caught:
            async with Engine(codex_settings, bwrap=bwrap).thread(repo):
                pass
        assert caught.value.error_type == "SandboxUnavailable"
        assert says in caught.value.message
    engine = Engine(codex_settings)
    engine.bwrap = None  # nothing bundled and nothing on PATH
    with pytest.raises(CodexError, match="bubblewrap .bwrap. not found"):
        engine.codex_config()
    assert model_server.requests == []  # Codex never started
