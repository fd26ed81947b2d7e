"""The package's import structure, read from the source with ast (nothing is imported).

Three rules, each offence listed with its module, line and name:

* no module imports a private name (leading underscore, not a dunder) of another module of the
  package, nor a private-named module: a helper two modules share gets a public home;
* no import cycle between modules of the package, counting imports inside functions too (they
  hide a cycle, they do not remove it). ``from playbook.x import y`` is an import of
  ``playbook.x`` (its ``__init__`` when it is a package), and also of the module ``playbook.x.y``
  when there is one; a package importing its own submodules to re-export them is fine, a
  submodule importing back the package that imports it (``from playbook.x import sibling``
  included) is a cycle: submodules import each other by their full names;
* the layers of DESIGN.md: ``playbook.stats`` imports nothing of the package but itself and
  ``playbook.errors`` (the error tree every layer raises, itself importing nothing of ours), and
  nothing pandas-facing or I/O; ``playbook.analyses`` imports neither the runner, the publisher
  nor the CLI.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "playbook"

# what playbook.stats may import besides itself: numpy, scipy and the standard library without
# its I/O modules (DESIGN.md: "never stats/ importing pandas-facing or I/O code")
STATS_THIRD_PARTY = {"numpy", "scipy"}
STATS_SHARED = {"playbook.errors"}
IO_STDLIB = {
    "csv", "glob", "http", "io", "json", "os", "pathlib", "pickle", "shelve", "shutil", "socket",
    "sqlite3", "subprocess", "tempfile", "urllib",
}
ANALYSES_FORBIDDEN = ("playbook.runner", "playbook.publish", "playbook.cli")

# offences left in modules that are being restructured elsewhere in the same change, each as
# (rule, importing module, imported module or name); none today
ALLOWED: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Import:
    line: int
    target: str  # the module of the package that is executed by this import
    names: tuple[str, ...]  # the names taken from it (empty for ``import x``)


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    imports: list[Import] = field(default_factory=list)
    external: list[tuple[int, str]] = field(default_factory=list)  # (line, top-level name)
    private_attrs: list[tuple[int, str, str]] = field(default_factory=list)  # (line, module, attr)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_names(src: Path, package: str) -> dict[str, tuple[Path, bool]]:
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


def _longest_module(dotted: str, known: set[str]) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _add_import(node: ast.Import, module: Module, package: str, known: set[str], bound: dict[str, str]) -> None:
    for alias in node.names:
        top = alias.name.split(".")[0]
        if top != package:
            module.external.append((node.lineno, top))
            continue
        target = _longest_module(alias.name, known) or alias.name
        module.imports.append(Import(node.lineno, target, ()))
        if alias.asname:
            bound[alias.asname] = target
        else:
            bound[top] = top


def _add_import_from(node: ast.ImportFrom, module: Module, package: str, known: set[str],
                     bound: dict[str, str]) -> None:
    if node.level:
        base_parts = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
        base_parts = base_parts[: len(base_parts) - (node.level - 1)]
        source = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    top = source.split(".")[0]
    if top != package:
        module.external.append((node.lineno, top))
        return
    # ``from pkg import sub`` runs pkg's __init__ and takes sub from its namespace:
    # an import of pkg, and of the submodule sub
    plain: list[str] = []
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        if submodule in known:
            module.imports.append(Import(node.lineno, submodule, ()))
            bound[alias.asname or alias.name] = submodule
        else:
            plain.append(alias.name)
    target = _longest_module(source, known) or source
    module.imports.append(Import(node.lineno, target, tuple(plain)))


def _add_private_attrs(tree: ast.AST, module: Module, known: set[str], bound: dict[str, str]) -> None:
    """``alias._name`` where ``alias`` is bound to a module of the package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            owner = _dotted(node.value)
            if owner is None:
                continue
            head, _, rest = owner.partition(".")
            if head in bound:
                target = bound[head] + ("." + rest if rest else "")
                if target in known:
                    module.private_attrs.append((node.lineno, target, node.attr))


def read_package(src: Path, package: str = PACKAGE) -> dict[str, Module]:
    """Every module of ``package`` under ``src`` with the imports its source makes."""
    found = _module_names(src, package)
    known = set(found)
    modules: dict[str, Module] = {}
    for name, (path, is_package) in found.items():
        module = Module(name, path, is_package)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        bound: dict[str, str] = {}  # local name -> module of the package it refers to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                _add_import(node, module, package, known, bound)
            elif isinstance(node, ast.ImportFrom):
                _add_import_from(node, module, package, known, bound)
        _add_private_attrs(tree, module, known, bound)
        modules[name] = module
    return modules


def _where(module: Module, line: int) -> str:
    return f"{module.name} (line {line})"


def private_imports(modules: dict[str, Module]) -> Iterator[tuple[tuple[str, str, str], str]]:
    """Private names (and private-named modules) one module takes from another."""
    for module in modules.values():
        for imp in module.imports:
            private_parts = [p for p in imp.target.split(".") if _is_private(p)]
            if private_parts and imp.target != module.name:
                yield (("private", module.name, imp.target),
                       f"{_where(module, imp.line)} imports the private module {imp.target}")
            for name in imp.names:
                if _is_private(name):
                    yield (("private", module.name, f"{imp.target}.{name}"),
                           f"{_where(module, imp.line)} imports {name} from {imp.target}")
        for line, target, attr in module.private_attrs:
            yield (("private", module.name, f"{target}.{attr}"),
                   f"{_where(module, line)} uses {target}.{attr}")


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    """The nodes above ``root`` on Tarjan's stack, ``root`` included: one strongly connected component."""
    component = []
    while True:
        top = stack.pop()
        on_stack.discard(top)
        component.append(top)
        if top == root:
            return component


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = _pop_component(stack, on_stack, node)
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def import_cycles(modules: dict[str, Module]) -> Iterator[tuple[tuple[str, str, str], str]]:
    """Each set of modules that import each other, with the imports that close the loop."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    lines: dict[tuple[str, str], int] = {}
    for module in modules.values():
        for imp in module.imports:
            if imp.target in modules and imp.target != module.name:
                graph[module.name].add(imp.target)
                lines.setdefault((module.name, imp.target), imp.line)
    for component in _strongly_connected(graph):
        members = set(component)
        edges = [
            f"{a} -> {b} (line {lines[a, b]})"
            for a in component for b in sorted(graph[a] & members)
        ]
        yield (("cycle", component[0], " ".join(component[1:])),
               f"cycle between {', '.join(component)}: " + "; ".join(edges))


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _stats_breaches(module: Module, stdlib: set[str]) -> Iterator[tuple[tuple[str, str, str], str]]:
    for imp in module.imports:
        if not _in(imp.target, "playbook.stats") and imp.target not in STATS_SHARED:
            yield (("layer", module.name, imp.target),
                   f"{_where(module, imp.line)} imports {imp.target}: playbook.stats "
                   "imports nothing of the package but itself and playbook.errors")
    for line, top in module.external:
        allowed = top in STATS_THIRD_PARTY or (top in stdlib and top not in IO_STDLIB)
        if not allowed:
            yield (("layer", module.name, top),
                   f"{_where(module, line)} imports {top}: playbook.stats imports "
                   f"only numpy, scipy and the standard library without I/O")


def layer_breaches(modules: dict[str, Module]) -> Iterator[tuple[tuple[str, str, str], str]]:
    """Imports that point up or sideways across the layers of DESIGN.md."""
    stdlib = set(sys.stdlib_module_names)
    for module in modules.values():
        if _in(module.name, "playbook.stats"):
            yield from _stats_breaches(module, stdlib)
        if _in(module.name, "playbook.analyses"):
            for imp in module.imports:
                if any(_in(imp.target, up) for up in ANALYSES_FORBIDDEN):
                    yield (("layer", module.name, imp.target),
                           f"{_where(module, imp.line)} imports {imp.target}: analyses import "
                           "neither the runner, the publisher nor the CLI")
    errors = modules.get("playbook.errors")
    if errors is not None:
        for imp in errors.imports:
            yield (("layer", errors.name, imp.target),
                   f"{_where(errors, imp.line)} imports {imp.target}: playbook.errors is the "
                   "bottom layer and imports nothing of the package")


RULES = {
    "private": private_imports,
    "cycle": import_cycles,
    "layer": layer_breaches,
}


def offences(modules: dict[str, Module], rule: str) -> list[str]:
    return sorted(message for key, message in RULES[rule](modules) if key not in ALLOWED)


@pytest.fixture(scope="module")
def package() -> dict[str, Module]:
    return read_package(SRC)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_package_imports(package: dict[str, Module], rule: str) -> None:
    found = offences(package, rule)
    assert not found, f"{len(found)} {rule} offence(s):\n" + "\n".join(found)


def test_allowed_offences_still_exist(package: dict[str, Module]) -> None:
    """An entry of ALLOWED that was fixed is removed, so the list only shrinks."""
    present = {key for rule in RULES.values() for key, _ in rule(package)}
    assert not ALLOWED - present, f"fixed, remove from ALLOWED: {sorted(ALLOWED - present)}"


def test_reader_sees_every_module(package: dict[str, Module]) -> None:
    assert {"playbook", "playbook.stats", "playbook.stats.suffstats", "playbook.cli"} <= set(package)
    assert len(package) == len(list((SRC / PACKAGE).rglob("*.py")))


# the checks themselves, on a small package written for them


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "playbook" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_checks_find_each_kind_of_offence(tmp_path: Path) -> None:
    src = _write(tmp_path, {
        "__init__.py": "",
        "errors.py": "class PlaybookError(Exception): ...\n",
        "low.py": "def _helper(): ...\n__all__ = []\n",
        "uses_private.py": "from playbook.low import _helper, __all__\n",
        "uses_attr.py": "import playbook.low as low\n\ndef f():\n    return low._helper()\n",
        "uses_private_module.py": "from playbook.stats import _arrays\n",
        "pkg/__init__.py": "from playbook.pkg.child import thing\n",
        "pkg/child.py": "def thing(): ...\n\ndef later():\n    from playbook.pkg import other\n",
        "pkg/other.py": "",
        "a.py": "from . import b\n",
        "b.py": "def f():\n    from .a import x\n",
        "stats/__init__.py": "from playbook.stats import core\n",
        "stats/core.py": "import pandas as pd\nimport numpy\nimport json\nfrom playbook.sql import q\n"
                         "from playbook.errors import PlaybookError\n",
        "stats/_arrays.py": "",
        "sql.py": "def q(): ...\n",
        "analyses/__init__.py": "",
        "analyses/x.py": "from playbook.runner.execute import run\nfrom playbook import cli\n",
        "runner/__init__.py": "",
        "runner/execute.py": "def run(): ...\n",
        "cli.py": "",
    })
    modules = read_package(src)

    private = offences(modules, "private")
    assert private == [
        "playbook.uses_attr (line 4) uses playbook.low._helper",
        "playbook.uses_private (line 1) imports _helper from playbook.low",
        "playbook.uses_private_module (line 1) imports the private module playbook.stats._arrays",
    ]
    cycles = offences(modules, "cycle")
    assert cycles == [
        "cycle between playbook.a, playbook.b: playbook.a -> playbook.b (line 1); "
        "playbook.b -> playbook.a (line 2)",
        "cycle between playbook.pkg, playbook.pkg.child: playbook.pkg -> playbook.pkg.child "
        "(line 1); playbook.pkg.child -> playbook.pkg (line 4)",
    ]
    layers = offences(modules, "layer")
    assert layers == [
        "playbook.analyses.x (line 1) imports playbook.runner.execute: analyses import neither "
        "the runner, the publisher nor the CLI",
        "playbook.analyses.x (line 2) imports playbook.cli: analyses import neither the runner, "
        "the publisher nor the CLI",
        "playbook.stats.core (line 1) imports pandas: playbook.stats imports only numpy, scipy "
        "and the standard library without I/O",
        "playbook.stats.core (line 3) imports json: playbook.stats imports only numpy, scipy "
        "and the standard library without I/O",
        "playbook.stats.core (line 4) imports playbook.sql: playbook.stats imports nothing of "
        "the package but itself and playbook.errors",
    ]


def test_checks_accept_a_clean_layout(tmp_path: Path) -> None:
    src = _write(tmp_path, {
        "__init__.py": "",
        "low.py": "def helper(): ...\n",
        "pkg/__init__.py": "from playbook.pkg.child import thing\nfrom . import other\n",
        "pkg/child.py": "from playbook.pkg.other import value\nfrom playbook.low import helper\n"
                        "def thing(): ...\n",
        "pkg/other.py": "value = 1\n",
        "stats/__init__.py": "from .core import f\n",
        "stats/core.py": "import math\nimport numpy as np\nfrom scipy import stats\n"
                         "def f(): ...\n",
    })
    modules = read_package(src)
    assert {rule: offences(modules, rule) for rule in RULES} == {rule: [] for rule in RULES}
