"""Every benchmark still starts as ``python -m bench.<name>`` (issue 8) and answers ``--help`` without running."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = sorted(path.stem for path in (ROOT / "bench").glob("*.py")
                      if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"))

#: Runs each benchmark as ``__main__`` with ``--help`` in one process (their imports are shared, so the
#: check costs one start, not one per benchmark) and prints what each wrote and its exit code as JSON.
HELP_ALL = """
import contextlib, io, json, runpy, sys
answers = {}
for name in sys.argv[1:]:
    out, code = io.StringIO(), None
    sys.argv = [name, "--help"]
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_module(f"bench.{name}", run_name="__main__", alter_sys=True)
        except SystemExit as stop:
            code = stop.code
    answers[name] = {"code": code, "out": out.getvalue()}
print(json.dumps(answers))
"""


def test_every_benchmark_answers_help_with_its_usage():
    assert {"trust", "scale", "execute", "generate", "ingress", "board", "scan"} <= set(ENTRY_POINTS)
    done = subprocess.run([sys.executable, "-c", HELP_ALL, *ENTRY_POINTS], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.splitlines()[-1])
    for name in ENTRY_POINTS:
        assert answers[name]["code"] in (0, None) and answers[name]["out"].startswith("usage: "), (name, answers[name])
