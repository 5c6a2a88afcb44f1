"""Issue 14: a ``block`` rule of the policy stops an execute run with the finding."""
from __future__ import annotations

from tests.execution.test_execute_e2e import report, result, store_pack, world_repo, world_settings  # noqa: F401
from tests.execution.test_policy_e2e import org_policy
from tests.support.model_server import exec_call, tool_outputs
from tests.support.target_repo import TOTAL_TEST


async def test_a_block_rule_stops_the_run_with_the_finding(world, model_server):
    await store_pack(world)
    org_policy(world, "policy:\n  pack: strict@1\n")  # strict blocks a pass on shared commands
    model_server.script = lambda request: [exec_call(TOTAL_TEST)] if not tool_outputs(request) else report(
        result("SC-001", "passed", TOTAL_TEST, "45.0"), result("SC-002", "passed", TOTAL_TEST, "55.0"))
    await world.comment("/scenarioforge execute")
    await world.settle()

    [run] = await world.runs()
    assert (run.state, run.error["type"], run.policy_key) == ("failed", "PolicyBlocked", "strict@1")
    assert run.error["message"].startswith("stopped by policy `strict@1` at execute: "
                                           "[execute.passed-without-specific-command] SC-001 passed on commands")
    check = world.github.check_runs[run.check_run_id]
    assert check["conclusion"] == "failure" and "stopped by policy" in check["output"]["summary"]
    assert "❌ **findings:execute**" in await world.tracking(run.id)
