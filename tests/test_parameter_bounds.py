"""Parameter bounds: ``# help [> 0, max 87600]`` at the end of a parameter's comment in the
notebook's parameters cell is read with the template and checked before any kernel starts."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest
from tests.conftest import ROOT, write_spec

from playbook.errors import SpecError, TemplateError
from playbook.runner.spec import load_spec
from playbook.runner.templates import Bound, discover, load_template, parse_bound


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a kernel was started for an invalid spec")

    monkeypatch.setattr(papermill, "execute_notebook", boom)


BOUNDED = {
    "# how often": "# how often [min 1, max 10]",
    "# a share": "# a share [> 0, < 1]",
    "# what to say": "# what to say [one of hello, hi, \"\"]",
}


def bounded_template(project: Path, replace: dict[str, str] = BOUNDED,
                     extra: str = "") -> Path:
    """notebooks/bounded.ipynb: the trivial template with bounds on its parameters."""
    nb = nbformat.read(project / "notebooks" / "trivial.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for old, new in replace.items():
        params.source = params.source.replace(old, new)
    params.source = extra + params.source
    path = project / "notebooks" / "bounded.ipynb"
    nbformat.write(nb, path)
    return path


def test_bound_is_read_from_the_end_of_the_comment(project: Path) -> None:
    tpl = load_template(bounded_template(project))
    times, ratio, greeting = (tpl.parameters[k] for k in ("times", "ratio", "greeting"))
    assert times.bound is not None and times.bound.text == "min 1, max 10"
    assert times.help == "how often [min 1, max 10]"  # shown as written by `playbook list`
    assert times.default == 3 and ratio.default == 0.5 and greeting.default == "hello"
    assert ratio.bound == parse_bound("> 0, < 1")
    assert greeting.bound is not None and greeting.bound.choices == ("hello", "hi", "")
    assert tpl.parameters["campaign"].bound is None


@pytest.mark.parametrize("text, value, why", [
    ("min 1", 0, "must be at least 1"),
    ("> 0, max 87600", 1.0e12, "must be at most 87600"),
    ("> 0", math.inf, "must be a finite number"),
    ("> 0", math.nan, "must be a finite number"),
    ("len min 2", ["visit"], "needs at least 2 items"),
    ("each > 0", {"submit": 1.0, "review": -2.0}, "every value must be > 0, got -2.0 for 'review'"),
    ("each > 0, each max 10", [1, None, 11], "every value must be at most 10, got 11 at position 2"),
    ("one of ordered, strict, any", "orderd", "must be one of 'ordered', 'strict', 'any'"),
])
def test_bound_check_says_why(text: str, value: object, why: str) -> None:
    assert why in (parse_bound(text).check(value) or "")


@pytest.mark.parametrize("text, value", [
    ("min 1", 1), ("> 0, max 87600", 87600.0), ("len min 2", ["a", "b"]),
    ("each > 0", {"a": 0.5}), ("each > 0", [None, 2.0]), ("one of a, \"\"", ""),
])
def test_bound_check_accepts_values_inside(text: str, value: object) -> None:
    assert parse_bound(text).check(value) is None


@pytest.mark.parametrize("text", ["> zero", "=> 1", ">= 1", "<= 2", "between 1 and 2", "len > x", "one of", ""])
def test_malformed_bound_is_a_template_error(project: Path, text: str) -> None:
    path = bounded_template(project, {"# how often": f"# how often [{text}]"})
    with pytest.raises(TemplateError, match=r"bounded.ipynb: parameter 'times': cannot read the bound"):
        load_template(path)


def test_bound_that_does_not_fit_the_type_or_the_default_is_a_template_error(project: Path) -> None:
    path = bounded_template(project, {"# what to say": "# what to say [> 0]"})
    with pytest.raises(TemplateError, match=r"parameter 'greeting': the bound \[> 0\] compares "
                                            r"numbers, but greeting is a str"):
        load_template(path)
    path = bounded_template(project, {"# how often": "# how often [min 5]"})
    with pytest.raises(TemplateError, match=r"parameter 'times': its default 3 breaks its own bound "
                                            r"\[min 5\]: must be at least 5"):
        load_template(path)


def test_out_of_bound_values_fail_before_any_kernel(project: Path, no_kernel: None) -> None:
    bounded_template(project)
    write_spec(project / "playbooks" / "bad.yml", runs=(
        "  - template: bounded\n    parameters: {times: -2, ratio: 1.0e+12, greeting: hallo}\n"))
    with pytest.raises(SpecError) as err:
        load_spec("playbooks/bad.yml")
    lines = str(err.value).splitlines()
    assert lines == [
        "playbooks/bad.yml: runs[0].parameters.times: -2 is outside the bound [min 1, max 10] of "
        "bounded's parameter 'times' (notebooks/bounded.ipynb): must be at least 1; default is 3",
        "playbooks/bad.yml: runs[0].parameters.ratio: 1000000000000.0 is outside the bound "
        "[> 0, < 1] of bounded's parameter 'ratio' (notebooks/bounded.ipynb): must be < 1; "
        "default is 0.5",
        "playbooks/bad.yml: runs[0].parameters.greeting: 'hallo' is outside the bound "
        "[one of hello, hi, \"\"] of bounded's parameter 'greeting' (notebooks/bounded.ipynb): "
        "must be one of 'hello', 'hi', ''; default is \"hello\"",
    ]


def test_values_inside_their_bounds_pass(project: Path) -> None:
    bounded_template(project)
    write_spec(project / "playbooks" / "ok.yml",
               runs="  - template: bounded\n    parameters: {times: 10, ratio: 0.01, greeting: ''}\n")
    (run,) = load_spec("playbooks/ok.yml").runs
    assert run.parameters["times"] == 10 and run.parameters["greeting"] == ""


# -- the project's templates --------------------------------------------------------------------
@pytest.fixture
def real_project(project: Path) -> Path:
    """The project fixture with the real templates in notebooks/."""
    import shutil

    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(nb, project / "notebooks" / nb.name)
    return project


@pytest.mark.parametrize("key, value, message", [
    ("window_hours", 1.0e12, "runs[0].parameters.window_hours: 1000000000000.0 is outside the bound "
                             "[> 0, max 87600] of funnel_diagnosis's parameter 'window_hours'"),
    ("min_segment_users", -5, "runs[0].parameters.min_segment_users: -5 is outside the bound [min 1]"),
    ("steps", ["visit"], "runs[0].parameters.steps: ['visit'] is outside the bound [len min 2]"),
    ("order", "orderd", "runs[0].parameters.order: 'orderd' is outside the bound [one of ordered, "
                        "strict, any] of funnel_diagnosis's parameter 'order' "
                        "(notebooks/funnel_diagnosis.ipynb): must be one of 'ordered', 'strict', 'any'"),
    ("alpha", 1.5, "runs[0].parameters.alpha: 1.5 is outside the bound [> 0, < 1]"),
])
def test_funnel_parameters_are_range_checked(real_project: Path, no_kernel: None, key: str,
                                             value: object, message: str) -> None:
    import yaml

    runs = yaml.safe_dump([{"template": "funnel_diagnosis", "parameters": {key: value}}])
    write_spec(real_project / "playbooks" / "bad.yml", runs="".join(f"  {ln}\n" for ln in runs.splitlines()))
    with pytest.raises(SpecError, match="playbooks/bad.yml: " + __import__("re").escape(message)):
        load_spec("playbooks/bad.yml")


def test_process_sla_hours_must_be_positive(real_project: Path, no_kernel: None) -> None:
    write_spec(real_project / "playbooks" / "bad.yml",
               runs="  - template: process_efficiency\n    parameters: {sla_hours: {submit: -1.0}}\n")
    with pytest.raises(SpecError, match=r"runs\[0\].parameters.sla_hours: .* every value must be > 0, "
                                        r"got -1.0 for 'submit'"):
        load_spec("playbooks/bad.yml")


def test_every_number_parameter_of_every_template_has_a_bound() -> None:
    for name, tpl in discover(ROOT / "notebooks").items():
        for p in tpl.user_parameters.values():
            if p.type_name in ("int", "float"):
                assert isinstance(p.bound, Bound), f"{name}: parameter {p.name} needs a bound"


def test_playbook_list_shows_the_bounds(real_project: Path) -> None:
    from tests.conftest import run_cli

    out = run_cli(real_project, "list").output
    assert "window_hours: float = 720.0  # hours allowed from entry to each step; 720 h is 30 days " \
           "[> 0, max 87600]" in out
    assert "min_segment_users: int = 30  # smallest segment that is tested [min 1]" in out


def test_papermill_reads_every_bounded_parameter_line(caplog: pytest.LogCaptureFixture) -> None:
    """papermill inspects the parameters cell again at run time: a line it cannot read (a second
    '=') is logged as 'Unable to parse' and its parameter as 'unknown' in every run."""
    from papermill.translators import PythonTranslator

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        with caplog.at_level("WARNING", logger="papermill"):
            names = {p.name for p in PythonTranslator.inspect(cell)}
        assert names == set(load_template(path).parameters), path.name
    assert "Unable to parse" not in caplog.text
