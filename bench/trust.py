"""Benchmark the trust labels against the labelled corpus (issue 10, "Benchmark").

    python bench/trust.py [--corpus bench/trust_corpus] [--mirrors /work/.mirror] [--repo owner/name]…

For each repository of ``corpus.json`` (fetched by the ``clone`` command it
lists, or found as ``<mirrors>/<owner>+<name>[/repo]``; see
``bench/trust_corpus/README.md``) at its pinned commit:

- scan cold (empty cache), warm (the same commit again) and incremental
  (a fresh cache first filled at ``commit~INCREMENT_BACK``, then the pin);
- compare with the labels: retired → should be ``stale``, in force → should
  be ``trusted``, not built → must not be ``trusted``; stale precision counts
  the ``stale`` labels among the scored documents that are right;
- discovery: the fraction of labelled documents found as sources;
- drift recall on ``drift.json``: at each case's parent commit the document
  must be ``stale`` by a drift reason whose evidence names the reference;
- the git floor: ``git ls-tree -r`` (``git ls-files`` of a bare mirror) plus
  one ``git log --name-only`` (``--no-renames`` when a partial mirror lacks
  blobs), timed in the same run.

Prints per repository and overall; exits 1 when an overall target is missed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.sources.cache import ScanCache  # noqa: E402
from bot.sources.scan import scan_checkout  # noqa: E402

INCREMENT_BACK = 20  # first-parent commits between the incremental scan's two positions
TARGETS = {  # (figure, comparison, bound): issue 10's table
    "stale_recall": (">=", 0.85), "stale_precision": (">=", 0.9), "in_force_trusted": (">=", 0.8),
    "not_built_trusted": ("<=", 0.05), "proposals_found": (">=", 1.0), "drift_recall": (">=", 0.85),
    "cold_over_floor": ("<=", 3.0), "warm_over_floor": ("<=", 0.5),
}
DRIFT_CODES = {"drift-path", "drift-symbol"}


@dataclass
class Figures:
    """Counts and seconds of one repository (or all of them summed)."""

    counts: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        self.counts.update(other.counts)
        self.seconds.update(other.seconds)

    def ratio(self, num: str, den: str) -> float | None:
        return self.counts[num] / self.counts[den] if self.counts[den] else None

    def table(self) -> dict[str, float | None]:
        c, s = self.counts, self.seconds
        return {
            "stale_recall": self.ratio("retired_stale", "retired"),
            "stale_precision": c["retired_stale"] / c["stale"] if c["stale"] else None,
            "in_force_trusted": self.ratio("in_force_trusted", "in_force"),
            "not_built_trusted": self.ratio("not_built_trusted", "not_built"),
            "proposals_found": self.ratio("found", "labelled"),
            "drift_recall": self.ratio("drift_hit", "drift_cases"),
            "cold_over_floor": s["cold"] / s["floor"] if s["floor"] else None,
            "warm_over_floor": s["warm"] / s["floor"] if s["floor"] else None,
            "incremental_over_floor": s["incremental"] / s["floor"] if s["floor"] else None,
        }


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={repo}", *args], capture_output=True, check=True).stdout


def mirror_of(mirrors: Path, repo: str) -> Path:
    base = mirrors / repo.replace("/", "+")
    return base / "repo" if (base / "repo").is_dir() else base


def git_floor(repo: Path, commit: str) -> tuple[float, int, int]:
    """Seconds for listing the files and one ``git log --name-only``; files and commits counted."""
    start = time.perf_counter()
    files = git(repo, "ls-tree", "-r", "--name-only", "-z", commit)
    try:
        log = git(repo, "log", commit, "--format=%x01%ct", "--name-only")
    except subprocess.CalledProcessError:  # rename detection needs blobs a partial mirror lacks
        log = git(repo, "log", commit, "--format=%x01%ct", "--name-only", "--no-renames")
    return time.perf_counter() - start, files.count(b"\0"), log.count(b"\x01")


def timed(repo: Path, commit: str, cache: ScanCache):
    start = time.perf_counter()
    result = scan_checkout(repo, commit, cache)
    return result, time.perf_counter() - start


def score_labels(figures: Figures, labels: list[dict], statuses: dict[str, str], misses: list[str]) -> None:
    """Add the label comparison of one repository to ``figures``; wrong labels go to ``misses``."""
    c = figures.counts
    for label in labels:
        cls, status = label["class"], statuses.get(label["path"])
        c["labelled"] += 1
        c["found"] += status is not None
        if cls == "undeclared":
            continue
        c[cls] += 1
        c["stale"] += status == "stale"
        if cls == "retired":
            c["retired_stale"] += status == "stale"
        elif cls == "in_force":
            c["in_force_trusted"] += status == "trusted"
        elif cls == "not_built":
            c["not_built_trusted"] += status == "trusted"
        wrong = (cls == "retired") != (status == "stale") or (cls == "in_force" and status != "trusted") or \
            (cls == "not_built" and status == "trusted")
        if wrong:
            misses.append(f"{cls:9} {status or 'not found':8} {label['path']}  [{label.get('evidence', '')}]")


def drift_hit(repo: Path, case: dict, cache: ScanCache) -> tuple[bool, str]:
    """True when, at the case's parent, its document is stale by a drift reason naming the reference."""
    result = scan_checkout(repo, case["parent"], cache)
    source = next((s for s in result.sources if s.path == case["document"]), None)
    if source is None:
        return False, "document not found as a source"
    names = {r["stale_reference"].rsplit("/", 1)[-1] for r in case.get("references", [case])}
    for reason in source.reasons:
        if reason.code in DRIFT_CODES and any(n in e for e in reason.evidence for n in names):
            return source.status == "stale", f"{source.status}: {reason.message}"
    strongest = source.strongest_reason()
    return False, f"{source.status}: {strongest.message if strongest else 'no reason'}"


def bench_repo(entry: dict, corpus: Path, mirrors: Path, drift: list[dict], verbose: bool) -> Figures:
    repo, commit = mirror_of(mirrors, entry["repo"]), entry["commit"]
    figures, misses = Figures(), []
    floor_s, files, commits = git_floor(repo, commit)
    with tempfile.TemporaryDirectory() as cold_dir, tempfile.TemporaryDirectory() as inc_dir:
        cache = ScanCache(cold_dir)
        result, cold_s = timed(repo, commit, cache)
        _, warm_s = timed(repo, commit, cache)
        incremental = ScanCache(inc_dir)
        back = git(repo, "rev-list", "--first-parent", "-n1", f"{commit}~{INCREMENT_BACK}").decode().strip()
        scan_checkout(repo, back, incremental)
        _, inc_s = timed(repo, commit, incremental)
        labels = json.loads((corpus / entry["labels"]).read_text())["documents"]
        score_labels(figures, labels, {s.path: s.status for s in result.sources}, misses)
        cases = [c for c in drift if c["repo"] == entry["repo"]]
        for case in cases:
            hit, why = drift_hit(repo, case, cache)
            figures.counts["drift_cases"] += 1
            figures.counts["drift_hit"] += hit
            if not hit:
                misses.append(f"drift     {case['document']} @ {case['parent'][:12]} "
                              f"({case['stale_reference']}): {why}")
    figures.seconds.update({"floor": floor_s, "cold": cold_s, "warm": warm_s, "incremental": inc_s})
    figures.counts.update({"files": files, "commits": commits})
    print(f"\n## {entry['repo']} @ {commit[:12]}  ({files} files, {commits} commits, "
          f"{len(result.sources)} sources: {dict(Counter(s.status for s in result.sources))})")
    print(f"   floor {floor_s:.3f}s  cold {cold_s:.3f}s  warm {warm_s:.3f}s  incremental {inc_s:.3f}s")
    report(figures)
    for line in misses[: None if verbose else 8]:
        print("   miss:", line)
    if len(misses) > 8 and not verbose:
        print(f"   … {len(misses) - 8} more misses (--verbose lists them)")
    return figures


def report(figures: Figures) -> bool:
    """Print the figures with their targets; True when every measured target is met."""
    ok = True
    for name, value in figures.table().items():
        if value is None:
            print(f"   {name:24} n/a")
            continue
        op, bound = TARGETS.get(name, ("", None))
        met = bound is None or (value >= bound if op == ">=" else value <= bound)
        ok &= met
        target = f"(target {op} {bound})" if bound is not None else ""
        print(f"   {name:24} {value:6.3f} {target} {'' if met else '  MISSED'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=here / "trust_corpus")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--repo", action="append", help="only these repositories (owner/name)")
    parser.add_argument("--verbose", action="store_true", help="list every wrong label")
    args = parser.parse_args(argv)
    entries = json.loads((args.corpus / "corpus.json").read_text())
    drift = json.loads((args.corpus / "drift.json").read_text())["cases"]
    total = Figures()
    for entry in entries:
        if not args.repo or entry["repo"] in args.repo:
            total.add(bench_repo(entry, args.corpus, args.mirrors, drift, args.verbose))
    c, s = total.counts, total.seconds
    print(f"\n## overall ({c['files']} files, {c['commits']} commits; floor {s['floor']:.2f}s, cold {s['cold']:.2f}s, "
          f"warm {s['warm']:.2f}s, incremental {s['incremental']:.2f}s)")
    return 0 if report(total) else 1


if __name__ == "__main__":
    sys.exit(main())
