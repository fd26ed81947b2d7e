"""The notebook contract (playbook.runner.contract): every template in notebooks/ keeps it, and a
small synthetic notebook that breaks one rule is reported with the rule, the cell and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tests.conftest import ROOT

from playbook.analyses import base
from playbook.analyses.base import Tone
from playbook.errors import TemplateError
from playbook.runner.contract import MAX_CODE_CELLS, Problem, check_template, result_problems

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_template_keeps_the_contract(path: Path) -> None:
    problems = check_template(path)
    assert not problems, "\n".join(map(str, problems))


# -- a synthetic template: valid as it is, then broken one rule at a time -------------------------
# It is checked as the data_quality template (whose result and decisions are registered).

TITLE = "# Synthetic\n\nIs the synthetic data fine? One sentence of purpose."
PARAMETERS = """\
min_rows: int = 1  # fewest rows [min 0]
# Campaign context
campaign: str = "adhoc"  # campaign slug
run_id: str = "manual"  # run identifier
report_name: str = "data_quality"  # name of this report within the run
spec_path: str = ""  # spec that launched the run
output_dir: str = "outputs/scratch"  # where the outcome JSON is written
data_dir: str = "data/sample"  # warehouse folder
sources: dict = {}  # per-table overrides
language: str = "en"  # report language"""
RECORD = ('report.record(result, template="data_quality", campaign=campaign, run_id=run_id, '
          "output_dir=output_dir, report_name=report_name)")


def cells(title: str = TITLE, parameters: str = PARAMETERS, body: tuple[str, ...] = (
        "from playbook import report\nresult = None", "report.say('hello')"),
        record: str = RECORD) -> list[Any]:
    out = [nbformat.v4.new_markdown_cell(title)]
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    out.append(params)
    out += [nbformat.v4.new_code_cell(s) for s in body]
    if record:
        out.append(nbformat.v4.new_code_cell(record))
    return out


def check(tmp_path: Path, cell_list: list[Any], name: str = "data_quality") -> list[Problem]:
    nb = nbformat.v4.new_notebook(cells=cell_list)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return check_template(path)


def only(problems: list[Problem], rule: str) -> list[str]:
    """The messages of ``problems``, which must all be of ``rule`` (and at least one)."""
    assert problems and {p.rule for p in problems} == {rule}, [str(p) for p in problems]
    return [str(p) for p in problems]


def test_the_synthetic_template_keeps_the_contract(tmp_path: Path) -> None:
    assert check(tmp_path, cells()) == []


def test_a_title_cell_with_a_sentence_opens_the_notebook(tmp_path: Path) -> None:
    (msg,) = only(check(tmp_path, cells(title="Synthetic\n\nA sentence.")), "title")
    assert msg == (f"{tmp_path}/data_quality.ipynb: cell 1 (\"Synthetic\"): the first line is not a "
                   "'# ' title; open the notebook with a Markdown cell: '# Data quality' and one "
                   "sentence saying which question the template answers")
    (msg,) = only(check(tmp_path, cells(title="# Synthetic")), "title")
    assert "no sentence under the title" in msg
    no_title = cells()[1:]
    problems = check(tmp_path, no_title)
    assert [p.rule for p in problems] == ["title"] and "no title cell" in str(problems[0])


def test_the_first_code_cell_is_the_parameters_cell(tmp_path: Path) -> None:
    nb = cells()
    nb.insert(1, nbformat.v4.new_code_cell("import math"))
    problems = check(tmp_path, nb)
    assert [str(p) for p in problems if p.rule == "parameters"] == [
        f"{tmp_path}/data_quality.ipynb: cell 2 (\"import math\"): the first code cell is not tagged "
        "'parameters'; tag it in JupyterLab's property inspector (or move the parameters cell up)"]
    # it is then read as the parameters cell, which holds logic
    assert any(p.rule == "logic" and "import math" in p.message for p in problems)


def test_exactly_one_parameters_cell(tmp_path: Path) -> None:
    nb = cells()
    nb[2].metadata["tags"] = ["parameters"]
    (msg,) = only(check(tmp_path, nb), "parameters")
    assert "a template needs exactly one cell tagged 'parameters' (found 2)" in msg


@pytest.mark.parametrize(("line", "expected"), [
    ("min_rows: int = 1", "parameter 'min_rows' has no comment; end its line with `# what it is`"),
    ("min_rows = 1  # fewest rows", "parameter 'min_rows' has no type hint; write "
                                    "`min_rows: <type> = 1  # ...`"),
    ("min_rows: int  # fewest rows", "line 1 (`min_rows: int  # fewest rows`): parameter 'min_rows' "
                                     "has no default; give it a working default"),
    ("min_rows: int = -1  # fewest rows [min 0]", "its default -1 breaks its own bound [min 0]"),
])
def test_every_parameter_has_a_default_a_type_hint_and_a_comment(tmp_path: Path, line: str,
                                                                 expected: str) -> None:
    params = PARAMETERS.replace("min_rows: int = 1  # fewest rows [min 0]", line)
    (msg,) = only(check(tmp_path, cells(parameters=params)), "parameters")
    assert msg.startswith(f"{tmp_path}/data_quality.ipynb: cell 2 (\"") and expected in msg


def test_the_campaign_context_is_declared(tmp_path: Path) -> None:
    params = PARAMETERS.replace('sources: dict = {}  # per-table overrides', "")
    (msg,) = only(check(tmp_path, cells(parameters=params)), "parameters")
    assert "must declare the context parameters sources" in msg


@pytest.mark.parametrize(("extra", "expected"), [
    ("import math", "line 11 (`import math`) is not a parameter; the parameters cell holds only "
                    "`name: type = value  # comment` lines and comments: move it to the next cell"),
    ("limit: int = min_rows * 2  # twice", "line 11 (`limit: int = min_rows * 2  # twice`): the default "
                                          "of 'limit' is computed; write a literal value"),
    ("if min_rows:\n    min_rows = 2", "line 11 (`if min_rows:`) is not a parameter"),
])
def test_the_parameters_cell_holds_no_logic(tmp_path: Path, extra: str, expected: str) -> None:
    problems = check(tmp_path, cells(parameters=PARAMETERS + "\n" + extra))
    assert any(p.rule == "logic" and expected in str(p) for p in problems), [str(p) for p in problems]
    assert {p.rule for p in problems} <= {"logic", "parameters"}


def test_the_notebook_ends_with_one_record_call(tmp_path: Path) -> None:
    (msg,) = only(check(tmp_path, cells(record="")), "record")
    assert msg == (f"{tmp_path}/data_quality.ipynb: no report.record(...) call; end the last code cell "
                   f"with `{RECORD}`")
    # not last: a cell after it
    nb = cells()
    nb.append(nbformat.v4.new_code_cell("report.say('after')"))
    (msg,) = only(check(tmp_path, nb), "record")
    assert "cell 5 (\"report.record(result, template=\"data_qu…\"): report.record(...) is not the " \
           "notebook's last statement" in msg
    # two calls
    nb = cells(body=("from playbook import report\nresult = None", RECORD))
    (msg,) = only(check(tmp_path, nb), "record")
    assert msg.startswith(f"{tmp_path}/data_quality.ipynb: cell 4 (") and "a second report.record" in msg


def test_record_outcome_is_not_called(tmp_path: Path) -> None:
    nb = cells(body=("from playbook import report\nresult = None",
                     "report.record_outcome(template='data_quality', campaign=campaign, run_id=run_id, "
                     "output_dir=output_dir, headline='x', decision=None, metrics={})"))
    (msg,) = only(check(tmp_path, nb), "record")
    assert "cell 4 (\"report.record_outcome(template='data_qu…\"): record_outcome(...) writes an " \
           "outcome by hand" in msg


def test_the_record_call_names_its_template_and_passes_the_context(tmp_path: Path) -> None:
    wrong = RECORD.replace('"data_quality"', '"funnel_diagnosis"')
    (msg,) = only(check(tmp_path, cells(record=wrong)), "record")
    assert 'template= must be "data_quality" (the notebook\'s name)' in msg
    bare = RECORD.replace(", report_name=report_name", "")
    (msg,) = only(check(tmp_path, cells(record=bare)), "record")
    assert "report_name=report_name is missing" in msg


def test_a_template_needs_a_registered_result_and_decisions(tmp_path: Path) -> None:
    nb = cells(record=RECORD.replace("data_quality", "synthetic_unregistered"),
               parameters=PARAMETERS.replace('"data_quality"', '"synthetic_unregistered"'))
    problems = check(tmp_path, nb, name="synthetic_unregistered")
    assert [p.rule for p in problems] == ["result", "tones"]
    assert str(problems[0]).endswith(
        "no result class is registered for 'synthetic_unregistered'; decorate the class its analysis "
        "returns with @register_result(\"synthetic_unregistered\") (playbook.analyses.base), in its "
        "package under src/playbook/analyses/")
    assert "no decision enum is registered for 'synthetic_unregistered'" in str(problems[1])


class Verdict(StrEnum):
    YES = "synthetic-yes"  # fine
    NO = "synthetic-no"  # not fine


@dataclass(frozen=True)
class Partial:
    """A result that forgets some of the protocol."""

    n: int

    @property
    def decision(self) -> base.QualityDecision:
        return base.QualityDecision.PASS

    def headline(self) -> str:
        return "x"

    def summary(self, language: str) -> str:
        return language

    tables = "not a method"


def test_the_result_class_implements_the_protocol(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert result_problems("data_quality", base.result_class("data_quality") or object) == []
    assert result_problems("data_quality", Partial) == [
        "Partial.summary() needs language; the Result protocol calls it without arguments",
        "Partial has no method tables() (Result protocol); add it",
        "Partial has no method metrics() (Result protocol); add it",
        "Partial has no method metric_info() (Result protocol); add it",
        "Partial has no method details() (Result protocol); add it",
    ]
    # the decision must be the template's own enum
    assert result_problems("funnel_diagnosis", Partial)[0] == (
        "Partial.decision is typed QualityDecision; it must be the template's decision enum "
        "FunnelDecision")
    monkeypatch.setitem(base.RESULTS, "data_quality", Partial)
    messages = only(check(tmp_path, cells()), "result")
    assert messages[0] == (f"{tmp_path}/data_quality.ipynb: Partial.summary() needs language; the "
                           "Result protocol calls it without arguments")


def test_every_decision_has_a_tone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(base.TONES, "synthetic-yes", Tone.GOOD)
    monkeypatch.setitem(base.DECISIONS, "data_quality", Verdict)
    problems = check(tmp_path, cells())
    # the result's decision is still QualityDecision, which is now not the template's enum
    assert [p.rule for p in problems] == ["result", "tones"]
    assert str(problems[1]) == (f"{tmp_path}/data_quality.ipynb: the decision 'synthetic-no' of Verdict "
                                "has no tone; give it one in register_decisions (good, bad, neutral "
                                "or invalid)")


def test_stored_without_outputs_and_thin(tmp_path: Path) -> None:
    nb = cells()
    nb[2].execution_count = 3
    nb[3].outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    messages = only(check(tmp_path, nb), "clean")
    assert [m.split(": ")[1] for m in messages] == ['cell 3 ("from playbook import report")',
                                                    "cell 4 (\"report.say('hello')\")"]
    assert messages[0].endswith("stored with outputs or an execution count; clear them (`jupyter "
                                f"nbconvert --clear-output --inplace {tmp_path}/data_quality.ipynb`) "
                                "before committing")
    many = cells(body=("from playbook import report\nresult = None",) + ("report.say('x')",) * MAX_CODE_CELLS)
    (msg,) = only(check(tmp_path, many), "clean")
    assert msg.endswith(f"{MAX_CODE_CELLS + 3} code cells (at most {MAX_CODE_CELLS}); keep the template "
                        "thin: move logic into its analysis package")


def test_an_unreadable_notebook_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json", encoding="utf-8")
    (problem,) = check_template(path)
    assert problem.rule == "clean" and str(problem).startswith(f"{path}: cannot read the notebook (")


# -- registering a template's decisions ------------------------------------------------------------

@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """DECISIONS and TONES as copies, so that registrations here leave the real ones alone."""
    monkeypatch.setattr(base, "DECISIONS", dict(base.DECISIONS))
    monkeypatch.setattr(base, "TONES", dict(base.TONES))


@pytest.mark.usefixtures("tables")
def test_register_decisions_adds_the_enum_and_its_tones() -> None:
    tones = {Verdict.YES: Tone.GOOD, Verdict.NO: Tone.BAD}
    assert base.register_decisions("synthetic", Verdict, tones) is Verdict
    assert base.DECISIONS["synthetic"] is Verdict
    assert base.tone("synthetic-no") is Tone.BAD and base.tone("Synthetic yes") is Tone.GOOD
    base.register_decisions("synthetic", Verdict, tones)  # imported again: harmless


@pytest.mark.usefixtures("tables")
def test_register_decisions_refuses_what_the_tables_cannot_hold() -> None:
    with pytest.raises(TemplateError) as info:
        base.register_decisions("synthetic", Verdict, {Verdict.YES: Tone.GOOD})
    assert str(info.value) == ("synthetic: decisions synthetic-no of Verdict have no tone; give each "
                               "word a Tone (good, bad, neutral, invalid)")

    class Clash(StrEnum):
        ACT = "act"  # the funnel's word, which is bad news there
        WAIT = "wait"  # something else

    with pytest.raises(TemplateError) as info:
        base.register_decisions("synthetic", Clash, {Clash.ACT: Tone.GOOD, Clash.WAIT: Tone.NEUTRAL})
    assert str(info.value) == ("synthetic: the decision 'act' is bad for funnel_diagnosis and cannot "
                               "be good here; choose another word")
    assert "synthetic" not in base.DECISIONS and "wait" not in base.TONES
    with pytest.raises(TemplateError, match="data_quality: already has the decisions QualityDecision"):
        base.register_decisions("data_quality", Verdict, {Verdict.YES: Tone.GOOD, Verdict.NO: Tone.BAD})
