"""Spec validation: every bad spec fails before a kernel starts, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import FIXTURE_NOTEBOOKS, write_spec

from playbook.cli import main
from playbook.errors import SpecError
from playbook.runner.spec import load_spec


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any notebook would be executed."""
    import papermill

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a kernel was started for an invalid spec")

    monkeypatch.setattr(papermill, "execute_notebook", boom)


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_valid_spec_resolves_defaults_and_overrides(project: Path) -> None:
    spec = write_spec(project / "playbooks" / "ok.yml",
                      runs="  - template: trivial\n    parameters: {times: 5, ratio: 1}\n")
    cs = load_spec(spec)
    (run,) = cs.runs
    assert run.parameters == {"greeting": "hello", "times": 5, "ratio": 1}
    assert cs.data_dir == Path("data/sample")
    assert cs.spec.ice.score == pytest.approx((5 * 6 * 7) ** (1 / 3))


BAD_SPECS = {
    "unknown_key": (
        dict(extra="budget: 100\n"),
        "playbooks/bad.yml: top level: unknown key 'budget'; remove it or fix its spelling",
    ),
    "unknown_key_suggests": (
        dict(extra="tag: [x]\n"),
        "playbooks/bad.yml: top level: unknown key 'tag' (did you mean 'tags'?)",
    ),
    "unknown_run_key": (
        dict(runs="  - template: trivial\n    params: {times: 2}\n"),
        "playbooks/bad.yml: runs[0]: unknown key 'params' (did you mean 'parameters'?)",
    ),
    "unknown_template": (
        dict(runs="  - template: trivail\n"),
        "playbooks/bad.yml: runs[0].template: unknown template 'trivail' (did you mean 'trivial'?); "
        "`playbook list` shows the templates",
    ),
    "undeclared_parameter": (
        dict(runs="  - template: trivial\n    parameters: {time: 2}\n"),
        "playbooks/bad.yml: runs[0].parameters: unknown parameter 'time' for trivial (did you mean 'times'?)",
    ),
    "wrong_type": (
        dict(runs="  - template: trivial\n    parameters: {times: many}\n"),
        "playbooks/bad.yml: runs[0].parameters.times: parameter 'times' of trivial expects int, "
        "got 'many' (str); default is 3",
    ),
    "bool_is_not_int": (
        dict(runs="  - template: trivial\n    parameters: {times: true}\n"),
        "runs[0].parameters.times: parameter 'times' of trivial expects int, got True (bool)",
    ),
    "escaping_slug": (
        dict(campaign="../x"),
        "playbooks/bad.yml: campaign: '../x' is not a campaign slug",
    ),
    "upper_case_slug": (
        dict(campaign="Spring"),
        "playbooks/bad.yml: campaign: 'Spring' is not a campaign slug",
    ),
    "missing_data_file": (
        dict(extra="data:\n  orders: exports/orders.parquet\n"),
        "playbooks/bad.yml: data.orders: file 'exports/orders.parquet' not found; "
        "fix the path or export the table there",
    ),
    "missing_warehouse": (
        dict(extra="data:\n  warehouse: exports/none\n"),
        "playbooks/bad.yml: data.warehouse: folder 'exports/none' not found",
    ),
    "not_a_table_file": (
        dict(extra="data:\n  orders: exports/orders.xlsx\n"),
        "playbooks/bad.yml: data.orders: 'exports/orders.xlsx' is neither a .parquet nor a .csv file",
    ),
    "context_parameter": (
        dict(runs="  - template: trivial\n    parameters: {data_dir: elsewhere}\n"),
        "playbooks/bad.yml: runs[0].parameters: 'data_dir' is set by the runner, not the spec; "
        "use the spec's 'data' section",
    ),
    "ice_out_of_range": (
        dict(extra="", campaign="ok"),
        None,  # replaced below
    ),
    "bad_cron": (
        dict(extra="schedule: every monday\n"),
        "playbooks/bad.yml: schedule: 'every monday' is not a cron expression",
    ),
    "run_name_escapes": (
        dict(runs="  - template: trivial\n    name: ../../other-campaign/20261124T060000Z/trivial\n"),
        "playbooks/bad.yml: runs[0].name: '../../other-campaign/20261124T060000Z/trivial' is not a run "
        "name: use lower-case letters, digits, '-' and '_', starting with a letter or digit "
        "(e.g. 'quality-eu'); the name becomes the report's file name",
    ),
    "run_name_into_archive": (
        dict(runs="  - template: trivial\n    name: ../../../archive/index\n"),
        "playbooks/bad.yml: runs[0].name: '../../../archive/index' is not a run name",
    ),
    "run_name_absolute": (
        dict(runs="  - template: trivial\n    name: /tmp/evil\n"),
        "playbooks/bad.yml: runs[0].name: '/tmp/evil' is not a run name",
    ),
    "run_name_with_dot": (
        dict(runs="  - template: trivial\n    name: trivial.outcome\n"),
        "playbooks/bad.yml: runs[0].name: 'trivial.outcome' is not a run name",
    ),
    "template_escapes_with_a_forked_notebook": (
        dict(runs="  - template: ../../escape\n    notebook: notebooks/trivial.ipynb\n"),
        "playbooks/bad.yml: runs[0].template: '../../escape' is not a run name: use lower-case letters",
    ),
    "notebook_outside_project": (
        dict(runs=f"  - template: trivial\n    notebook: {FIXTURE_NOTEBOOKS / 'trivial.ipynb'}\n"),
        f"playbooks/bad.yml: runs[0].notebook: '{FIXTURE_NOTEBOOKS / 'trivial.ipynb'}' is outside the "
        "project; keep a forked notebook in the project (`playbook new --fork` puts it in playbooks/<campaign>/)",
    ),
    "notebook_climbs_out": (
        dict(runs="  - template: trivial\n    notebook: ../../etc/x.ipynb\n"),
        "playbooks/bad.yml: runs[0].notebook: '../../etc/x.ipynb' is outside the project",
    ),
    "duplicate_run_names": (
        dict(runs="  - template: trivial\n  - template: trivial\n"),
        "playbooks/bad.yml: runs[1].name: 'trivial' already used by runs[0]; "
        "give each run of the same template a distinct 'name'",
    ),
}
del BAD_SPECS["ice_out_of_range"]


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_fails_before_any_kernel(project: Path, no_kernel: None, case: str) -> None:
    kwargs, expected = BAD_SPECS[case]
    assert expected is not None
    write_spec(project / "playbooks" / "bad.yml", **kwargs)
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    assert expected in str(info.value)
    code, output = run_cli("run", "playbooks/bad.yml")
    assert code == 2
    assert expected in output
    assert not (project / "outputs" / "runs").exists()


def test_ice_out_of_range_names_key(project: Path) -> None:
    path = write_spec(project / "playbooks" / "bad.yml")
    path.write_text(path.read_text().replace("impact: 5", "impact: 12"))
    with pytest.raises(SpecError, match=r"playbooks/bad.yml: ice.impact: Input should be less than or equal to 10"):
        load_spec(path)


def test_missing_required_keys_listed_together(project: Path) -> None:
    path = project / "playbooks" / "bad.yml"
    path.write_text("campaign: x\nruns:\n  - template: trivial\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    for key in ("title", "owner", "hypothesis", "ice"):
        assert f"playbooks/bad.yml: {key}: required key is missing" in str(info.value)


def test_invalid_yaml_names_line(project: Path) -> None:
    path = project / "playbooks" / "bad.yml"
    path.write_text("campaign: x\ntitle: [unclosed\n")
    with pytest.raises(SpecError, match=r"playbooks/bad.yml: not valid YAML \(line \d+, column \d+\)"):
        load_spec(path)


def test_missing_spec_file(project: Path) -> None:
    code, output = run_cli("run", "playbooks/nope.yml")
    assert code == 2
    assert "error: playbooks/nope.yml: spec file not found" in output


def test_default_warehouse_missing_tells_how_to_make_it(project: Path) -> None:
    import shutil

    shutil.rmtree(project / "data")
    write_spec(project / "playbooks" / "ok.yml")
    with pytest.raises(SpecError, match="default warehouse 'data/sample' does not exist; run `playbook demo-data`"):
        load_spec("playbooks/ok.yml")


def test_one_bad_spec_stops_all_specs(project: Path, no_kernel: None) -> None:
    write_spec(project / "playbooks" / "good.yml", campaign="good")
    write_spec(project / "playbooks" / "bad.yml", runs="  - template: nope\n")
    code, output = run_cli("run", "playbooks/good.yml", "playbooks/bad.yml")
    assert code == 2
    assert "unknown template 'nope'" in output
    assert not (project / "outputs").exists()


def test_data_sources_resolve(project: Path) -> None:
    import pandas as pd

    (project / "exports").mkdir()
    pd.DataFrame({"order_id": [1]}).to_csv(project / "exports" / "orders.csv", index=False)
    write_spec(project / "playbooks" / "ok.yml", extra="data:\n  warehouse: data/sample\n  orders: exports/orders.csv\n")
    cs = load_spec("playbooks/ok.yml")
    assert cs.sources == {"orders": "exports/orders.csv"}
    assert cs.data_dir == Path("data/sample")


def test_unreadable_parameter_line_is_a_template_error(project: Path) -> None:
    import nbformat

    from playbook.errors import TemplateError
    from playbook.runner.templates import load_template

    nb = nbformat.read(project / "notebooks" / "trivial.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = params.source.replace("# how often", "# how often (3 = thrice)")
    nbformat.write(nb, project / "notebooks" / "odd.ipynb")
    with pytest.raises(TemplateError, match=r"odd.ipynb: parameters cell: cannot read the line of times"):
        load_template(project / "notebooks" / "odd.ipynb")


def test_run_names_may_use_template_style_underscores(project: Path) -> None:
    spec = write_spec(project / "playbooks" / "ok.yml",
                      runs="  - template: trivial\n  - template: trivial\n    name: trivial_eu-2\n")
    assert [r.name for r in load_spec(spec).runs] == ["trivial", "trivial_eu-2"]


def test_notebook_inside_the_project_through_a_symlink_out_is_refused(project: Path) -> None:
    (project / "playbooks" / "link.ipynb").symlink_to(FIXTURE_NOTEBOOKS / "trivial.ipynb")
    write_spec(project / "playbooks" / "bad.yml",
               runs="  - template: trivial\n    notebook: playbooks/link.ipynb\n")
    with pytest.raises(SpecError, match=r"runs\[0\].notebook: 'playbooks/link.ipynb' is outside the project"):
        load_spec("playbooks/bad.yml")
