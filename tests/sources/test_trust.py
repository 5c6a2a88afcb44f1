"""The pure parts of the trust gate: discovery, inventory, document claims, contradictions, the status rule."""
from __future__ import annotations

import pytest

from bot.domain.sources import Reason
from bot.sources import contradictions
from bot.sources.dependencies import declared_names
from bot.sources.discovery import classify, is_candidate_path
from bot.sources.drift import Tree, candidates, resolve
from bot.sources.history import History
from bot.sources.inventory import Inventory, add_file, normalize_route
from bot.sources.references import extract
from bot.sources.trust import judge


@pytest.mark.parametrize(
    "path, text, kind",
    [
        ("README.md", "", "readme"),
        ("docs/CHANGELOG.md", "", "changelog"),
        ("docs/adr/0003-queue.md", "", "adr"),
        ("rfcs/0042-streaming.md", "", "rfc"),
        ("product/checkout-prd.md", "", "prd"),
        ("ARCHITECTURE.md", "", "architecture"),
        ("docs/orders-spec.rst", "", "spec"),
        ("plans/roadmap-2026.md", "", "plan"),
        ("TODO.md", "", "tasks"),
        ("docs/getting-started.adoc", "", "guide"),
        ("notes.md", "# Notes\n\n- [ ] ship it\n- [x] plan it\n", "tasks"),
        ("notes.md", "---\ntitle: Payments\nstatus: draft\n---\nText\n", "other"),
        ("notes.md", "# Product requirements for search\n", "prd"),
        ("api.yaml", "openapi: 3.1.0\ninfo: {}\n", "spec"),
        ("notes/notes.md", "Just a note.\n", None),
        ("NOTES.md", "Just a note.\n", "other"),  # top-level Markdown is the project's own document
        ("COMMANDS.md", "", "guide"),
        ("MAINTENANCE.md", "", "guide"),
        ("CODE_OF_CONDUCT.md", "", None),
        ("notes.txt", "Just a note.\n", None),
        (".github/workflows/ci.yml", "on: push\n", None),
        ("config/app.yml", "debug: true\n", None),
        # YAML in a documentation folder is judged by its content too: a site's or a linter's config is no source
        ("docs/_config.yml", 'title: "MADR"\ntheme: just-the-docs\n', None),
        ("docs/decisions/.markdownlint.yml", "MD013: false\n", None),
        ("docs/api/openapi.yaml", "openapi: 3.1.0\ninfo: {}\n", "spec"),
        ("docs/proposals/0007-cache.yml", "title: Cache\nstatus: accepted\n", "other"),
    ],
)
def test_classify(path, text, kind):
    claims = extract(path, text)
    found = classify(path, text, title=claims.title, headings=claims.headings, meta_keys=claims.meta_keys,
                     checkboxes=claims.checkboxes)
    assert (found if is_candidate_path(path) else None) == kind


def test_requirements_txt_and_license_are_not_documents():
    assert not is_candidate_path("requirements-dev.txt")
    assert not is_candidate_path("LICENSE.txt")
    assert is_candidate_path("docs/brief.pdf") and is_candidate_path("TODO") and is_candidate_path("pkg/README")
    assert not is_candidate_path("docs/logo.png") and not is_candidate_path("docs/conf.py")
    assert not is_candidate_path("docs/Makefile")


@pytest.mark.parametrize(
    "raw, normal",
    [("/api/orders/{id}/", "/api/orders/{}"), ("/api/orders/:id", "/api/orders/{}"),
     ("/api/orders/<int:id>", "/api/orders/{}"), ("api/orders/[id]", "/api/orders/{}"), ("/", "/")],
)
def test_normalize_route(raw, normal):
    assert normalize_route(raw) == normal


SOURCES = {
    ("app.py", "Python"): '''
from fastapi import APIRouter
router = APIRouter()
TIMEOUT = 5

@router.post("/api/carts/{cart_id}/items")
async def add_item(cart_id: int): ...

class Cart:
    def total(self): ...

@bp.route("/health", methods=["GET", "HEAD"])
def health(): ...

urlpatterns = [path("orders/<int:pk>/", view)]
''',
    ("server.ts", "TypeScript"): '''
export async function createOrder(req, res) {}
export class OrderService {}
export const PAGE = 10;
router.delete('/api/orders/:id', handler);
app.get(`/api/status`, h);
''',
    ("main.go", "Go"): '''
func (s *Server) ServeOrders(w http.ResponseWriter, r *http.Request) {}
type Order struct {}
mux.HandleFunc("GET /api/go/{id}", h)
http.HandleFunc("/legacy", h)
r.POST("/api/gin", h)
''',
    ("Ctl.java", "Java"): '''
public class OrderController {
    @GetMapping("/api/java/{id}")
    public Order findOrder(@PathVariable long id) { return null; }
    @RequestMapping(value = "/api/any")
}
''',
    ("routes.rb", "Ruby"): "class Shop\n  def checkout!\n  end\nend\nget '/api/rb/:id'\n",
}


def test_inventory_symbols_and_routes_across_languages():
    inventory = Inventory()
    for (path, language), text in SOURCES.items():
        add_file(inventory, path, language, text)
    assert {"add_item", "Cart", "Cart.total", "total", "TIMEOUT", "health", "createOrder", "OrderService", "PAGE",
            "ServeOrders", "Order", "OrderController", "findOrder", "Shop", "checkout!"} <= inventory.symbols
    assert {(r.method, r.path) for r in inventory.routes} == {
        ("POST", "/api/carts/{}/items"), ("GET", "/health"), ("HEAD", "/health"), ("ANY", "/orders/{}"),
        ("DELETE", "/api/orders/{}"), ("GET", "/api/status"), ("GET", "/api/go/{}"), ("ANY", "/legacy"),
        ("POST", "/api/gin"), ("GET", "/api/java/{}"), ("ANY", "/api/any"), ("GET", "/api/rb/{}"),
    }
    assert inventory.declares("PUT", "/orders/{}") and not inventory.declares("PUT", "/health")
    assert inventory.declares("GET", "/v2/api/java/{}") and not inventory.declares("GET", "/api/java")
    assert inventory.languages == {"Python": 1, "TypeScript": 1, "Go": 1, "Java": 1, "Ruby": 1}


PY_ROUTERS = '''"""Routes: path("docstring/<int:pk>/", view) is prose here."""
import os
import requests as http_client
from aiohttp import web
from flask import Flask

# urlpatterns = [path("commented/<int:pk>/", view)]
app = Flask(__name__)
app.add_url_rule("/flask/rule", "rule", view)
app.add_url_rule("/flask/both", view_func=view, methods=["GET", "POST"])
fast.add_api_route("/fast/items", items, methods=["PUT"])
routes = [web.get("/aio/web", h), web.route("PATCH", "/aio/any", h), web.view("/aio/view", View)]
LABEL = "path('in/a/string/', view)"


def make_app():
    application = web.Application()
    application.router.add_get("/healthz", healthz)
    application.router.add_post("/webhook", webhook)
    application.router.add_route("DELETE", "/aio/route/{id}", h)
    http_client.get("/api/users")  # a client call, not a route
    return application


try:
    import tomllib
    FAST = True
except ImportError:
    FAST = False
if os.environ.get("X"):
    def optional_helper(): ...


class GenerateConfig:
    refine_rounds: int = 2
    budget = 10


def fail():
    raise CodexError("no sandbox", error_type="SandboxUnavailable")
'''


def test_python_routes_are_read_from_the_syntax_tree_only():
    inventory = Inventory()
    add_file(inventory, "app.py", "Python", PY_ROUTERS)
    assert sorted((r.method, r.path) for r in inventory.routes) == [
        ("ANY", "/aio/view"), ("DELETE", "/aio/route/{}"), ("GET", "/aio/web"), ("GET", "/flask/both"),
        ("GET", "/flask/rule"), ("GET", "/healthz"), ("PATCH", "/aio/any"), ("POST", "/flask/both"),
        ("POST", "/webhook"), ("PUT", "/fast/items"),
    ]


def test_python_names_fields_imports_and_nested_definitions():
    inventory = Inventory()
    add_file(inventory, "config.py", "Python", PY_ROUTERS)
    assert {"refine_rounds", "GenerateConfig.refine_rounds", "budget", "app", "routes", "LABEL", "web", "Flask",
            "FAST", "optional_helper", "make_app"} <= inventory.symbols
    assert {"os", "http_client", "tomllib"} <= inventory.modules
    claims = extract("README.md", "Set `refine_rounds`, read `os.environ`, `http_client.get` and `http.extraHeader`, "
                                  "`SandboxUnavailable`, `requests.get`, `ValueError`; call `optional_helper()` but "
                                  "not `missing_thing()`.\n")
    foreign = declared_names({"requirements.txt": "requests>=2  # HTTP\n"})
    res = resolve("README.md", claims, Tree.of(set()), History(), set(), inventory, foreign)
    assert [r.text for r in res.unknown_identifiers] == ["missing_thing"]


def test_client_calls_and_comments_are_not_routes_in_other_languages():
    inventory = Inventory()
    add_file(inventory, "client.js", "JavaScript", """import axios from 'axios';
// app.get('/commented', h)
/* router.post('/block-commented', h) */
const url = "http://example.com/x"; app.get('/after-url', h);
axios.get("/api/users"); fetch('/api/orders'); request(app).get('/api/test');
router.route('/chained').get(list).post(create);
ordersRouter2.delete('/numbered', h); apiClient.get('/api/client');
""")
    add_file(inventory, "client.go", "Go", 'resp, _ := http.Get("/api/go-client")\n// r.GET("/commented", h)\n')
    add_file(inventory, "routes.rb", "Ruby", "# get '/commented'\nget '/rb'\n")
    assert sorted((r.method, r.path) for r in inventory.routes) == [
        ("ANY", "/chained"), ("DELETE", "/numbered"), ("GET", "/after-url"), ("GET", "/rb")]
    assert "axios" in inventory.modules


def test_routes_of_test_doubles_and_catch_alls_do_not_declare_product_routes():
    inventory = Inventory()
    add_file(inventory, "tests/support/fake_github.py", "Python", 'app.router.add_get("/repos/{owner}", h)\n')
    add_file(inventory, "web/orders.test.ts", "TypeScript", "app.get('/api/fake', h);\n")
    assert inventory.routes == []
    add_file(inventory, "proxy.py", "Python", 'app.router.add_route("*", "/{tail:.*}", h)\n')
    assert [(r.method, r.path) for r in inventory.routes] == [("ANY", "/{}")]
    assert inventory.declares("GET", "/{}") and not inventory.declares("GET", "/repos/{}")


def test_python_that_does_not_parse_falls_back_to_nothing_but_is_counted():
    inventory = Inventory()
    add_file(inventory, "broken.py", "Python", "def (:\n")
    assert inventory.languages == {"Python": 1} and inventory.symbols == set()


DOC = """---
title: Orders
status: Draft
---
# Orders

See [the service](../src/orders.py#L3), [site](https://example.com) and `lib/util/`.
Call `create_order()` or `OrderService.create`; `billing.py` holds `chargeCard`. Words like `true` and
`MAX_ITEMS` are not identifiers.

- `PUT /api/orders/:id` returns 200 or 404
- RETRY_LIMIT = 3
- `timeout` defaults to `30s`.

```
GET /api/inside-fence
`not_an_identifier_in_fence`
```
"""


def test_claims_of_a_document():
    claims = extract("docs/orders.md", DOC)
    assert [(r.text, r.line, r.linked) for r in claims.paths] == [("../src/orders.py", 7, True), ("lib/util/", 7, False)]
    assert [r.text for r in claims.basenames] == ["billing.py"]
    assert [r.text for r in claims.identifiers] == ["create_order", "OrderService.create", "chargeCard"]
    assert [(r.method, r.path, r.codes, r.line) for r in claims.routes] == [
        ("PUT", "/api/orders/{}", ("200", "404"), 11), ("GET", "/api/inside-fence", (), 16)]
    assert claims.settings == {"RETRY_LIMIT": ("3", 12), "timeout": ("30s", 13)}
    assert (claims.declared.word, claims.declared.evidence) == ("draft", "line 3: front matter status: Draft")


@pytest.mark.parametrize("title", ["# Orders API (Deprecated)", "# [WITHDRAWN] Orders API", "Orders API (deprecated)\n==="])
def test_lifecycle_marker_in_the_title(title):
    assert extract("a.md", f"{title}\n\nText.\n").declared.word in ("deprecated", "withdrawn")


@pytest.mark.parametrize(
    "text",
    [
        "# How we deprecated the old API\n",
        "# Cache\n\nThe cache is replaced by Redis in v2.\n",  # prose, not a marker
        "# Flags\n\nCurrent flags.\n\n## Deprecated: the v1 flags\n\n- `--old`\n",  # a subheading, not the title
        "## Deprecated: Orders API\n\nText.\n",  # the first heading is no title unless level 1
        "# Order\n\n## Fields\n\n- id: int\n- status: draft | paid\n",  # a field list in a section
        "# Order\n\nOrders move on.\n\n## Lifecycle\n\nStatus: withdrawn when cancelled.\n",
        "# Setup\n\n```sh\n# Deprecated: old flags\nstatus: superseded\n```\n",  # inside a code fence
    ],
)
def test_lifecycle_words_outside_the_marker_places_do_not_count(text):
    assert extract("a.md", text).declared is None


@pytest.mark.parametrize(
    "text, state, evidence",
    [
        ("# ADR 3\n\n* Status: Deprecated\n* Date: 2024-01-01\n\n## Context\n", "deprecated",
         "line 3: header block status: Deprecated"),
        ("Orders\n======\n\n:Status: Draft\n\nSection\n-------\n", "draft", "line 4: header block status: Draft"),
        ("---\ntitle: X\nsuperseded_by: adr/9.md\n---\n# X\n", "superseded", "line 3: front matter: superseded by adr/9.md"),
        ("# ADR 4 (replaced by ADR 7)\n\nText.\n", "replaced", "line 1: title: ADR 4 (replaced by ADR 7)"),
    ],
)
def test_lifecycle_marker_places(text, state, evidence):
    declared = extract("a.md", text).declared
    assert (declared.word, declared.evidence) == (state, evidence)


def test_rst_and_asciidoc_links():
    rst = extract("docs/a.rst", "See `the app <../app/main.py>`_.\n")  # read by docutils
    adoc = extract("docs/b.adoc", "See link:../app/main.py[the app] and xref:c.adoc[C].\n")
    assert ([r.text for r in rst.paths], [r.text for r in adoc.paths]) == (["../app/main.py"], ["../app/main.py", "c.adoc"])
    assert candidates("docs/a.rst", "../app/main.py") == ["app/main.py"]


def test_superseded_by_link_and_status_heading():
    declared = extract("adr/1.md", "# ADR 1\n\nStatus: Accepted\n\nSuperseded by `adr/2.md`.\n").declared
    assert (declared.word, declared.cls, declared.successor) == ("superseded", "retired", "adr/2.md")
    withdrawn = extract("prd.md", "# PRD\n\n## Status\n\nWithdrawn in March\n").declared
    assert (withdrawn.word, withdrawn.evidence) == ("withdrawn", "line 5: Status section: Withdrawn in March")


@pytest.mark.parametrize(
    "line",
    ["NOTE: this changes", "TODO: write more", "WARNING: slow", "IMPORTANT: read this", "> **Note:** x",
     "This defaults to 30.", "It defaults to `true`.", "Which defaults to off."],
)
def test_admonitions_and_pronouns_are_not_settings(line):
    assert extract("a.md", f"# A\n\n{line}\n").settings == {}


def test_line_numbers_are_those_of_the_original_text():
    text = "# A\n\n```sh\nrun\n```\n\nRETRY_LIMIT = 3\n\n`timeout` defaults to 5.\n\n## Status\n\nDraft\n"
    claims = extract("a.md", text)
    assert claims.settings == {"RETRY_LIMIT": ("3", 7), "timeout": ("5", 9)}
    assert claims.declared.evidence == "line 13: Status section: Draft"


def test_paths_outside_the_tree_dotfiles_and_unknown_file_names_are_not_claims():
    claims = extract("README.md", "See `../shared/docs/DESIGN.md`, `./.env`, `.env`, `/etc/hosts`, "
                                  "[up](../other/x.md), `config.nu` and `docs/`; `./app/main.py`.\n")
    assert ([r.text for r in claims.basenames], claims.identifiers) == ([], [])
    resolved = [c for r in claims.paths for c in candidates("README.md", r.text)]
    assert resolved == ["docs", "app/main.py"]  # the others leave the tree or are dotfiles
    inside = extract("docs/a/b.md", "See `../../app/main.py`, `../../../x.py` and `lib/../../y.py`.\n")
    assert [c for r in inside.paths for c in candidates("docs/a/b.md", r.text)] == ["app/main.py", "docs/y.py"]


def test_contradictions_name_both_documents():
    found = contradictions.find({
        "a.md": extract("a.md", "`GET /x/{id}` returns 200\n\n`limit` defaults to 10.\n"),
        "b.md": extract("b.md", "GET /x/:id → 404\n\n`limit` defaults to 10.\n"),
        "c.md": extract("c.md", "GET /x/:id returns 200\n"),
    })
    assert [r.evidence for r in found["b.md"]] == [[
        "b.md line 1: GET /x/:id → 404", "a.md line 1: GET /x/{id} → 200", "c.md line 1: GET /x/:id → 200"]]
    assert [r.evidence for r in found["a.md"]] == [["a.md line 1: GET /x/{id} → 200", "b.md line 1: GET /x/:id → 404"]]
    assert all(r.code == "contradiction-route" for rs in found.values() for r in rs)


def test_overlapping_codes_later_routes_and_superseded_wording_are_no_contradiction():
    found = contradictions.find({
        "a.md": extract("a.md", "`GET /x` returns 200.\n"),
        "b.md": extract("b.md", "`GET /x` returns 200 or 404.\n"),
        "c.md": extract("c.md", "`GET /x` and `GET /y` (404 when missing).\n"),
    })
    assert found == {}
    claims = extract("c.md", "`GET /x` and `GET /y` → 404; `POST /x` 201\n")
    assert [(r.raw, r.codes) for r in claims.routes] == [("GET /x", ()), ("GET /y", ("404",)), ("POST /x", ("201",))]


def _r(severity, penalty=0.0):
    return Reason(code="x", severity=severity, penalty=penalty, message="m")


@pytest.mark.parametrize(
    "reasons, expected",
    [
        ([], (1.0, "trusted")),
        ([_r("info")], (1.0, "trusted")),
        ([_r("warn", 0.1)], (0.9, "suspect")),
        ([_r("stale", 0.5)], (0.5, "stale")),
        ([_r("warn", 0.3), _r("warn", 0.3)], (0.4, "suspect")),  # warnings never add up to stale
        ([_r("warn", 0.6), _r("warn", 0.6)], (0.0, "suspect")),
        ([_r("exclude"), _r("warn", 0.1)], (0.0, "excluded")),
    ],
)
def test_status_rule(reasons, expected):
    assert judge(reasons) == expected
