"""Read a commit's tree straight from git objects, never from the working tree.

``git ls-tree -r -l --full-tree -z`` lists mode, object type, blob SHA and size
of every entry; ``git cat-file --batch`` reads many blobs in one process
(https://git-scm.com/docs/git-ls-tree, https://git-scm.com/docs/git-cat-file).
Symlinks (mode 120000) are blobs holding the link target; submodules
(mode 160000) are commits of another repository.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.errors import GitError
from bot.workspace.git import git_sync

SYMLINK = "120000"
SUBMODULE = "160000"


@dataclass(frozen=True, slots=True)
class Entry:
    """One tree entry. ``size`` in bytes (0 for a submodule)."""

    path: str
    mode: str
    sha: str
    size: int

    @property
    def is_symlink(self) -> bool:
        return self.mode == SYMLINK

    @property
    def is_submodule(self) -> bool:
        return self.mode == SUBMODULE


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    """Run ``git -C repo args…`` (hardened, ``bot.workspace.git.git_sync``) and return stdout; raise
    ``GitError`` with git's stderr on failure."""
    return git_sync("-C", str(repo), "-c", "core.quotepath=off", *args, input=input, repository=str(repo))


@dataclass(frozen=True)
class Located:
    """A ref resolved: its ``commit`` (``None`` in a repository without commits), the repository's common
    git directory ``git_dir`` (absolute; worktrees share it) and whether the clone is ``shallow``."""

    commit: str | None
    git_dir: str
    shallow: bool


def locate(repo: Path, ref: str) -> Located:
    """``ref`` of ``repo`` resolved by one ``git rev-parse``.

    Raises ``GitError`` when ``repo`` is not a git repository or ``ref`` names no commit.
    """
    if not Path(repo).is_dir():
        raise GitError(f"not a directory: {repo}", repository=str(repo))
    args = ("rev-parse", "--path-format=absolute", "--git-common-dir", "--is-shallow-repository")
    try:
        out = git(repo, *args, "--verify", "--end-of-options", f"{ref}^{{commit}}").decode().split("\n")
        return Located(out[2].strip(), out[0].strip(), out[1].strip() == "true")
    except GitError:
        where, shallow = git(repo, *args).decode().split("\n")[:2]  # raises when this is no repository
        if ref == "HEAD" and not git(repo, "rev-list", "-n1", "--all").strip():
            return Located(None, where.strip(), shallow.strip() == "true")
        raise GitError(f"unknown revision {ref!r}: no such commit", repository=str(repo), ref=ref) from None


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The commit SHA of ``ref`` (``locate``); ``None`` when the repository has no commit yet."""
    return locate(repo, ref).commit


def list_tree(repo: Path, commit: str) -> list[Entry]:
    """Every file, symlink and submodule of ``commit`` (trees flattened)."""
    entries = []
    for record in git(repo, "ls-tree", "-r", "-l", "--full-tree", "-z", commit).split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, _kind, sha, size = meta.decode().split()
        entries.append(Entry(path.decode("utf-8", "replace"), mode, sha, int(size) if size.isdigit() else 0))  # "BAD": a blob a partial clone lacks
    return entries


def read_blobs(repo: Path, shas: list[str]) -> dict[str, bytes]:
    """The contents of ``shas``, read by one ``git cat-file --batch`` process; objects the repository lacks
    (a partial mirror) are left out."""
    unique = list(dict.fromkeys(shas))
    if not unique:
        return {}
    out = git(repo, "cat-file", "--batch", input="".join(f"{sha}\n" for sha in unique).encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    for sha in unique:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        if len(header) < 3:  # "<sha> missing"
            pos = header_end + 1
            continue
        size = int(header[2])
        blobs[sha] = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
    return blobs


def read_path(repo: Path, commit: str, path: str) -> str | None:
    """The UTF-8 text of ``path`` at ``commit``, or ``None`` when it does not exist there."""
    try:  # cat-file, not show: no textconv driver of the repository runs
        return git(repo, "cat-file", "blob", f"{commit}:{path}").decode("utf-8", "replace")
    except GitError:
        return None


def is_shallow(repo: Path) -> bool:
    """True for a shallow clone (``git rev-parse --is-shallow-repository``)."""
    return git(repo, "rev-parse", "--is-shallow-repository").strip() == b"true"


def ignored_paths(repo: Path, gitignores: dict[str, bytes], paths: list[str]) -> set[str]:
    """The ``paths`` (repository-relative, inside the tree) that the commit's ignore rules ignore.

    ``gitignores`` maps each ``.gitignore`` of the commit to its content.
    They are written into an empty temporary work tree and asked in one
    ``git check-ignore --no-index --stdin -z`` process, so the answer follows
    the commit, not the checkout; the user's global excludes file is not read
    (https://git-scm.com/docs/git-check-ignore, https://git-scm.com/docs/gitignore).
    Raises ``GitError`` when git fails.
    """
    git_dir = git(repo, "rev-parse", "--absolute-git-dir").decode().strip()
    with tempfile.TemporaryDirectory(prefix="scenarioforge-ignore-") as work_tree:
        for path, content in gitignores.items():
            target = Path(work_tree, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        out = git_sync(
            f"--git-dir={git_dir}", f"--work-tree={work_tree}", "-c", "core.excludesFile=/dev/null",
            "-c", "core.quotepath=off", "check-ignore", "--no-index", "--stdin", "-z",
            # each path also as "p/", which dir-only patterns such as "build/" match
            input="".join(f"{p}\0{p}/\0" for p in paths).encode(), cwd=Path(work_tree), ok=(0, 1),  # 1: none
            repository=str(repo),
        )
    return {p.rstrip("/") for p in out.decode("utf-8", "replace").split("\0") if p}
