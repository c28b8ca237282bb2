"""The shape of octolib, checked so it cannot drift back: no import circle, honest ``__all__``
in every package.

The import graph is read from the source (the AST of every module), not from
``sys.modules``, so a circle hidden by a lazy import inside a function is not counted (it
runs only when called) while any circle at module level is, whichever module is imported
first.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import octolib

ROOT = Path(octolib.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: module level, also inside ``try`` and
    ``if`` blocks, but not under ``if TYPE_CHECKING`` and not inside functions or classes."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                stack.extend(node.body)
            stack.extend(node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                stack.extend(handler.body)
        elif isinstance(node, (ast.With, ast.For, ast.While)):
            stack.extend(node.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """``module -> octolib modules it imports at load time`` (``from pkg import sub`` counts
    as an import of ``pkg.sub`` when ``sub`` is a module, else of ``pkg``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in _top_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_cycle_finder_finds_a_planted_circle():
    # The circle issue 11 found (hidden then by a lazy import): it must be reported.
    graph = {"ops.scheduler": {"reports.runner"}, "reports.runner": {"reports.partners"},
             "reports.partners": {"ops.scheduler", "errors"}, "errors": set()}
    assert find_cycles(graph) == [["ops.scheduler", "reports.partners", "reports.runner"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_real_imports():
    graph = import_graph()
    assert "octolib.schedules" in graph["octolib.reports.partners"]
    assert "octolib.schedules" in graph["octolib.ops.scheduler"]
    assert "octolib.errors" in graph["octolib.schedules"]


def test_octolib_has_no_import_circle():
    assert find_cycles(import_graph()) == []


PACKAGES = sorted(name for name, path in _modules().items() if path.name == "__init__.py")


def _public_names(package_name: str) -> set[str]:
    """Names a package defines for its readers: not private, not a submodule, not something
    it merely imported from outside octolib (``Any``, ``Path``)."""
    package = importlib.import_module(package_name)
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    names = set()
    for n, v in vars(package).items():
        if n.startswith("_") or n in submodules or n == "annotations" or isinstance(v, type(importlib)):
            continue
        home = getattr(v, "__module__", None)
        if isinstance(home, str) and not home.startswith("octolib"):
            continue
        names.add(n)
    return names


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_exports_what_it_defines(name):
    """``__all__`` lists every public name the package offers, each one exists, none twice:
    what ``from octolib.x import *`` gives is what its docstring promises. A package that is
    only a docstring over its modules offers nothing and needs no ``__all__``."""
    package = importlib.import_module(name)
    public = _public_names(name)
    exported = getattr(package, "__all__", None)
    if exported is None:
        assert not public, f"{name} defines {sorted(public)} but has no __all__"
        return
    assert len(set(exported)) == len(exported), f"{name}.__all__ names something twice"
    assert [n for n in exported if not hasattr(package, n)] == []
    assert public <= set(exported), f"{name} defines public names missing from __all__: {sorted(public - set(exported))}"


def test_the_export_check_notices_a_missing_name(monkeypatch):
    import octolib.reports.builders as builders

    monkeypatch.setattr(builders, "EXTRA", (lambda: None), raising=False)
    builders.EXTRA.__module__ = "octolib.reports.builders"
    assert "EXTRA" in _public_names("octolib.reports.builders") - set(builders.__all__)


# -- registries ----------------------------------------------------------------------------------

REPO = ROOT.parent


def _notebook_code(path: Path) -> ast.Module:
    import json

    cells = json.loads(path.read_text())["cells"]
    return ast.parse("\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))


def _calls(tree: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def test_every_notebook_is_a_registered_page_and_every_page_has_its_notebook():
    from octolib.dashboards.registry import PAGES

    assert sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb")) == sorted(s.name for s in PAGES)


@pytest.mark.parametrize("spec", __import__("octolib.dashboards.registry", fromlist=["PAGES"]).PAGES,
                         ids=lambda s: s.name)
def test_a_page_is_one_word_used_three_times(spec):
    """``notebooks/<name>.ipynb`` imports and calls ``<name>_page``, which lives in
    ``dashboards/<name>.py`` with its builder and passes the registered title."""
    tree = _notebook_code(REPO / "notebooks" / spec.notebook)
    imported = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert {("octolib.dashboards", spec.function), (spec.module, spec.function)} & imported, imported
    assert spec.function in _calls(tree)

    source = ast.parse((ROOT / "dashboards" / f"{spec.name}.py").read_text())
    defined = {n.name for n in source.body if isinstance(n, ast.FunctionDef)}
    assert {spec.function, spec.builder} <= defined
    (function,) = [n for n in source.body if isinstance(n, ast.FunctionDef) and n.name == spec.function]
    frames = [n for n in ast.walk(function) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "page_for_settings"]
    assert [ast.literal_eval(f.args[0]) for f in frames] == [spec.title]


def test_the_navigation_is_the_registry_in_order():
    from octolib.dashboards import widgets
    from octolib.dashboards.registry import PAGES

    page = widgets.Page("Lists", "lists")
    hrefs = [a.split('"')[0] for a in page.nav.value.split('<a href="')[1:]]
    assert hrefs[: len(hrefs) - 2] == [p.notebook for p in PAGES if p.label]
    assert 'href="lists.ipynb" class="active"' in page.nav.value


def test_every_report_notebook_is_a_registered_template_and_back():
    from octolib.reports.templates import DEFAULT_TEMPLATES_DIR, TEMPLATES

    # The package ships the repository's templates (octolib/bundled/report_templates is a
    # link to report_notebooks/ in a checkout, a copy in a wheel).
    assert DEFAULT_TEMPLATES_DIR.resolve() == (REPO / "report_notebooks").resolve()
    assert sorted(p.stem for p in DEFAULT_TEMPLATES_DIR.glob("*.ipynb")) == sorted(TEMPLATES)
    assert sorted(p.stem for p in (ROOT / "reports" / "builders").glob("*.py")
                  if p.stem not in {"__init__", "common"}) == sorted(TEMPLATES)


@pytest.mark.parametrize("name", sorted(__import__("octolib.reports.templates", fromlist=["TEMPLATES"]).TEMPLATES))
def test_a_template_row_is_what_its_notebook_and_builder_say(name):
    """The notebook declares the registered parameters and opens its own template; the
    builder is ``builders/<name>.py``'s ``build`` and its ``SECTIONS`` are the registered sections."""
    import papermill

    from octolib.reports.templates import TEMPLATES

    info = TEMPLATES[name]
    path = REPO / "report_notebooks" / info.notebook
    assert list(papermill.inspect_notebook(str(path))) == list(info.parameters)
    tree = _notebook_code(path)
    opened = [ast.literal_eval(n.args[0]) for n in ast.walk(tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Attribute) and n.func.attr == "context"]
    assert opened == [name]

    # One list of sections: the registry's are the builder's SECTIONS, and the builder
    # titles a section nowhere else (no Section(...) of its own beside its SectionSpecs).
    builder = ast.parse((ROOT / "reports" / "builders" / f"{name}.py").read_text())
    calls = [n for n in ast.walk(builder) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    specs = [(ast.literal_eval(n.args[0]), ast.literal_eval(n.args[1])) for n in calls if n.func.id == "SectionSpec"]
    assert not [n for n in calls if n.func.id == "Section"]
    module = importlib.import_module(f"octolib.reports.builders.{name}")
    assert specs == [(s.name, s.title) for s in module.SECTIONS]
    assert info.sections == tuple(s.name for s in module.SECTIONS)
    assert info.builder is importlib.import_module(f"octolib.reports.builders.{name}").build


def test_the_store_declares_every_collection():
    """``Store`` declares one typed attribute per collection, so the type checker knows
    ``store.deliveries`` as well as ``store.users`` (two were missing)."""
    from octolib.store import COLLECTIONS, Store

    assert set(Store.__annotations__) - {"_server_version"} == set(COLLECTIONS)


def test_every_public_exception_of_octolib_is_an_octo_error():
    """One exception tree (STYLE.md §4): a caller catching ``OctoError`` catches every error
    octolib raises on purpose. Private ones (``_Stopped``) are control flow inside a module."""
    from octolib.errors import OctoError

    strays = []
    for name, path in _modules().items():
        if "class " not in path.read_text():
            continue
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == name
                    and not attr.startswith("_") and not issubclass(value, OctoError)):
                strays.append(f"{name}.{attr}")
    assert strays == []
