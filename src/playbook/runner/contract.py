"""The notebook contract: what every template notebook is, checked without running it.

    check_template(path)       the problems of one notebook (empty: it keeps the contract)
    check_templates(folder)    the problems of every notebook in a folder, by template name

``playbook template check`` and tests/test_notebook_contract.py call them. The rules, each
problem tagged with its rule's name:

    title       the first cell is Markdown: a ``# Title`` and a sentence saying which question
                the template answers
    parameters  the first code cell is tagged ``parameters`` (and no other cell is); every
                parameter has a default, a type hint and a comment, read (with its bound) by
                :mod:`playbook.runner.templates`, which also requires the campaign context block
    logic       the parameters cell holds only ``name: type = literal  # comment`` lines and
                comments
    record      the last code cell ends with the notebook's one ``report.record(result,
                template="<name>", campaign=campaign, run_id=run_id, output_dir=output_dir,
                report_name=report_name)``; no other ``record`` or ``record_outcome`` call
    result      the template's result class (:func:`playbook.analyses.base.register_result`)
                offers every member of :class:`~playbook.analyses.base.Result`, its
                ``decision`` typed as the template's decision enum
    tones       the template has a decision enum (:data:`~playbook.analyses.base.DECISIONS`)
                and every word of it a tone (:data:`~playbook.analyses.base.TONES`)
    clean       valid nbformat, stored without outputs or execution counts, at most
                :data:`MAX_CODE_CELLS` code cells (logic belongs in the package)
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from playbook.analyses import base
from playbook.errors import TemplateError
from playbook.runner.templates import load_template

MAX_CODE_CELLS = 14
#: The keywords of the closing ``report.record`` call that pass the campaign context on.
RECORD_CONTEXT = ("campaign", "run_id", "output_dir", "report_name")
_RECORD_CALL = ('report.record(result, template="{name}", campaign=campaign, run_id=run_id, '
                "output_dir=output_dir, report_name=report_name)")


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``notebooks/x.ipynb: cell 3 ("..."): what is wrong; what to do``."""

    rule: str  # title, parameters, logic, record, result, tones, clean (module docstring)
    notebook: str
    where: str  # the cell (``cell 3 ("first line")``), or "" for the notebook as a whole
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.notebook, self.where, self.message) if part)


def _cell_name(index: int, cell: Any) -> str:
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    if len(first) > 40:
        first = first[:39] + "…"
    return f'cell {index + 1} ("{first}")' if first else f"cell {index + 1}"


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:  # IPython syntax (magics): what the kernel would run
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None


class _Checker:
    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self.problems: list[Problem] = []

    def add(self, rule: str, where: str, message: str) -> None:
        self.problems.append(Problem(rule, str(self.path), where, message))

    # -- title, parameters cell, logic -----------------------------------------------------------
    def title(self, cells: list[Any]) -> None:
        fix = (f"open the notebook with a Markdown cell: '# {self.name.replace('_', ' ').capitalize()}' "
               "and one sentence saying which question the template answers")
        if not cells or cells[0].cell_type != "markdown":
            self.add("title", _cell_name(0, cells[0]) if cells else "", f"no title cell; {fix}")
            return
        lines = [line.strip() for line in cells[0].source.splitlines() if line.strip()]
        if not lines or not lines[0].startswith("# "):
            self.add("title", _cell_name(0, cells[0]), f"the first line is not a '# ' title; {fix}")
        if not any(not line.startswith("#") for line in lines):
            self.add("title", _cell_name(0, cells[0]), f"no sentence under the title; {fix}")

    def parameters_cell(self, cells: list[Any]) -> tuple[int, Any] | None:
        code = [(i, c) for i, c in enumerate(cells) if c.cell_type == "code"]
        if not code:
            self.add("parameters", "", "no code cell; add a code cell tagged 'parameters'")
            return None
        index, first = code[0]
        if "parameters" not in first.metadata.get("tags", []):
            self.add("parameters", _cell_name(index, first),
                     "the first code cell is not tagged 'parameters'; tag it in JupyterLab's "
                     "property inspector (or move the parameters cell up)")
        return index, first

    def parameters(self, where: str) -> None:
        try:
            template = load_template(self.path)
        except TemplateError as exc:
            self.add("parameters", where, str(exc).removeprefix(f"{self.path}: "))
            return
        for p in template.parameters.values():
            if p.type_name in ("None", ""):
                self.add("parameters", where, f"parameter '{p.name}' has no type hint; write "
                         f"`{p.name}: <type> = {p.default_source}  # ...`")
            if not p.help:
                self.add("parameters", where, f"parameter '{p.name}' has no comment; end its line "
                         "with `# what it is` (and a bound such as `[min 1]` for a number or a choice)")

    def logic(self, where: str, source: str) -> None:
        tree = _parse(source)
        if tree is None:
            self.add("logic", where, "the cell is not valid Python; write one "
                     "`name: type = value  # comment` per line")
            return
        lines = source.splitlines()
        for node in tree.body:
            text = f"line {node.lineno} (`{lines[node.lineno - 1].strip()}`)"
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is None:
                    self.add("parameters", where, f"{text}: parameter '{node.target.id}' has no "
                             "default; give it a working default")
                elif not _literal(node.value):
                    self.add("logic", where, f"{text}: the default of '{node.target.id}' is computed; "
                             "write a literal value and compute in the next cell")
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and _literal(node.value)):
                continue  # a parameter without a type hint: reported with the parameters
            else:
                self.add("logic", where, f"{text} is not a parameter; the parameters cell holds only "
                         "`name: type = value  # comment` lines and comments: move it to the next cell")

    # -- the closing record call -----------------------------------------------------------------
    def record(self, cells: list[Any]) -> None:
        fix = f"end the last code cell with `{_RECORD_CALL.format(name=self.name)}`"
        code = [(i, c) for i, c in enumerate(cells) if c.cell_type == "code" and c.source.strip()]
        calls: list[tuple[int, Any, ast.Call]] = []
        trees = {index: _parse(cell.source) for index, cell in code}
        for index, cell in code:
            tree = trees[index]
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Call) and _called(node) in ("record", "record_outcome"):
                    calls.append((index, cell, node))
        for index, cell, call in calls:
            if _called(call) == "record_outcome":
                self.add("record", _cell_name(index, cell), "record_outcome(...) writes an outcome "
                         "by hand; the notebook records its result: " + fix)
        records = [(i, c, call) for i, c, call in calls if _called(call) == "record"]
        if not records:
            self.add("record", "", f"no report.record(...) call; {fix}")
            return
        for index, cell, _ in records[:-1]:
            self.add("record", _cell_name(index, cell), "a second report.record(...) call; a "
                     "notebook records its outcome once, at the end: remove this one")
        index, cell, call = records[-1]
        tree = trees[index]
        last = tree.body[-1] if tree is not None and tree.body else None
        ends = isinstance(last, ast.Expr) and last.value is call
        if index != code[-1][0] or not ends:
            self.add("record", _cell_name(index, cell), f"report.record(...) is not the notebook's "
                     f"last statement; {fix}")
        self.record_arguments(_cell_name(index, cell), call, fix)

    def record_arguments(self, where: str, call: ast.Call, fix: str) -> None:
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if len(call.args) != 1:
            self.add("record", where, f"report.record takes the result as its one positional "
                     f"argument; {fix}")
        template = keywords.get("template")
        if not (isinstance(template, ast.Constant) and template.value == self.name):
            self.add("record", where, f"template= must be \"{self.name}\" (the notebook's name), so "
                     f"that the outcome is filed under its template; {fix}")
        for key in RECORD_CONTEXT:
            value = keywords.get(key)
            if not (isinstance(value, ast.Name) and value.id == key):
                self.add("record", where, f"{key}={key} is missing: the outcome must carry the "
                         f"campaign context the runner injects; {fix}")

    # -- result class and decisions --------------------------------------------------------------
    def result(self) -> None:
        try:
            cls = base.result_class(self.name)
        except TemplateError as exc:
            self.add("result", "", str(exc))
            return
        if cls is None:
            self.add("result", "", f"no result class is registered for '{self.name}'; decorate the "
                     f"class its analysis returns with @register_result(\"{self.name}\") "
                     "(playbook.analyses.base), in its package under src/playbook/analyses/")
        else:
            for message in result_problems(self.name, cls):
                self.add("result", "", message)
        enum = base.DECISIONS.get(self.name)
        if enum is None:
            self.add("tones", "", f"no decision enum is registered for '{self.name}'; register it "
                     f"with register_decisions(\"{self.name}\", <Enum>, {{<word>: Tone...}}) "
                     "beside its result")
            return
        for member in enum:
            if member.value not in base.TONES:
                self.add("tones", "", f"the decision '{member.value}' of {enum.__name__} has no tone; "
                         "give it one in register_decisions (good, bad, neutral or invalid)")

    # -- stored clean ----------------------------------------------------------------------------
    def clean(self, nb: Any) -> None:
        try:
            nbformat.validate(nb)
        except nbformat.ValidationError as exc:
            self.add("clean", "", f"not a valid notebook ({exc.message}); save it again from JupyterLab")
        code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        for index, cell in code:
            if cell.get("outputs") or cell.get("execution_count") is not None:
                self.add("clean", _cell_name(index, cell), "stored with outputs or an execution "
                         "count; clear them (`jupyter nbconvert --clear-output --inplace "
                         f"{self.path}`) before committing")
        if len(code) > MAX_CODE_CELLS:
            self.add("clean", "", f"{len(code)} code cells (at most {MAX_CODE_CELLS}); keep the "
                     "template thin: move logic into its analysis package")


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def result_problems(template: str, cls: type) -> list[str]:
    """What ``cls`` lacks of :class:`playbook.analyses.base.Result` for ``template``: every
    method callable without arguments, ``decision`` a property or field typed as the template's
    decision enum."""
    out: list[str] = []
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    name = cls.__name__
    for member, spec in vars(base.Result).items():
        if member.startswith("_"):
            continue
        found = inspect.getattr_static(cls, member, None)
        if isinstance(spec, property):
            if not isinstance(found, property) and member not in fields:
                out.append(f"{name} has no '{member}' (a property or field; Result protocol)")
                continue
            want = base.DECISIONS.get(template)
            got = _decision_type(cls, found)
            if want is not None and got is not None and got is not want:
                out.append(f"{name}.{member} is typed {getattr(got, '__name__', got)}; it must be "
                           f"the template's decision enum {want.__name__}")
            continue
        if not inspect.isfunction(found):
            out.append(f"{name} has no method {member}() (Result protocol); add it")
            continue
        required = [p for p in list(inspect.signature(found).parameters.values())[1:]
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if required:
            out.append(f"{name}.{member}() needs {', '.join(p.name for p in required)}; the "
                       "Result protocol calls it without arguments")
    return out


def _decision_type(cls: type, found: Any) -> Any:
    try:
        if isinstance(found, property) and found.fget is not None:
            return typing.get_type_hints(found.fget).get("return")
        return typing.get_type_hints(cls).get("decision")
    except Exception:  # a hint that does not resolve outside TYPE_CHECKING: not checked
        return None


def check_template(path: str | Path, name: str | None = None) -> list[Problem]:
    """Every rule ``path`` breaks (module docstring); ``name`` is its template (the file's stem)."""
    path = Path(path)
    checker = _Checker(path, name or path.stem)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook, not readable
        checker.add("clean", "", f"cannot read the notebook ({exc}); save it again from JupyterLab")
        return checker.problems
    checker.clean(nb)
    checker.title(nb.cells)
    found = checker.parameters_cell(nb.cells)
    if found is not None:
        where = _cell_name(*found)
        checker.parameters(where)
        checker.logic(where, found[1].source)
    checker.record(nb.cells)
    checker.result()
    return checker.problems


def check_templates(notebooks_dir: str | Path, names: list[str] | None = None) -> dict[str, list[Problem]]:
    """The problems of the notebooks in ``notebooks_dir`` (all, or those of ``names``)."""
    root = Path(notebooks_dir)
    paths = sorted(root.glob("*.ipynb")) if not names else [root / f"{n}.ipynb" for n in names]
    for path in paths:
        if not path.is_file():
            raise TemplateError(f"{path}: template notebook not found; `playbook list` shows the "
                                "templates")
    return {path.stem: check_template(path) for path in paths}


__all__ = ["MAX_CODE_CELLS", "Problem", "check_template", "check_templates",
           "result_problems"]
