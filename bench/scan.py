"""Benchmark the source scan against the git floor (issue 3, "Benchmark").

    python bench/scan.py PATH [--ref REF] [--repeat 3]
    python bench/scan.py --synthesize DIR [--files 2000] [--commits 15000]

The floor is what any scan must at least do: ``git ls-files`` plus one
``git log --name-only`` pass over the whole history. Both are timed in the
same run as ``bot.sources.scan.scan``; the script prints both, their ratio, the
number of files and commits. Targets: ratio ≤ 3 and under 2 s for ~2,000
files / ~15,000 commits. ``--synthesize`` builds such a repository quickly
with ``git fast-import`` (https://git-scm.com/docs/git-fast-import).
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.sources.scan import scan


def floor(repo: Path, ref: str) -> tuple[float, int, int]:
    """Seconds for ``git ls-files`` + one ``git log --name-only`` pass; also files and commits counted."""
    start = time.perf_counter()
    files = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, check=True).stdout
    log = subprocess.run(["git", "-C", str(repo), "log", ref, "--format=%x01%ct", "--name-only"],
                         capture_output=True, check=True).stdout
    elapsed = time.perf_counter() - start
    return elapsed, files.count(b"\0"), log.count(b"\x01")


def bench(repo: Path, ref: str, repeat: int) -> int:
    """Time floor and scan ``repeat`` times each, interleaved; report the best of each (least disturbed)."""
    floors, scans = [], []
    for _ in range(repeat):
        floor_s, files, commits = floor(repo, ref)
        floors.append(floor_s)
        start = time.perf_counter()
        result = scan(repo, ref)
        scans.append(time.perf_counter() - start)
    floor_s, scan_s = min(floors), min(scans)
    print(f"repository: {repo}")
    print(f"files: {files}  commits: {commits}  sources: {len(result.sources)}  "
          f"code files: {sum(result.inventory.languages.values())}  routes: {len(result.inventory.routes)}")
    print(f"floor (git ls-files + git log --name-only): {floor_s:.3f} s (best of {repeat})")
    print(f"scan: {scan_s:.3f} s (best of {repeat})")
    print(f"ratio: {scan_s / floor_s:.2f}")
    return 0


def _python(i: int, rev: int) -> str:
    """A service module of about 4 KB: imports, constants, a dataclass, a class with methods, routes, helpers."""
    methods = "".join(
        f'''
    def {verb}_{i}_{n}(self, item_id: int, *, limit: int = LIMIT_{i}) -> dict[str, object]:
        """{verb.title()} an item of kind {i} (revision {rev}); raise KeyError when it is unknown."""
        record = self._cache.get(item_id)
        if record is None:
            record = self._store.load(item_id)  # the store answers in milliseconds
            self._cache[item_id] = record
        logger.debug("{verb} %s with limit %d", item_id, limit)
        return {{"id": item_id, "kind": {i}, "limit": limit, "record": record}}
'''
        for n, verb in enumerate(("load", "refresh", "archive", "restore", "validate", "export"))
    )
    return f'''"""Items of kind {i}: storage, service and HTTP routes (revision {rev})."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiohttp import web

from app.store import Store

logger = logging.getLogger(__name__)
LIMIT_{i} = {rev % 100 + 10}
TIMEOUT_S = 30


@dataclass
class Item{i}:
    """One item of kind {i}."""

    item_id: int
    name: str = ""
    tags: list[str] = field(default_factory=list)
    revision: int = {rev}


class Service{i}:
    """Reads and writes items of kind {i} through a small cache."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[int, object] = {{}}
{methods}

routes = web.RouteTableDef()


@routes.get("/api/items{i}/{{item_id}}")
async def get_item_{i}(request: web.Request) -> web.Response:
    service: Service{i} = request.app["service{i}"]
    return web.json_response(service.load_{i}_0(int(request.match_info["item_id"])))


@routes.post("/api/items{i}")
async def create_item_{i}(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response({{"created": body.get("name", "")}}, status=201)


def setup_{i}(app: web.Application) -> None:
    app.router.add_get("/api/items{i}/health", get_item_{i})
    app.add_routes(routes)
'''


def _javascript(i: int, rev: int) -> str:
    """An Express router of about 3 KB: imports, a class, handlers, routes, comments."""
    handlers = "".join(
        f"""
/**
 * {verb} an order of shop {i} (revision {rev}).
 * Answers 404 when the order is unknown.
 */
export async function {verb}Order{i}(req, res) {{
  const order = await store.find(req.params.id);
  if (!order) {{
    return res.status(404).json({{ error: 'not found' }});
  }}
  logger.info(`{verb} order ${{order.id}} of shop {i}`);
  return res.json({{ ...order, shop: {i}, revision: {rev} }});
}}
"""
        for verb in ("get", "update", "cancel", "refund", "ship")
    )
    return f"""// Orders of shop {i}: HTTP routes and the service behind them.
import express from 'express';
import axios from 'axios';
import {{ store }} from '../store.js';
import {{ logger }} from '../logger.js';

export const PAGE_SIZE_{i} = {rev % 50 + 10};

export class OrderService{i} {{
  constructor(client) {{
    this.client = client;
  }}

  async refresh(id) {{
    // the upstream answers with the full order
    const {{ data }} = await axios.get(`/upstream/orders/${{id}}`);
    return data;
  }}
}}
{handlers}
export const router{i} = express.Router();
router{i}.get('/api/shops/{i}/orders/:id', getOrder{i});
router{i}.put('/api/shops/{i}/orders/:id', updateOrder{i});
router{i}.post('/api/shops/{i}/orders/:id/cancel', cancelOrder{i});
router{i}.route('/api/shops/{i}/orders/:id/refund').post(refundOrder{i});
"""


def _doc(i: int, rev: int) -> str:
    return (f"# Spec {i}\n\nRevision {rev}. `GET /api/items{i}/{{id}}` returns 200, served by `get_item_{i}` in "
            f"[the module](../pkg/mod{i}.py). Also see `pkg/gone{i}.py`.\n\n- [ ] task {i}\n")


def _kind(i: int) -> tuple[str, Callable[[int, int], str]]:
    """Path and renderer of file ``i``: 10 % specs, 30 % JavaScript, 60 % Python."""
    if i % 10 == 0:
        return f"docs/spec{i}.md", _doc
    if i % 10 in (1, 4, 7):
        return f"web/orders{i}.js", _javascript
    return f"pkg/mod{i}.py", _python


def synthesize(target: Path, n_files: int, n_commits: int, seed: int = 3) -> None:
    """A repository of ``n_files`` files (10 % docs, code files of 3–4 KB) and ``n_commits`` commits touching
    1–3 files each."""
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True)
    paths = [_kind(i) for i in range(n_files)]
    when = 1_600_000_000
    chunks: list[bytes] = []

    def blob(path: str, text: str) -> None:
        data = text.encode()
        chunks.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")

    for number in range(1, n_commits + 1):
        when += 600
        chunks.append(f"commit refs/heads/main\nmark :{number}\ncommitter Bench <bench@example.invalid> {when} +0000\n"
                      f"data 9\ncommit {number % 10}\n".encode())
        if number > 1:
            chunks.append(f"from :{number - 1}\n".encode())
        touched = range(n_files) if number == 1 else rng.sample(range(n_files), rng.randint(1, 3))
        for i in touched:
            path, render = paths[i]
            blob(path, render(i, number))
        chunks.append(b"\n")
    subprocess.run(["git", "-C", str(target), "fast-import", "--quiet"], input=b"".join(chunks), check=True)
    subprocess.run(["git", "-C", str(target), "read-tree", "main"], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path, nargs="?", help="a git repository to scan")
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--synthesize", type=Path, metavar="DIR", help="build a synthetic repository in DIR first")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=15000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    args = parser.parse_args(argv)
    if args.synthesize:
        synthesize(args.synthesize, args.files, args.commits)
        print(f"synthesized {args.synthesize}: {args.files} files, {args.commits} commits")
        return bench(args.synthesize, args.ref, args.repeat)
    if args.path is None:
        parser.error("PATH or --synthesize DIR is required")
    return bench(args.path, args.ref, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
