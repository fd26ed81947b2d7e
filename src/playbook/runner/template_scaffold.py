"""``playbook template new <name>``: a new template that keeps the notebook contract as it is.

Writes, from the project's root (never over an existing file):

    notebooks/<name>.ipynb                 title, parameters (one bounded example and the campaign
                                           context), load, analysis, headline, summary, a table,
                                           the method, and the closing report.record(...)
    src/playbook/analyses/<name>/          __init__.py, analysis.py (counts the rows of a table
                                           given as a parameter), result.py (the Result, its
                                           decision enum and their tones, registered)
    tests/test_<name>.py                   the notebook through papermill on the sample
                                           warehouse, its outcome checked; the analysis alone

The result registers its decisions with :func:`playbook.analyses.base.register_decisions` and
itself with :func:`~playbook.analyses.base.register_result`, so no shared file is edited.
(``playbook new`` writes a campaign spec: :mod:`playbook.runner.scaffold`.)
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import nbformat

from playbook.errors import SpecError
from playbook.project import find_root

NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


@dataclass(frozen=True)
class Scaffold:
    """What ``new_template`` wrote (relative to the root), and a note for the analyst, if any."""

    name: str
    paths: list[Path]
    note: str | None = None


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


PARAMETERS = '''\
table: str = "events"  # table whose rows are counted
min_rows: int = 1  # fewest rows for the decision 'enough' [min 0]
# Campaign context: injected by `playbook run`; defaults let the notebook run on its own
campaign: str = "adhoc"  # campaign slug
run_id: str = "manual"  # run identifier
report_name: str = "$name"  # name of this report within the run
spec_path: str = ""  # spec that launched the run
output_dir: str = "outputs/scratch"  # where the outcome JSON is written
data_dir: str = "data/sample"  # warehouse folder holding <table>.parquet
sources: dict = {}  # per-table overrides from the spec's data section
language: str = "en"  # language of the report: en or zh-CN [one of en, zh-CN]'''

CELLS: list[tuple[str, str, list[str]]] = [  # (kind, source, tags)
    ("markdown", "# $title\n\nHow many rows does the table hold, and are they enough to go on? "
     "(Edit this sentence: the question this template answers, for a stakeholder.)", ["lang:en"]),
    ("markdown", "# $title\n\n这张表有多少行，够不够用来做判断？（请改写这句话：本模板为业务方回答的问题。）",
     ["lang:zh-CN"]),
    ("code", PARAMETERS, ["parameters"]),
    ("code", "from playbook import report\nfrom playbook.analyses.$name import analyze\n"
     "from playbook.i18n import _\nfrom playbook.sources import Warehouse\n\nreport.setup(language)\nwarehouse = Warehouse(data_dir, sources)",
     []),
    ("code", "result = analyze(warehouse, table=table, min_rows=min_rows)", []),
    ("code", "report.headline(result.headline(), result.decision)", ["hide-in-archive"]),
    ("code", "report.say(result.summary())", []),
    ("markdown", "## The table\n\nThe rows counted, against the fewest the decision needs. (The "
     "evidence goes here: a sentence for the stakeholder, then a table with `report.table` or a "
     "chart from `playbook.charts`.)", ["lang:en"]),
    ("markdown", "## 数据表\n\n统计到的行数，与判断所需的最少行数对比。（在这里放证据：先给业务方一句话，"
     "再用 `report.table` 给出表格，或用 `playbook.charts` 画图。）", ["lang:zh-CN"]),
    ("code", 'report.table(result.tables()["rows"], formats={"rows": "{:,.0f}", "needed": "{:,.0f}"},\n'
     '             labels={"needed": _("rows needed")}, caption=_("Rows counted in the table"))', []),
    ("markdown", "## Method\n\n- Rows are counted by DuckDB over the whole table.\n"
     "- The decision is *enough* when the table holds at least `min_rows` rows, else *too-few*.",
     ["lang:en"]),
    ("markdown", "## 方法\n\n- 由 DuckDB 对整张表计数。\n"
     "- 表的行数不少于 `min_rows` 时判断为“足够”，否则为“不足”。", ["lang:zh-CN"]),
    ("code", 'report.record(result, template="$name", campaign=campaign, run_id=run_id, '
     "output_dir=output_dir,\n              report_name=report_name)", []),
]

INIT = '''\
"""$title: made by `playbook template new $name`; edit the analysis and its result.

    analyze(...)   $name's analysis -> ${camel}Result

Modules: ``analysis`` (the entry point), ``result`` (${camel}Result, its decisions and their tones).
"""

from playbook.analyses.$name.analysis import analyze
from playbook.analyses.$name.result import ${camel}Decision, ${camel}Result

__all__ = ["${camel}Decision", "${camel}Result", "analyze"]
'''

ANALYSIS = '''\
"""$name's analysis: count the rows of one table (a starting point; replace it with yours).

Logic lives here, not in the notebook: the notebook loads the warehouse, calls :func:`analyze`
and shows the result.
"""

from __future__ import annotations

from playbook.analyses.$name.result import ${camel}Result
from playbook.errors import ParameterError
from playbook.sources import Warehouse


def analyze(warehouse: Warehouse, table: str = "events", min_rows: int = 1) -> ${camel}Result:
    """Count the rows of ``table``; the decision says whether it holds at least ``min_rows``.

    A missing or unreadable table is a DataError naming it (from the warehouse)."""
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 0:
        raise ParameterError(f"min_rows: must be a whole number of rows, 0 or more; got {min_rows!r}")
    view = warehouse.view(table)
    rows = int(warehouse.sql(f"select count(*) as n from {view}")["n"].iloc[0])
    return ${camel}Result(table=table, rows=rows, min_rows=min_rows)
'''

RESULT = '''\
"""$name's result: the contract of playbook.analyses.base (headline, decision, summary, tables,
metrics with their labels, details), its decision enum and the tone of each decision."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from playbook.analyses.base import Metric, MetricKind, Tone, register_decisions, register_result
from playbook.i18n import gettext as _
from playbook.i18n import pgettext
from playbook.i18n.formats import count
from playbook.report import esc


class ${camel}Decision(StrEnum):
    ENOUGH = "enough"  # the table holds at least min_rows rows
    TOO_FEW = "too-few"  # fewer rows than min_rows: too little data to go on


register_decisions("$name", ${camel}Decision, {${camel}Decision.ENOUGH: Tone.GOOD,
                                     ${camel}Decision.TOO_FEW: Tone.BAD})


@register_result("$name")
@dataclass(frozen=True)
class ${camel}Result:
    """What :func:`~playbook.analyses.$name.analysis.analyze` found."""

    table: str
    rows: int
    min_rows: int

    @property
    def decision(self) -> ${camel}Decision:
        """``enough`` when the table holds at least ``min_rows`` rows, else ``too-few``."""
        return ${camel}Decision.ENOUGH if self.rows >= self.min_rows else ${camel}Decision.TOO_FEW

    def headline(self) -> str:
        """The answer in one sentence (plain text: it is escaped where it is shown)."""
        return _("{table} holds {rows} rows").format(table=self.table, rows=count(self.rows))

    def summary(self) -> str:
        """Markdown for the stakeholder; names from data go through ``esc``."""
        return _("**Decision: {decision}.** The table {table} holds {rows} rows; the decision needs "
                 "at least {needed}.").format(decision=pgettext("decision", self.decision),
                                              table=esc(self.table),
                                              rows=count(self.rows), needed=count(self.min_rows))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"rows": pd.DataFrame({"table": [self.table], "rows": [self.rows],
                                      "needed": [self.min_rows]})}

    def metrics(self) -> dict[str, float]:
        return {"rows": self.rows}

    def metric_info(self) -> list[Metric]:
        return [Metric("rows", _("Rows"), MetricKind.COUNT)]

    def details(self) -> dict[str, Any]:
        return {"table": self.table, "min_rows": self.min_rows}
'''

CATALOGUE = '''\
# Simplified Chinese for the template $name (made by `playbook template new $name`).
msgid ""
msgstr ""
"Language: zh_CN\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

msgid "rows needed"
msgstr "所需行数"

msgid "Rows counted in the table"
msgstr "表中统计到的行数"

msgid "{table} holds {rows} rows"
msgstr "{table} 共有 {rows} 行"

msgid "**Decision: {decision}.** The table {table} holds {rows} rows; the decision needs at least {needed}."
msgstr "**判断：{decision}。** 表 {table} 共有 {rows} 行；判断至少需要 {needed} 行。"

msgid "Rows"
msgstr "行数"

msgctxt "decision"
msgid "enough"
msgstr "足够"

msgctxt "decision"
msgid "too-few"
msgstr "不足"
'''

TEST = '''\
"""$name end to end: the notebook through papermill on the sample warehouse, its outcome
checked; and the analysis on its own. Made by `playbook template new $name`: check the numbers
your analysis should find instead (the sample warehouse's planted effects: data/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest
from tests.conftest import ROOT

from playbook.analyses.$name import ${camel}Decision, analyze
from playbook.errors import ParameterError
from playbook.runner.execute import KERNEL_NAME
from playbook.runner.kernels import engine_options
from playbook.sources import Warehouse


def test_the_notebook_records_its_outcome(sample: Path, tmp_path: Path) -> None:
    pm.execute_notebook(
        str(ROOT / "notebooks" / "$name.ipynb"), str(tmp_path / "$name.ipynb"),
        parameters={"data_dir": str(sample), "output_dir": str(tmp_path), "campaign": "test",
                    "run_id": "test", "report_name": "$name"},
        kernel_name=KERNEL_NAME, progress_bar=False, resources={"metadata": {"path": str(ROOT)}},
        **engine_options())
    outcome = json.loads((tmp_path / "$name.outcome.json").read_text(encoding="utf-8"))
    rows = len(pd.read_parquet(sample / "events.parquet"))
    assert outcome["language"] == "en"
    assert outcome["status"] == "ok" and outcome["template"] == "$name"
    assert outcome["headline"] == f"events holds {rows:,} rows"
    assert (outcome["decision"], outcome["tone"]) == ("enough", "good")
    assert outcome["metrics"] == {"rows": rows}


def test_too_few_rows(sample: Path) -> None:
    result = analyze(Warehouse(sample), table="events", min_rows=10**12)
    assert result.decision is ${camel}Decision.TOO_FEW


def test_a_negative_minimum_is_refused(sample: Path) -> None:
    with pytest.raises(ParameterError, match="min_rows: must be a whole number of rows, 0 or more; got -1"):
        analyze(Warehouse(sample), min_rows=-1)
'''


def _notebook(values: dict[str, str]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source, tags in CELLS:
        text = Template(source).substitute(values)
        cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return str(nbformat.writes(nb)) + "\n"


#: Where the template's Simplified Chinese catalogue goes (playbook.i18n merges every .po there).
CATALOGUES = Path("src", "playbook", "locale", "zh_CN", "LC_MESSAGES")


def check_name(name: str) -> None:
    """Refuse a name that is not a lower-case identifier (``[a-z][a-z0-9_]*``, no ``__``)."""
    if not NAME.match(name) or keyword.iskeyword(name):
        raise SpecError(f"template name '{name}' is not a lower-case identifier: use letters, digits "
                        "and single underscores, starting with a letter (e.g. 'channel_roi')")


def new_template(name: str, root: str | Path | None = None) -> Scaffold:
    """Write the files of template ``name`` under the project ``root`` (default: the project's,
    :func:`playbook.project.find_root`; module docstring).

    Nothing is written if any of them (or a module ``analyses/<name>.py``) exists already."""
    check_name(name)
    root = find_root() if root is None else Path(root)
    analyses = Path("src", "playbook", "analyses")
    for folder in (Path("notebooks"), analyses, Path("tests")):
        if not (root / folder).is_dir():
            raise SpecError(f"{folder}: folder not found; run `playbook template new` from the "
                            "project's root (the folder holding notebooks/, src/playbook/ and tests/)")
    values = {"name": name, "camel": _camel(name), "title": _title(name)}
    files = {
        Path("notebooks", f"{name}.ipynb"): _notebook(values),
        analyses / name / "__init__.py": Template(INIT).substitute(values),
        analyses / name / "analysis.py": Template(ANALYSIS).substitute(values),
        analyses / name / "result.py": Template(RESULT).substitute(values),
        Path("tests", f"test_{name}.py"): Template(TEST).substitute(values),
        CATALOGUES / f"{name}.po": Template(CATALOGUE).substitute(values),
    }
    taken = [p for p in [*files, analyses / f"{name}.py"] if (root / p).exists()]
    if taken:
        raise SpecError(f"{taken[0].as_posix()}: already exists; template '{name}' is taken (choose "
                        "another name, or edit the existing files)")
    (root / analyses / name).mkdir()
    (root / CATALOGUES).mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        (root / path).write_text(text, encoding="utf-8")
    return Scaffold(name, list(files), _import_note(root, name))


def _import_note(root: Path, name: str) -> str | None:
    """A note when the ``playbook`` package in use is not this project's ``src/playbook``: then
    kernels import that one, which has no ``analyses/<name>``."""
    import playbook

    here = Path(playbook.__file__).resolve().parent
    if here == (root / "src" / "playbook").resolve():
        return None
    return (f"the playbook package in use is not src/playbook of this project, so kernels will not "
            f"find playbook.analyses.{name}: install the project in editable mode "
            "(`pip install -e .`, as `make setup` does) or put its src/ on PYTHONPATH")
