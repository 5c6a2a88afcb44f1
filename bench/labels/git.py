"""Plain git over a bare mirror for the label builder (``-c core.hooksPath=/dev/null``, no work tree)."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable


class Git:
    def __init__(self, git_dir: str):
        self.git_dir = git_dir

    def _cmd(self, *args: str) -> list[str]:
        return ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.quotepath=off",
                "--git-dir", self.git_dir, *args]

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> str:
        p = subprocess.run(self._cmd(*args), input=input, capture_output=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {p.stderr.decode(errors='replace')}")
        return p.stdout.decode("utf-8", errors="replace")

    def rc(self, *args: str) -> int:
        return subprocess.run(self._cmd(*args), capture_output=True).returncode

    def ls(self, commit: str, *paths: str) -> list[str]:
        out = self.run("ls-tree", "-r", "--name-only", "-z", commit, "--", *paths)
        return [p for p in out.split("\0") if p]

    def cat_many(self, commit: str, paths: Iterable[str]) -> dict[str, str]:
        paths = list(paths)
        if not paths:
            return {}
        req = "".join(f"{commit}:{p}\n" for p in paths).encode()
        p = subprocess.run(self._cmd("cat-file", "--batch"), input=req, capture_output=True, check=True)
        data = p.stdout
        out: dict[str, str] = {}
        pos = 0
        for path in paths:
            nl = data.index(b"\n", pos)
            header = data[pos:nl].decode(errors="replace")
            pos = nl + 1
            if header.endswith(" missing"):
                continue
            size = int(header.split()[-1])
            out[path] = data[pos:pos + size].decode("utf-8", errors="replace")
            pos += size + 1
        return out

    def has_commit(self, sha: str) -> bool:
        return self.rc("cat-file", "-e", f"{sha}^{{commit}}") == 0


def find_git_dir(mirror_root: str, repo: str) -> str | None:
    base = os.path.join(mirror_root, repo.replace("/", "+"))
    for cand in (os.path.join(base, "repo"), base, os.path.join(base, ".git")):
        if os.path.isfile(os.path.join(cand, "HEAD")) and os.path.isdir(os.path.join(cand, "objects")):
            return cand
    return None

