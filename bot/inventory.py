"""The code inventory: files by language, top-level symbols and HTTP routes declared in code.

Python is read with ``ast`` (functions, classes, methods, module constants,
route decorators, Django ``path()``); other languages with line-anchored
regexes for their declaration forms. Route paths are normalised so that
``{id}``, ``:id``, ``<int:id>`` and ``[id]`` compare equal.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from bot.source_model import InventorySummary, RouteRef

LANGUAGES = {
    ".py": "Python", ".js": "JavaScript", ".jsx": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript",
    ".ts": "TypeScript", ".tsx": "TypeScript", ".go": "Go", ".java": "Java", ".kt": "Kotlin",
    ".rb": "Ruby", ".rs": "Rust", ".php": "PHP", ".cs": "C#", ".swift": "Swift", ".scala": "Scala",
    ".c": "C", ".h": "C", ".cc": "C++", ".cpp": "C++", ".hpp": "C++", ".sh": "Shell", ".sql": "SQL",
}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PARAM = re.compile(r"\{[^}/]*\}|<[^>/]*>|:[A-Za-z_]\w*|\[[^\]/]*\]")
_M = re.MULTILINE

# Declarations per language family: each regex captures the name in group "name".
_SYMBOLS = {
    "JavaScript": [
        r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\*?\s+(?P<name>[A-Za-z_$][\w$]*)",
        r"^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+(?P<name>[A-Za-z_$][\w$]*)",
        r"^\s*(?:export\s+)?(?:const|let|var)\s+(?P<name>[A-Za-z_$][\w$]*)\s*=",
        r"^\s*export\s+(?:interface|type|enum)\s+(?P<name>[A-Za-z_$][\w$]*)",
        r"^\s{2,}(?:async\s+|static\s+)*(?P<name>[A-Za-z_$][\w$]*)\s*\([^)]*\)\s*\{",
    ],
    "Go": [
        r"^func\s+(?:\([^)]*\)\s*)?(?P<name>[A-Za-z_]\w*)",
        r"^type\s+(?P<name>[A-Za-z_]\w*)\s",
        r"^(?:var|const)\s+(?P<name>[A-Za-z_]\w*)\s",
    ],
    "Java": [
        r"^\s*(?:public\s+|private\s+|protected\s+|abstract\s+|final\s+|static\s+|data\s+|open\s+)*"
        r"(?:class|interface|enum|record|object)\s+(?P<name>[A-Za-z_]\w*)",
        r"^\s*(?:public|private|protected|internal)\s+(?:[\w<>\[\],\s]+\s+)?(?P<name>[A-Za-z_]\w*)\s*\(",
        r"^\s*(?:suspend\s+)?fun\s+(?P<name>[A-Za-z_]\w*)",
    ],
    "Ruby": [
        r"^\s*def\s+(?:self\.)?(?P<name>[A-Za-z_]\w*[?!]?)",
        r"^\s*(?:class|module)\s+(?P<name>[A-Z]\w*)",
    ],
    "Rust": [
        r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+(?P<name>[A-Za-z_]\w*)",
        r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|trait|type|mod)\s+(?P<name>[A-Za-z_]\w*)",
    ],
    "Shell": [r"^\s*(?:function\s+)?(?P<name>[A-Za-z_][\w-]*)\s*\(\)"],
    "PHP": [r"^\s*(?:public\s+|private\s+|protected\s+|static\s+)*function\s+(?P<name>\w+)", r"^\s*class\s+(?P<name>\w+)"],
}
_FAMILY = {"TypeScript": "JavaScript", "Kotlin": "Java", "Scala": "Java", "C#": "Java"}
_SYMBOL_RES = {lang: [re.compile(p, _M) for p in pats] for lang, pats in _SYMBOLS.items()}

_Q = r"""["'`]"""
_ROUTES = {
    # Express / Koa / Fastify / Hono: app.get('/x', …), router.post("/x"
    "JavaScript": re.compile(
        rf"\b\w+\.(?P<method>get|post|put|patch|delete|head|options|all)\(\s*{_Q}(?P<path>/[^\"'`]*){_Q}"
    ),
    # net/http HandleFunc("/x" or "GET /x"; gin/echo/chi r.GET("/x" / r.Get("/x"
    "Go": re.compile(
        r"\b(?:HandleFunc|Handle)\(\s*\"(?:(?P<m1>[A-Z]+)\s+)?(?P<p1>/[^\"]*)\"|"
        r"\.(?P<method>GET|POST|PUT|PATCH|DELETE|Get|Post|Put|Patch|Delete)\(\s*\"(?P<path>/[^\"]*)\""
    ),
    # Spring: @GetMapping("/x"), @RequestMapping(value = "/x", method = …)
    "Java": re.compile(
        r"@(?P<method>Get|Post|Put|Patch|Delete|Request)Mapping\(\s*(?:(?:value|path)\s*=\s*)?\{?\s*\"(?P<path>/[^\"]*)\""
    ),
    # Rails routes.rb / Sinatra: get '/x'
    "Ruby": re.compile(r"^\s*(?P<method>get|post|put|patch|delete)\s+['\"](?P<path>/?[^'\"]*)['\"]", _M),
}
_DJANGO = re.compile(r"""\b(?:re_)?path\(\s*r?["'](?P<path>[^"']*)["']""")  # urlpatterns: path("orders/<int:pk>/", …)
_PY_ROUTE_ATTRS = {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"}


def normalize_route(path: str) -> str:
    """``/Orders/{id}/`` → ``/Orders/{}``: parameters become ``{}``, one leading and no trailing slash."""
    path = _PARAM.sub("{}", path.strip().split("?")[0])
    path = "/" + path.strip("/")
    return path


@dataclass
class Inventory:
    """``symbols``: declared names (bare and ``Class.method``); ``routes``: declared (method, path) pairs."""

    languages: dict[str, int] = field(default_factory=dict)
    symbols: set[str] = field(default_factory=set)
    routes: list[RouteRef] = field(default_factory=list)
    code_paths: list[str] = field(default_factory=list)

    def declares(self, method: str, path: str) -> bool:
        """True when code declares ``path`` (normalised) for ``method`` or for any method.

        A declared path that is a trailing part of ``path`` also counts
        (``/orders/{}`` declared on a router mounted under ``/api``), except ``/``.
        """
        return any(
            r.method in (method, "ANY") and (r.path == path or (r.path != "/" and path.endswith(r.path)))
            for r in self.routes
        )

    def summary(self) -> InventorySummary:
        routes = sorted(self.routes, key=lambda r: (r.path, r.method, r.file))
        return InventorySummary(languages=dict(sorted(self.languages.items())), symbols=len(self.symbols), routes=routes)


def language_of(path: str) -> str | None:
    """The language of a file by its extension, or ``None``."""
    dot = path.rfind(".")
    return LANGUAGES.get(path[dot:].lower()) if dot > path.rfind("/") else None


def add_file(inventory: Inventory, path: str, language: str, text: str | None) -> None:
    """Count ``path`` under ``language`` and, when its text is given, collect its symbols and routes."""
    inventory.languages[language] = inventory.languages.get(language, 0) + 1
    inventory.code_paths.append(path)
    if text is None:
        return
    if language == "Python" and _add_python(inventory, path, text):
        return
    family = _FAMILY.get(language, language)
    for regex in _SYMBOL_RES.get(family, ()):
        inventory.symbols.update(m.group("name") for m in regex.finditer(text))
    route_re = _ROUTES.get(family)
    if route_re:
        for m in route_re.finditer(text):
            groups = m.groupdict()
            method = groups.get("method") or groups.get("m1") or "ANY"
            method = "ANY" if method.lower() in ("all", "request", "route") else method.upper()
            inventory.routes.append(RouteRef(method=method, path=normalize_route(groups.get("path") or groups["p1"]), file=path))


def _add_python(inventory: Inventory, path: str, text: str) -> bool:
    """Collect Python symbols and decorator routes with ``ast``, Django ``path()`` routes by regex.

    ``False`` when the file does not parse.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inventory.symbols.add(node.name)
            _python_routes(inventory, path, node)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    inventory.symbols.update((item.name, f"{node.name}.{item.name}"))
                    _python_routes(inventory, path, item)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            inventory.symbols.update(t.id for t in targets if isinstance(t, ast.Name))
    for m in _DJANGO.finditer(text):
        inventory.routes.append(RouteRef(method="ANY", path=normalize_route(m.group("path")), file=path))
    return True


def _python_routes(inventory: Inventory, path: str, node: ast.AST) -> None:
    """Flask/FastAPI/aiohttp decorators: ``@app.get("/x")``, ``@bp.route("/x", methods=[…])``."""
    for deco in getattr(node, "decorator_list", ()):
        if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)):
            continue
        attr = deco.func.attr
        if attr not in _PY_ROUTE_ATTRS or not deco.args:
            continue
        first = deco.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("/")):
            continue
        methods = [attr.upper()] if attr.upper() in HTTP_METHODS else ["ANY"]
        for kw in deco.keywords:
            if kw.arg == "methods" and isinstance(kw.value, (ast.List, ast.Tuple)):
                methods = [e.value.upper() for e in kw.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if attr == "route" and not any(kw.arg == "methods" for kw in deco.keywords):
            methods = ["GET"]  # Flask's default for @route
        for method in methods:
            inventory.routes.append(RouteRef(method=method, path=normalize_route(first.value), file=path))
