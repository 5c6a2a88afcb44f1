"""Which files are planning or spec documents, and of which type — from path and content signals.

Issue 3 ("Scanner"): Markdown, reStructuredText, AsciiDoc, plain text and
YAML documents whose path (docs/, design/, specs/, rfcs/, adr/, plans/,
proposals, PRD, roadmap, TODO, architecture, README, CHANGELOG…) or content
(front matter ``status:``/``title:``, task checkboxes, spec headings) marks
them as planning material; any Markdown/reST/AsciiDoc file at the top level
of the repository is the project's own document (``guide`` by its name, else
``other``). Nothing is hard-coded by file name list alone.

Issue 10 ("discovery by content"): a prose file anywhere is also a
candidate when its content marks it — a metadata block (front matter, an
RFC 822 header block, a ``Status:`` list under the title), a numbered
collection name (``pep-0008.rst``, ``eip-1559.md``, ``0007-use-postgres.md``,
``NNNN-name/README.md``), or headings such as Motivation, Proposal,
Decision, Status, Requirements.
"""
from __future__ import annotations

import re

PROSE_FORMATS = {".md", ".markdown", ".mdx", ".rst", ".adoc", ".asciidoc", ".org"}
DOC_FORMATS = PROSE_FORMATS | {".txt", ".yaml", ".yml"}
# Office/PDF documents are looked at only to say why they are excluded (not text).
DOC_BINARIES = {".pdf", ".doc", ".docx", ".odt", ".rtf", ".ppt", ".pptx", ".pages", ".key"}
# Extension-less planning files by convention (README, CHANGELOG, TODO…).
BARE_NAMES = {"readme", "changelog", "changes", "history", "news", "todo", "roadmap", "contributing"}
DOC_DIRS = {
    "docs", "doc", "design", "designs", "spec", "specs", "specification", "specifications", "rfc", "rfcs",
    "adr", "adrs", "decisions", "plans", "plan", "proposals", "proposal", "architecture", "requirements",
    "roadmap", "planning", "prd", "prds",
}
_TOKEN = re.compile(r"[a-z0-9]+")
_NOT_DOCS = re.compile(
    r"(^|/)(requirements[\w.-]*\.txt|constraints[\w.-]*\.txt|licen[cs]e[\w.-]*|copying[\w.-]*|notice[\w.-]*|"
    r"code[_-]of[_-]conduct[\w.-]*|authors[\w.-]*|contributors[\w.-]*|"
    r"robots\.txt|cmakelists\.txt|[\w.-]*\.lock|pnpm-lock\.yaml|\.pre-commit-config\.yaml)$|(^|/)\.github/",
    re.I,
)
# pep-0008, eip-1559, 0007-use-postgres, A12-proxy; also any file inside such a proposal's own folder
_NUMBERED = re.compile(r"(^|/)(?:[a-z]{1,8}[-_]?\d{1,5}|\d{3,5})(?:[-_][^/]*)?(?:/[^/]+)?$", re.I)
SPEC_HEADINGS = {
    "motivation", "proposal", "decision", "status", "requirements", "rationale", "specification", "abstract",
    "context", "consequences", "alternatives", "goals", "non-goals", "summary", "design", "detailed design",
    "background", "backwards compatibility", "drawbacks", "unresolved questions", "security considerations",
    "decision outcome", "considered options", "user stories", "acceptance criteria", "implementation",
}
SPEC_HEADINGS_MIN = 2

# (type, path tokens, heading words) in priority order: the first match wins.
_RULES: list[tuple[str, set[str], tuple[str, ...]]] = [
    ("readme", {"readme"}, ()),
    ("changelog", {"changelog", "changes", "history", "news", "releases"}, ("changelog", "release notes")),
    ("adr", {"adr", "adrs", "decisions", "decision"}, ("architecture decision record",)),
    ("rfc", {"rfc", "rfcs"}, ("request for comments",)),
    ("prd", {"prd", "prds", "requirements"}, ("product requirements", "prd")),
    ("architecture", {"architecture", "arch"}, ("architecture",)),
    ("spec", {"spec", "specs", "specification", "specifications", "api", "openapi", "swagger"},
     ("specification", "api reference", "endpoints")),
    ("plan", {"plan", "plans", "roadmap", "proposal", "proposals", "milestones", "design", "designs", "planning"},
     ("roadmap", "proposal", "design", "plan")),
    ("tasks", {"todo", "todos", "tasks", "task", "backlog"}, ("tasks", "todo", "backlog")),
    ("guide", {"guide", "guides", "tutorial", "howto", "contributing", "usage", "manual", "docs", "doc", "commands",
               "maintenance", "maintaining", "install", "installation", "setup", "operations", "runbook", "faq",
               "development", "deployment", "deploy", "hacking"},
     ("guide", "tutorial", "getting started")),
]


def extension(path: str) -> str:
    dot = path.rfind(".")
    return path[dot:].lower() if dot > path.rfind("/") else ""


def path_tokens(path: str) -> set[str]:
    """Lower-case word tokens of a path: ``docs/Checkout-PRD.md`` → {docs, checkout, prd, md}."""
    return set(_TOKEN.findall(path.lower()))


def in_doc_dir(path: str) -> bool:
    """True when a folder of ``path`` is a documentation folder (``docs/``, ``rfcs/``, …)."""
    return any(part.lower() in DOC_DIRS for part in path.split("/")[:-1])


def is_candidate_path(path: str) -> bool:
    """True when ``path`` must be looked at as a possible source.

    Document formats (text or office/PDF), and extension-less conventional
    names such as ``README`` or ``TODO``; never code, images or CI files.
    """
    if _NOT_DOCS.search(path):
        return False
    ext = extension(path)
    if not ext:
        return path.rsplit("/", 1)[-1].lower() in BARE_NAMES
    return ext in DOC_FORMATS or ext in DOC_BINARIES


def is_numbered(path: str) -> bool:
    """True for a member of a numbered collection: ``pep-0008.rst``, ``0007-x.md``, ``1234-name/README.md``,
    ``pep-0639/appendix.rst``."""
    return bool(_NUMBERED.search(path.rsplit(".", 1)[0] if extension(path) else path))


def content_marked(path: str, meta_keys: list[str], headings: list[str]) -> bool:
    """True when the content (or a numbered-collection name) marks a prose file as planning or spec material."""
    if meta_keys and ({"status", "title", "state", "stage"} & set(meta_keys) or len(meta_keys) >= 3):
        return True
    if is_numbered(path):
        return True
    found = {h.strip(" :#*").lower() for h in headings} & SPEC_HEADINGS
    return len(found) >= SPEC_HEADINGS_MIN


def classify(path: str, text: str, *, title: str = "", headings: tuple[str, ...] | list[str] = (),
             meta_keys: tuple[str, ...] | list[str] = (), checkboxes: int = 0) -> str | None:
    """The source type of a document, or ``None`` when neither its path nor its content marks it.

    Path tokens decide first (priority order of ``_RULES``); then the title
    and headings (from the parse, ``bot.sources.references.Claims``); then
    content alone (checkboxes → tasks; metadata, a numbered name or spec
    headings → other). YAML counts only with OpenAPI keys or front-matter-like
    ``title``/``status`` keys, wherever it lies: a documentation folder's ``_config.yml``
    (a site generator's) or ``.markdownlint.yml`` is configuration, not a document.
    """
    tokens = path_tokens(path.rsplit(".", 1)[0] if extension(path) else path)
    if extension(path) in (".yaml", ".yml"):
        return _classify_yaml(text)
    for kind, words, _ in _RULES:
        if tokens & words:
            return kind
    heading_text = " ".join([title, *headings[:12]]).lower()
    for kind, _, phrases in _RULES:
        if any(re.search(rf"\b{re.escape(p)}\b", heading_text) for p in phrases):
            return kind
    if checkboxes >= 2:
        return "tasks"
    if in_doc_dir(path) or ("/" not in path and extension(path) in PROSE_FORMATS):
        return "other"  # top-level Markdown & co. (COMMANDS.md, MAINTENANCE.md) are the project's own documents
    if extension(path) in PROSE_FORMATS | {".txt", ""} and content_marked(path, list(meta_keys), list(headings)):
        return "other"
    return None


def _classify_yaml(text: str) -> str | None:
    head = text[:4000]
    if re.search(r"^(openapi|swagger|asyncapi):", head, re.M):
        return "spec"
    if re.search(r"^title:", head, re.M) and re.search(r"^status:", head, re.M):
        return "other"
    return None
