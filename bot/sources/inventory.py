"""The code inventory: files by language, top-level symbols and HTTP routes declared in code.

Python is read with ``ast`` only (no regex ever sees its comments or
strings); other languages with line-anchored regexes
for their declaration forms, run after their comments are blanked. Routes
are declarations on a server or router (decorators, ``app.get('/x')``,
``router.add_get``), never client calls (``axios.get``, ``requests.get``,
``fetch``). Route paths are normalised so that ``{id}``, ``:id``,
``<int:id>`` and ``[id]`` compare equal.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from bot.domain.sources import InventorySummary, RouteRef

LANGUAGES = {
    ".py": "Python", ".js": "JavaScript", ".jsx": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript",
    ".ts": "TypeScript", ".tsx": "TypeScript", ".go": "Go", ".java": "Java", ".kt": "Kotlin",
    ".rb": "Ruby", ".rs": "Rust", ".php": "PHP", ".cs": "C#", ".swift": "Swift", ".scala": "Scala",
    ".c": "C", ".h": "C", ".cc": "C++", ".cpp": "C++", ".hpp": "C++", ".sh": "Shell", ".sql": "SQL",
}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_TEST_FILE = re.compile(
    r"(^|/)(tests?|__tests__|spec|testdata)/|(^|/)(test_[^/]*|[^/]*_test)\.py$|_test\.go$|\.(test|spec)\.[cm]?[jt]sx?$"
)
_PARAM = re.compile(r"\{[^}/]*\}|<[^>/]*>|:[A-Za-z_]\w*|\[[^\]/]*\]")
_M = re.MULTILINE

# Declarations per language family: each regex captures the name in group "name".
_SYMBOLS = {
    "JavaScript": [
        r"^[ \t]*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\*?\s+(?P<name>[A-Za-z_$][\w$]*)",
        r"^[ \t]*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+(?P<name>[A-Za-z_$][\w$]*)",
        r"^[ \t]*(?:export\s+)?(?:const|let|var)\s+(?P<name>[A-Za-z_$][\w$]*)\s*=",
        r"^[ \t]*export\s+(?:interface|type|enum)\s+(?P<name>[A-Za-z_$][\w$]*)",
        r"^\s{2,}(?:async\s+|static\s+)*(?P<name>[A-Za-z_$][\w$]*)\s*\([^)]*\)\s*\{",
    ],
    "Go": [
        r"^func\s+(?:\([^)]*\)\s*)?(?P<name>[A-Za-z_]\w*)",
        r"^type\s+(?P<name>[A-Za-z_]\w*)\s",
        r"^(?:var|const)\s+(?P<name>[A-Za-z_]\w*)\s",
    ],
    "Java": [
        r"^[ \t]*(?:public\s+|private\s+|protected\s+|abstract\s+|final\s+|static\s+|data\s+|open\s+)*"
        r"(?:class|interface|enum|record|object)\s+(?P<name>[A-Za-z_]\w*)",
        r"^[ \t]*(?:public|private|protected|internal)\s+(?:[\w<>\[\],\s]+\s+)?(?P<name>[A-Za-z_]\w*)\s*\(",
        r"^[ \t]*(?:suspend\s+)?fun\s+(?P<name>[A-Za-z_]\w*)",
    ],
    "Ruby": [
        r"^[ \t]*def\s+(?:self\.)?(?P<name>[A-Za-z_]\w*[?!]?)",
        r"^[ \t]*(?:class|module)\s+(?P<name>[A-Z]\w*)",
    ],
    "Rust": [
        r"^[ \t]*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+(?P<name>[A-Za-z_]\w*)",
        r"^[ \t]*(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|trait|type|mod)\s+(?P<name>[A-Za-z_]\w*)",
    ],
    "Shell": [r"^[ \t]*(?:function\s+)?(?P<name>[A-Za-z_][\w-]*)\s*\(\)"],
    "PHP": [r"^[ \t]*(?:public\s+|private\s+|protected\s+|static\s+)*function\s+(?P<name>\w+)", r"^\s*class\s+(?P<name>\w+)"],
}
_FAMILY = {"TypeScript": "JavaScript", "Kotlin": "Java", "Scala": "Java", "C#": "Java"}
_SYMBOL_RES = {lang: [re.compile(p, _M) for p in pats] for lang, pats in _SYMBOLS.items()}
_JS_IMPORT = re.compile(r"^[ \t]*import\s+(?:\*\s*as\s+)?(?P<name>[A-Za-z_$][\w$]*)\s*(?:,|from\b)", _M)

# Comments are blanked (newlines kept) before the regexes run; strings are matched first so "//" in a URL survives.
_STRINGS = r"""(?P<s>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'"""
_C_COMMENTS = re.compile(_STRINGS + r"""|`(?:\\.|[^`\\])*`)|//[^\n]*|/\*.*?\*/""", re.S)
_HASH_COMMENTS = re.compile(_STRINGS + r")|(?:^|(?<=\s))#[^\n]*", _M)
_COMMENTS = {"JavaScript": _C_COMMENTS, "Go": _C_COMMENTS, "Java": _C_COMMENTS, "Rust": _C_COMMENTS,
             "PHP": _C_COMMENTS, "Ruby": _HASH_COMMENTS, "Shell": _HASH_COMMENTS}

_Q = r"""["'`]"""
_ROUTES = {
    # Express / Koa / Fastify / Hono on a server or router receiver: app.get('/x', …), router.route('/x').get(…);
    # client calls (axios.get, fetch, request(app).get) are not declarations.
    "JavaScript": re.compile(
        r"\b(?:app|api|server|router|routes|web|fastify|[a-z]\w*(?:Router|App|Routes))\d*"
        rf"\.(?P<method>get|post|put|patch|delete|head|options|all|route)\(\s*{_Q}(?P<path>/[^\"'`]*){_Q}"
    ),
    # net/http HandleFunc("/x" or "GET /x"; gin/echo/chi r.GET("/x" / r.Get("/x" (not the http.Get client)
    "Go": re.compile(
        r"\b(?:HandleFunc|Handle)\(\s*\"(?:(?P<m1>[A-Z]+)\s+)?(?P<p1>/[^\"]*)\"|"
        r"\b(?!http\.|client\.)\w+\.(?P<method>GET|POST|PUT|PATCH|DELETE|Get|Post|Put|Patch|Delete)\(\s*\"(?P<path>/[^\"]*)\""
    ),
    # Spring: @GetMapping("/x"), @RequestMapping(value = "/x", method = …)
    "Java": re.compile(
        r"@(?P<method>Get|Post|Put|Patch|Delete|Request)Mapping\(\s*(?:(?:value|path)\s*=\s*)?\{?\s*\"(?P<path>/[^\"]*)\""
    ),
    # Rails routes.rb / Sinatra: get '/x'
    "Ruby": re.compile(r"^[ \t]*(?P<method>get|post|put|patch|delete)\s+['\"](?P<path>/?[^'\"]*)['\"]", _M),
}


def normalize_route(path: str) -> str:
    """``/Orders/{id}/`` → ``/Orders/{}``: parameters become ``{}``, one leading and no trailing slash."""
    path = _PARAM.sub("{}", path.strip().split("?")[0])
    path = "/" + path.strip("/")
    return path


@dataclass
class Inventory:
    """``symbols``: declared and imported names (bare and ``Class.member``); ``modules``: names bound to
    imported modules (``import os`` → ``os``); ``literals``: name-like Python string literals (error types,
    event names, config keys); ``routes``: declared (method, path) pairs."""

    languages: dict[str, int] = field(default_factory=dict)
    symbols: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    literals: set[str] = field(default_factory=set)
    routes: list[RouteRef] = field(default_factory=list)
    code_paths: list[str] = field(default_factory=list)

    _index: dict[str, set[str]] = field(default_factory=dict, repr=False, compare=False)  # path → methods
    _indexed: int = field(default=0, repr=False, compare=False)  # routes in the index

    def declares(self, method: str, path: str) -> bool:
        """True when code declares ``path`` (normalised) for ``method`` or for any method.

        A declared path that is a trailing part of ``path`` (whole segments) also
        counts (``/orders/{}`` declared on a router mounted under ``/api``),
        unless it has no literal segment (``/``, a catch-all ``/{tail:.*}``).
        """
        if self._indexed != len(self.routes):
            self._index, self._indexed = {}, len(self.routes)
            for route in self.routes:
                self._index.setdefault(route.path, set()).add(route.method)
        parts = path.split("/")
        for i in range(1, len(parts)):
            tail = "/" + "/".join(parts[i:])
            methods = self._index.get(tail, ())
            if (method in methods or "ANY" in methods) and (i == 1 or tail.replace("/{}", "") not in ("", "/")):
                return True
        return False

    def summary(self) -> InventorySummary:
        routes = sorted(self.routes, key=lambda r: (r.path, r.method, r.file))
        return InventorySummary(languages=dict(sorted(self.languages.items())), symbols=len(self.symbols), routes=routes)


def language_of(path: str) -> str | None:
    """The language of a file by its extension, or ``None``."""
    dot = path.rfind(".")
    return LANGUAGES.get(path[dot:].lower()) if dot > path.rfind("/") else None


FACTS_VERSION = 2  # bump when the facts of an unchanged blob would change (it keys the cache)


def file_facts(path: str, language: str, text: str) -> dict[str, list]:
    """What one code file declares: ``symbols``, ``modules``, ``literals`` and ``routes`` ([method, path]).

    A pure function of the text and the language (cached by blob SHA in ``bot.sources.cache``).
    """
    part = Inventory()
    if language == "Python":
        _add_python(part, path, text, part.routes)
    else:
        family = _FAMILY.get(language, language)
        comments = _COMMENTS.get(family)
        if comments:
            text = comments.sub(lambda m: m.group(0) if m.group("s") else "\n" * m.group(0).count("\n"), text)
        for regex in _SYMBOL_RES.get(family, ()):
            part.symbols.update(m.group("name") for m in regex.finditer(text))
        if family == "JavaScript":
            part.modules.update(m.group("name") for m in _JS_IMPORT.finditer(text))
        route_re = _ROUTES.get(family)
        for m in route_re.finditer(text) if route_re else ():
            groups = m.groupdict()
            method = groups.get("method") or groups.get("m1") or "ANY"
            method = "ANY" if method.lower() in ("all", "request", "route") else method.upper()
            part.routes.append(RouteRef(method=method, path=normalize_route(groups.get("path") or groups["p1"]),
                                        file=path))
    return {"symbols": sorted(part.symbols), "modules": sorted(part.modules), "literals": sorted(part.literals),
            "routes": [[r.method, r.path] for r in part.routes]}


def add_facts(inventory: Inventory, path: str, language: str, facts: dict[str, list] | None) -> None:
    """Count ``path`` under ``language`` and add its ``facts`` (``file_facts``; ``None``: unreadable).

    Routes declared in test code (``tests/``, ``test_x.py``, ``x.test.ts``…) are test doubles of other
    services, not the product's routes: they are left out.
    """
    inventory.languages[language] = inventory.languages.get(language, 0) + 1
    inventory.code_paths.append(path)
    if facts is None:
        return
    inventory.symbols.update(facts["symbols"])
    inventory.modules.update(facts["modules"])
    inventory.literals.update(facts["literals"])
    if not is_test_file(path):
        inventory.routes.extend(RouteRef(method=m, path=p, file=path) for m, p in facts["routes"])


def is_test_file(path: str) -> bool:
    """True for test code: ``tests/``, ``spec/``, ``testdata/``, ``test_x.py``, ``x_test.go``, ``x.test.ts``…"""
    return bool(_TEST_FILE.search(path))


def add_file(inventory: Inventory, path: str, language: str, text: str | None) -> None:
    """``add_facts`` of the file's ``file_facts`` (``text`` ``None``: counted only)."""
    add_facts(inventory, path, language, None if text is None else file_facts(path, language, text))


def _add_python(inventory: Inventory, path: str, text: str, routes: list[RouteRef]) -> None:
    """Python names (``_python_names``), name-like string literals (``"SandboxUnavailable"``, ``"refine_rounds"``)
    and routes (``_python_routes``); a file that does not parse adds nothing.

    Only the statements around lines that look like a route declaration (``_ROUTE_HINTS``) are walked.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    _python_names(inventory, tree.body, None)
    inventory.literals.update(m.group("name") for m in _NAME_LITERAL.finditer(text))
    lines, line, pos = [], 1, 0
    for start in sorted(m.start() for hint in _ROUTE_HINTS for m in hint.finditer(text)):
        line, pos = line + text.count("\n", pos, start), start
        lines.append(line)
    if lines:
        _python_routes(routes, path, _nodes_on(tree, lines))


def _nodes_on(tree: ast.Module, lines: list[int]) -> list[ast.AST]:
    """The nodes of ``tree`` whose line span (decorators included) holds one of ``lines``; nodes without a span."""
    nodes: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        end = getattr(node, "end_lineno", None)
        if end is not None:
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])  # type: ignore[attr-defined]
            if not any(start <= line <= end for line in lines):
                continue
        nodes.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return nodes


_NAME_LITERAL = re.compile(r"""(?<![\w'"])(['"])(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\1""")
# Lines worth walking for routes: route decorators and router calls (two simple patterns scan fastest).
_ROUTE_HINTS = (
    re.compile(r"^[ \t]*@[\w.]+\.(?:get|post|put|patch|delete|head|options|route|api_route|websocket|view)\b", re.M),
    re.compile(r"(?:add_\w+|web\.\w+|path|Route)\s*\("),
)
_BLOCKS = (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith)


def _python_names(inventory: Inventory, body: list[ast.stmt], owner: str | None) -> None:
    """Functions, classes, assignments and imports of a module or class body, also under ``if``/``try``/``with``.

    Members of a class are recorded bare and as ``Class.member`` (methods and fields such as ``rounds: int = 2``).
    """
    for node in body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
            if isinstance(node, ast.ClassDef) and owner is None:
                _python_names(inventory, node.body, node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, ast.Import) and owner is None:
            inventory.modules.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and owner is None:
            names = [a.asname or a.name for a in node.names if a.name != "*"]
        elif isinstance(node, _BLOCKS):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", []),
                          *(h.body for h in getattr(node, "handlers", []))):
                _python_names(inventory, block, owner)
        inventory.symbols.update(names)
        if owner:
            inventory.symbols.update(f"{owner}.{name}" for name in names)


_DECORATOR_ATTRS = {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket", "view"}
_ADD_METHOD = {f"add_{m.lower()}": m for m in HTTP_METHODS} | {"add_view": "ANY"}  # aiohttp router.add_get("/x", h)
_DEFAULT_GET = {"route", "add_url_rule", "add_api_route", "Route"}  # Flask, FastAPI, Starlette: GET unless methods=


def _str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _python_routes(routes: list[RouteRef], path: str, nodes: list[ast.AST]) -> None:
    """Routes from decorators and router calls among ``nodes`` (anywhere in the module).

    Decorators (any receiver): ``@app.get("/x")``, ``@bp.route("/x", methods=[…])``, ``@routes.view("/x")``.
    Calls: aiohttp ``router.add_get/add_post/…/add_view("/x", h)``, ``add_route("GET", "/x", h)``,
    ``web.get("/x", h)``, ``web.route("GET", "/x", h)``; Flask ``add_url_rule``; FastAPI ``add_api_route``;
    Starlette ``Route("/x", …)``; Django ``path()``/``re_path()``. A plain ``x.get("/x")`` call is a client.
    """
    decorators = {id(d) for n in nodes for d in getattr(n, "decorator_list", ())}
    for node in nodes:
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        args = [*node.args, None, None]
        on_web = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "web"
        if id(node) in decorators:
            route, method = (_str(args[0]), name.upper()) if name in _DECORATOR_ATTRS else (None, "")
        elif name in _ADD_METHOD or (on_web and name in ("get", "post", "put", "patch", "delete", "head", "view")):
            route, method = _str(args[0]), _ADD_METHOD.get(name) or _ADD_METHOD.get(f"add_{name}", "ANY")
        elif name == "add_route" or (on_web and name == "route"):
            route, method = _str(args[1]), (_str(args[0]) or "ANY").upper()
        elif name in ("add_url_rule", "add_api_route", "Route", "path", "re_path"):
            route, method = _str(args[0]), "ANY"
        else:
            continue
        if route is None or (name not in ("path", "re_path") and not route.startswith("/")):
            continue
        methods = [method if method in HTTP_METHODS else "GET" if name in _DEFAULT_GET else "ANY"]
        for kw in node.keywords:
            if kw.arg == "methods" and isinstance(kw.value, (ast.List, ast.Tuple, ast.Set)):
                methods = [v.upper() for v in map(_str, kw.value.elts) if v]
        for method in methods:
            routes.append(RouteRef(method=method, path=normalize_route(route), file=path))
