"""Discover templates and read their parameters from the notebooks themselves.

A template is ``notebooks/<name>.ipynb`` with exactly one cell tagged ``parameters``. Its
parameters, their type hints, defaults and help comments are read with papermill's inspection
(the parameters cell is the single source of truth: no second list is kept by hand).

A parameter's comment may end with a **bound** in square brackets, checked against a spec's
value before any kernel starts (:func:`playbook.runner.spec.load_spec`) and shown by
``playbook list``::

    window_hours: float = 720.0  # hours allowed from entry to each step [> 0, max 87600]
    min_segment_users: int = 30  # smallest segment that is tested [min 1]
    steps: list = ["visit", "apply"]  # funnel events, in order [len min 2]
    sla_hours: dict = {"submit": 1.0}  # SLA per step, hours [each > 0]
    order: str = "ordered"  # how steps follow each other [one of ordered, strict, any]

A bound is comma-separated conditions ``OP NUMBER``: ``> x`` (above x), ``< x`` (below x),
``min x`` (x or more), ``max x`` (x or less), on the value of an ``int`` or ``float`` parameter
(which must then be finite); ``len OP NUMBER`` on the length of a ``list``, ``dict`` or ``str``;
``each OP NUMBER`` on every item of a list or value of a dict (``None`` items are skipped: "no
limit"). Or ``one of A, B, ...`` for a ``str`` (``""`` is the empty string). ``>=`` and ``<=``
are not used: papermill cannot read a parameter line with a second ``=``. A bracket that does
not read as a bound, does not fit the type, or that the default breaks is a
:class:`TemplateError` when the template is read.

Some parameters carry the campaign's context and are injected by the runner, never set in a
spec: :data:`CONTEXT_PARAMETERS`.
"""

from __future__ import annotations

import ast
import io
import json
import math
import operator
import re
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from playbook.errors import TemplateError
from playbook.project import ROOT_ENV, paths

#: Parameters the runner injects into every template (declared in each parameters cell so the
#: notebook also runs on its own in JupyterLab).
CONTEXT_PARAMETERS: tuple[str, ...] = (
    "campaign",
    "run_id",
    "report_name",
    "spec_path",
    "output_dir",
    "data_dir",
    "sources",
    "language",
)



_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "min": operator.ge, "max": operator.le, ">": operator.gt, "<": operator.lt}
_PHRASE = {"min": "at least", "max": "at most", ">": ">", "<": "<"}
_CONDITION = re.compile(r"^(?:(len|each)\s+)?(min|max|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$")
_BOUND_AT_END = re.compile(r"\s*\[([^\[\]]*)\]\s*$")
_NUMBER_TYPES = ("int", "float")
_SIZED_TYPES = ("list", "dict", "str", "tuple")


def _number(x: float) -> str:
    return f"{x:g}" if x != int(x) or abs(x) >= 1e15 else str(int(x))


@dataclass(frozen=True)
class Bound:
    """A parameter's bound, read from ``[...]`` at the end of its comment (module docstring).

    ``conditions``: (subject, op, limit) with subject ``value``, ``len`` or ``each``;
    ``choices``: the allowed strings of a ``one of`` bound (empty otherwise); ``text``: the
    bound as written, without the brackets.
    """

    text: str = field(compare=False)
    conditions: tuple[tuple[str, str, float], ...] = ()
    choices: tuple[str, ...] = ()

    def subjects(self) -> set[str]:
        return {s for s, _, _ in self.conditions} | ({"one of"} if self.choices else set())

    def check(self, value: Any) -> str | None:
        """Why ``value`` breaks the bound (a phrase such as "must be >= 1"), or None."""
        if self.choices:
            if value not in self.choices:
                return "must be one of " + ", ".join(repr(c) for c in self.choices)
            return None
        for subject, op, limit in self.conditions:
            why = _SUBJECTS.get(subject, _check_each)(value, op, limit)
            if why:
                return why
        return None


def _check_number(value: Any, op: str, limit: float) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # the type check reports it
    if not math.isfinite(value):
        return "must be a finite number"
    if not _OPS[op](value, limit):
        return f"must be {_PHRASE[op]} {_number(limit)}"
    return None


def _check_len(value: Any, op: str, limit: float) -> str | None:
    if hasattr(value, "__len__") and not _OPS[op](len(value), limit):
        return _length_phrase(op, limit, len(value))
    return None


def _check_each(value: Any, op: str, limit: float) -> str | None:
    items = (list(value.items()) if isinstance(value, dict) else
             list(enumerate(value)) if isinstance(value, list | tuple) else [])
    for where, item in items:
        if item is None:
            continue
        at = f"for {where!r}" if isinstance(value, dict) else f"at position {where}"
        number = isinstance(item, int | float) and not isinstance(item, bool)
        if not number or not math.isfinite(item) or not _OPS[op](item, limit):
            return (f"every value must be {_PHRASE[op]} {_number(limit)}, got "
                    f"{item!r} {at}")
    return None


#: The check of each subject of a bound's conditions (``each`` for every other).
_SUBJECTS = {"value": _check_number, "len": _check_len}


def _length_phrase(op: str, limit: float, n: int) -> str:
    k = int(limit)
    want = {"min": f"at least {k}", ">": f"more than {k}", "max": f"at most {k}",
            "<": f"fewer than {k}"}[op]
    return f"needs {want} items (has {n})"


def parse_bound(text: str) -> Bound:
    """A :class:`Bound` from its text without the brackets; ``ValueError`` if it does not read."""
    body = text.strip()
    if body.startswith("one of"):
        words = [w.strip() for w in body[len("one of"):].split(",")]
        if not words or not all(words):
            raise ValueError("give the choices after 'one of', separated by commas")
        return Bound(body, choices=tuple("" if w in ('""', "''") else w for w in words))
    if "=" in body:
        raise ValueError("write 'min x' for '>= x' and 'max x' for '<= x' (papermill cannot read "
                         "a parameter line with a second '=')")
    conditions = []
    for part in body.split(","):
        m = _CONDITION.match(part.strip())
        if not m:
            raise ValueError(f"'{part.strip()}' is not a condition such as '> 0', 'max 87600', "
                             "'len min 2', 'each > 0' (or write 'one of a, b')")
        conditions.append((m.group(1) or "value", m.group(2), float(m.group(3))))
    return Bound(body, conditions=tuple(conditions))


@dataclass(frozen=True)
class Parameter:
    name: str
    type_name: str  # as written in the hint, e.g. "float", "list[str]"; "None" when absent
    default: Any
    default_source: str
    help: str  # the comment as written, bound included
    bound: Bound | None = None


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    purpose: str
    parameters: dict[str, Parameter]

    @property
    def user_parameters(self) -> dict[str, Parameter]:
        """Parameters an analyst may set in a spec (everything but the injected context)."""
        return {k: v for k, v in self.parameters.items() if k not in CONTEXT_PARAMETERS}


def _purpose(nb: nbformat.NotebookNode) -> str:
    meta = nb.metadata.get("playbook", {})
    if isinstance(meta, dict) and meta.get("purpose"):
        return str(meta["purpose"])
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in str(cell.source).splitlines():
                text = line.strip()
                if text and not text.startswith("#"):
                    return text
    return ""


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source


def _split_bounds(source: str) -> tuple[str, dict[int, str]]:
    """The cell's source with each comment's trailing ``[...]`` removed, and those bounds' texts
    by line number (1-based): papermill's inspection cannot read a comment holding '='."""
    lines = source.splitlines()
    bounds: dict[int, str] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source, bounds
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        m = _BOUND_AT_END.search(tok.string)
        if not m:
            continue
        row, col = tok.start
        bounds[row] = m.group(1)
        line = lines[row - 1]
        lines[row - 1] = line[:col] + tok.string[:m.start()] + line[col + len(tok.string):]
    return "\n".join(lines), bounds


def _read_bound(path: Path, p: Any, text: str) -> Bound:
    where = f"{path}: parameter '{p.name}'"
    try:
        bound = parse_bound(text)
    except ValueError as exc:
        raise TemplateError(f"{where}: cannot read the bound [{text}]: {exc}") from None
    base = re.split(r"\W", p.inferred_type_name, maxsplit=1)[0]
    fits = {"value": base in _NUMBER_TYPES, "len": base in _SIZED_TYPES,
            "each": base in ("list", "dict", "tuple"), "one of": base == "str"}
    what = {"value": "compares numbers", "len": "counts items", "each": "compares items",
            "one of": "lists strings"}
    for subject in bound.subjects():
        if not fits[subject]:
            raise TemplateError(f"{where}: the bound [{text}] {what[subject]}, but {p.name} is a "
                                f"{p.inferred_type_name}; fix the bound or the type hint")
    why = bound.check(_literal(p.default))
    if why:
        raise TemplateError(f"{where}: its default {p.default} breaks its own bound [{text}]: "
                            f"{why}; fix the default or the bound")
    return bound


def _inspect(path: Path) -> Template:
    # papermill is imported lazily: it is slow to import
    from papermill.translators import PythonTranslator

    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise TemplateError(f"{path}: cannot read notebook ({exc})") from exc
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise TemplateError(
            f"{path}: a template needs exactly one cell tagged 'parameters' (found {len(tagged)}); "
            "tag the first code cell 'parameters' in JupyterLab's property inspector"
        )
    source, bound_texts = _split_bounds(tagged[0].source)
    cell = nbformat.v4.new_code_cell(source)
    bound_of = {}
    for row, written in bound_texts.items():
        m = re.match(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", source.splitlines()[row - 1])
        if m:
            bound_of[m.group(1)] = written
    params = {}
    for p in PythonTranslator.inspect(cell):
        text = bound_of.get(p.name)
        bound = _read_bound(path, p, text) if text is not None else None
        params[p.name] = Parameter(
            name=p.name,
            type_name=p.inferred_type_name,
            default=_literal(p.default),
            default_source=p.default,
            help=f"{p.help} [{text}]".strip() if text is not None else p.help,
            bound=bound,
        )
    declared = re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=", source, flags=re.M)
    unparsed = [name for name in declared if name not in params]
    if unparsed:
        raise TemplateError(
            f"{path}: parameters cell: cannot read the line of {', '.join(unparsed)}; write one "
            "`name: type = value  # comment` per line, without '=' in the comment"
        )
    missing = [c for c in CONTEXT_PARAMETERS if c not in params]
    if missing:
        raise TemplateError(
            f"{path}: the parameters cell must declare the context parameters "
            f"{', '.join(missing)} (copy them from notebooks/data_quality.ipynb)"
        )
    name = path.stem
    return Template(name=name, path=path, purpose=_purpose(nb), parameters=params)


@lru_cache(maxsize=256)
def _inspect_cached(path: Path, mtime_ns: int) -> Template:
    return _inspect(path)


def load_template(path: str | Path) -> Template:
    """Inspect one notebook file (cached on its modification time)."""
    path = Path(path)
    if not path.exists():
        raise TemplateError(f"{path}: template notebook not found")
    return _inspect_cached(path, path.stat().st_mtime_ns)


def discover(notebooks_dir: str | Path | None = None) -> dict[str, Template]:
    """Every template in ``notebooks_dir``, by name."""
    root = paths().notebooks if notebooks_dir is None else Path(notebooks_dir)
    if not root.is_dir():
        raise TemplateError(f"{root}: templates folder not found; run inside a project (a folder "
                            f"with notebooks/ and playbooks/) or set {ROOT_ENV}")
    return {p.stem: load_template(p) for p in sorted(root.glob("*.ipynb"))}
