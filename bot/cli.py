"""The ``scenarioforge`` command line: serve, worker, runs, db, replay, scan, generate, execute, report.

Each subcommand lives in the module that owns its concept; this module only
parses arguments and hands over.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scenarioforge",
        description="ScenarioForge GitHub App: turns planning documents into end-to-end scenarios "
        "and runs them with OpenAI Codex. Settings come from SCENARIOFORGE_* environment "
        "variables and ./.env (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the webhook server and the in-process workers")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (default: %(default)s)")

    sub.add_parser("worker", help="run workflows (SCENARIOFORGE_WORKERS at once) with no HTTP server")

    runs = sub.add_parser("runs", help="list, show, cancel or resume runs and their workflows (operators)")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="RUNS_COMMAND")
    listing = runs_sub.add_parser("list", help="the newest runs, with their workflow's status and executor")
    listing.add_argument("--state", choices=("queued", "running", "blocked", "passed", "failed", "cancelled"),
                         help="only runs in this state")
    listing.add_argument("--limit", type=int, default=20, help="how many runs (default: %(default)s)")
    for name, text in (("show", "a run, its events and its workflow's finished steps"),
                       ("cancel", "cancel a queued or running run (its tracking comment says so)"),
                       ("resume", "put a run whose workflow stopped back on the queue, after its last finished step")):
        runs_sub.add_parser(name, help=text).add_argument("run_id", type=int, metavar="RUN_ID",
                                                           help="the run's number (as in its tracking comment)")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_sub.add_parser("upgrade", help="apply all pending migrations")

    replay = sub.add_parser("replay", help="sign a webhook payload with the configured secret and POST it")
    replay.add_argument("payload", type=Path, help="JSON file with the webhook payload")
    replay.add_argument("--event", required=True, help="the X-GitHub-Event name, e.g. issue_comment")
    replay.add_argument(
        "--url", default="http://127.0.0.1:3000/webhook", help="where to POST (default: %(default)s)"
    )

    scan = sub.add_parser("scan", help="print the source manifest of a local checkout")
    scan.add_argument("path", type=Path, nargs="?", help="a git checkout (or give it as --repo, as generate does)")
    scan.add_argument("--repo", type=Path, help="the same as PATH")
    scan.add_argument("--ref", default="HEAD", help="commit to scan (default: %(default)s)")
    scan.add_argument("--json", action="store_true", help="print JSON instead of a table")

    generate = sub.add_parser("generate", help="generate a scenario pack for a local checkout (no GitHub)")
    generate.add_argument("--repo", type=Path, required=True, help="a git checkout")
    generate.add_argument("--instruction", default="", help="extra instruction for Codex")
    generate.add_argument("--out", type=Path, default=Path("scenarios"), help="output folder (default: %(default)s)")
    generate.add_argument("--yes", action="store_true", help="confirm stale or suspect sources without asking")

    execute = sub.add_parser("execute", help="run a scenario pack on a local checkout (no GitHub)")
    execute.add_argument("--repo", type=Path, required=True, help="a git checkout")
    execute.add_argument("--pack", type=Path, required=True, help="scenario-pack.json")
    execute.add_argument("--mode", choices=("run", "fix"), default="run", help="default: %(default)s")

    report = sub.add_parser("report", help="export the report of a run from the database")
    report.add_argument("run_id", type=int, metavar="RUN_ID", help="the run's number (as on the board)")
    report.add_argument("--format", choices=("md", "html", "json"), default="md", help="default: %(default)s")
    report.add_argument("--out", type=Path, help="file to write (default: standard output)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scenarioforge`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        from bot.ingress.server import serve

        return serve(args.host, args.port)
    if args.command == "worker":
        from bot.ingress.worker import worker

        return worker()
    if args.command == "runs":
        from bot.ingress.operator import runs_command
        from bot.ingress.server import load_settings

        settings = load_settings()
        return 2 if settings is None else runs_command(
            settings, args.runs_command, getattr(args, "run_id", None),
            state=getattr(args, "state", None), limit=getattr(args, "limit", 20))
    if args.command == "db":
        from bot.ingress.server import db_upgrade

        return db_upgrade()
    if args.command == "replay":
        from bot.ingress.replay import replay

        return replay(args.payload, args.event, args.url)
    if args.command == "scan":
        from bot.sources.scan import scan_command

        if (args.path is None) == (args.repo is None):
            parser.error("scan: give the checkout once, as PATH or as --repo PATH")
        return scan_command(args.path or args.repo, args.ref, as_json=args.json)
    if args.command == "report":
        from bot.board.export import report_command
        from bot.ingress.server import load_settings

        settings = load_settings()
        return 2 if settings is None else report_command(settings, args.run_id, args.format, args.out)
    if args.command == "generate":
        from bot.scenarios.generation import generate_command

        return generate_command(args.repo, args.instruction, args.out, assume_yes=args.yes)
    from bot.execution.local import execute_command

    return execute_command(args.repo, args.pack, args.mode)


if __name__ == "__main__":
    sys.exit(main())
