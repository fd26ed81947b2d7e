"""Discover templates and read their parameters from the notebooks themselves.

A template is ``notebooks/<name>.ipynb`` with exactly one cell tagged ``parameters``. Its
parameters, their type hints, defaults and help comments are read with papermill's inspection
(the parameters cell is the single source of truth: no second list is kept by hand).

Some parameters carry the campaign's context and are injected by the runner, never set in a
spec: :data:`CONTEXT_PARAMETERS`.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from playbook.errors import TemplateError

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
)

NOTEBOOKS_DIR = Path("notebooks")


@dataclass(frozen=True)
class Parameter:
    name: str
    type_name: str  # as written in the hint, e.g. "float", "list[str]"; "None" when absent
    default: Any
    default_source: str
    help: str


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
            for line in cell.source.splitlines():
                text = line.strip()
                if text and not text.startswith("#"):
                    return text
    return ""


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source


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
    params = {}
    for p in PythonTranslator.inspect(tagged[0]):
        params[p.name] = Parameter(
            name=p.name,
            type_name=p.inferred_type_name,
            default=_literal(p.default),
            default_source=p.default,
            help=p.help,
        )
    declared = re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", tagged[0].source, flags=re.M)
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


def discover(notebooks_dir: str | Path = NOTEBOOKS_DIR) -> dict[str, Template]:
    """Every template in ``notebooks_dir``, by name."""
    root = Path(notebooks_dir)
    if not root.is_dir():
        raise TemplateError(f"{root}: templates folder not found; run from the project's root")
    return {p.stem: load_template(p) for p in sorted(root.glob("*.ipynb"))}
