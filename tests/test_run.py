"""The runner: papermill per template, run records, failures isolated and recorded."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from tests.conftest import write_spec

from playbook.cli import main


def only_run(project: Path, campaign: str) -> Path:
    (run_dir,) = (project / "outputs" / "runs" / campaign).iterdir()
    return run_dir


def test_run_writes_notebook_outcome_and_manifest(project: Path) -> None:
    write_spec(project / "playbooks" / "t.yml", runs="  - template: trivial\n    parameters: {times: 4}\n")
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    assert result.exit_code == 0, result.output
    assert "trivial: ok — hello x 4" in result.output
    run_dir = only_run(project, "trivial-campaign")

    outcome = json.loads((run_dir / "trivial.outcome.json").read_text())
    assert outcome["status"] == "ok"
    assert outcome["campaign"] == "trivial-campaign"
    assert outcome["run_id"] == run_dir.name
    assert outcome["metrics"] == {"times": 4, "ratio": 0.5}

    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["spec"]["title"] == "Trivial campaign"
    (entry,) = manifest["templates"]
    assert entry["parameters"] == {"greeting": "hello", "times": 4, "ratio": 0.5}
    assert entry["status"] == "ok" and entry["error"] is None
    assert entry["timings"]["kernel_start_s"] > 0 and entry["timings"]["execute_s"] >= 0
    assert manifest["inputs"]["users"]["sha256"] and manifest["inputs"]["users"]["bytes"] > 0
    assert manifest["versions"]["papermill"] and manifest["versions"]["python"].startswith("3.")

    nb = nbformat.read(run_dir / "trivial.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected, "the campaign context is injected as parameters"
    src = injected[0].source
    for text in ("campaign = \"trivial-campaign\"", f'run_id = "{run_dir.name}"', "times = 4",
                 "report_name = \"trivial\"", "spec_path = \"playbooks/t.yml\""):
        assert text in src


def test_failing_template_is_recorded_and_others_still_run(project: Path) -> None:
    runs = "  - template: trivial\n  - template: raises\n  - template: no_outcome\n"
    write_spec(project / "playbooks" / "t.yml", runs=runs)
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    assert result.exit_code == 1
    run_dir = only_run(project, "trivial-campaign")
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "failed"
    by_name = {t["name"]: t for t in manifest["templates"]}
    assert by_name["trivial"]["status"] == "ok"
    assert by_name["raises"]["status"] == "failed"
    assert by_name["raises"]["error"]["ename"] == "ValueError"
    assert by_name["raises"]["error"]["evalue"] == "planted failure in trivial-campaign"
    assert "raise ValueError" in by_name["raises"]["error"]["traceback"]
    assert by_name["no_outcome"]["error"]["ename"] == "RunError"

    assert json.loads((run_dir / "trivial.outcome.json").read_text())["status"] == "ok"
    failed = json.loads((run_dir / "raises.outcome.json").read_text())
    assert failed["status"] == "failed"
    assert failed["error"] == "ValueError: planted failure in trivial-campaign"
    # the executed notebook keeps its traceback cell
    nb = nbformat.read(run_dir / "raises.ipynb", as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0]["ename"] == "ValueError"


def test_runs_get_distinct_ids(project: Path) -> None:
    from playbook.runner.execute import new_run_dir

    runs = project / "outputs" / "runs"
    a = new_run_dir(runs, "c", "20261124T060000Z")
    b = new_run_dir(runs, "c", "20261124T060000Z")
    assert a[0] == "20261124T060000Z" and b[0] == "20261124T060000Z-1"


def test_new_writes_spec_with_defaults_that_validates(project: Path) -> None:
    result = CliRunner().invoke(main, ["new", "spring-banner", "--template", "trivial", "-t", "raises"])
    assert result.exit_code == 0, result.output
    text = (project / "playbooks" / "spring-banner.yml").read_text()
    assert "      times: 3  # how often" in text
    assert '      greeting: hello  # what to say' in text
    from playbook.runner.spec import load_spec

    cs = load_spec("playbooks/spring-banner.yml")
    assert [r.name for r in cs.runs] == ["trivial", "raises"]
    again = CliRunner().invoke(main, ["new", "spring-banner", "--template", "trivial"])
    assert again.exit_code == 2
    assert "playbooks/spring-banner.yml: already exists; edit it, or pass --force to overwrite it" in again.output


def test_new_fork_copies_notebooks_and_runs_the_copy(project: Path) -> None:
    result = CliRunner().invoke(main, ["new", "forked", "--template", "trivial", "--fork"])
    assert result.exit_code == 0, result.output
    copy = project / "playbooks" / "forked" / "trivial.ipynb"
    assert copy.exists()
    assert "notebook: playbooks/forked/trivial.ipynb" in (project / "playbooks" / "forked.yml").read_text()
    # a campaign-specific edit of the copy changes the result
    nb = nbformat.read(copy, as_version=4)
    last = nb.cells[-1]
    last.source = last.source.replace('headline=f"{greeting} x {times}"', 'headline=f"forked {greeting} x {times}"')
    nbformat.write(nb, copy)
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/forked.yml"])
    assert result.exit_code == 0, result.output
    assert "forked hello x 3" in result.output


def test_new_rejects_bad_names(project: Path) -> None:
    result = CliRunner().invoke(main, ["new", "../x", "--template", "trivial"])
    assert result.exit_code == 2
    assert "campaign '../x' is not a slug" in result.output
    result = CliRunner().invoke(main, ["new", "ok", "--template", "trivail"])
    assert "--template: unknown template 'trivail' (did you mean 'trivial'?)" in result.output


def test_list_shows_templates_campaigns_and_runs(project: Path) -> None:
    write_spec(project / "playbooks" / "t.yml")
    CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "trivial — Fixture template: trivial." in out
    assert "times: int = 3  # how often" in out
    assert "campaign" not in out.split("Campaigns")[0].split("trivial —")[1].split("raises")[0]
    assert "trivial-campaign — Trivial campaign (trivial)" in out
    assert "trivial-campaign 2" in out and " ok " in out


def test_failed_run_is_published_as_failed_without_breaking_the_archive(project: Path) -> None:
    write_spec(project / "playbooks" / "t.yml", runs="  - template: trivial\n  - template: raises\n")
    CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    result = CliRunner().invoke(main, ["publish"])
    assert result.exit_code == 0, result.output
    archive = project / "outputs" / "archive"
    index = (archive / "index.html").read_text()
    assert "raises failed: ValueError" in index
    assert "hello x 3" in index
    (page,) = archive.glob("reports/trivial-campaign/*/raises.html")
    html = page.read_text()
    assert "planted failure in trivial-campaign" in html
    catalog = json.loads((archive / "catalog.json").read_text())
    statuses = sorted(r["outcome"]["status"] for r in catalog["reports"])
    assert statuses == ["failed", "ok"]


def test_outcome_cell_shows_nothing_in_the_report(project: Path) -> None:
    write_spec(project / "playbooks" / "t.yml")
    CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    run_dir = only_run(project, "trivial-campaign")
    nb = nbformat.read(run_dir / "trivial.ipynb", as_version=4)
    assert nb.cells[-1].source.startswith("from playbook.report import record_outcome")
    assert nb.cells[-1].outputs == []


def test_hours_with_ci_formats_a_duration_and_its_interval() -> None:
    from playbook.report import hours_with_ci

    assert hours_with_ci(25.87, 25.51, 26.3) == "25.9 h (95% CI 25.5–26.3)"
    assert hours_with_ci(float("nan"), 1.0, 2.0) == "–"


def test_share_with_ci_formats_a_share_and_its_interval() -> None:
    from playbook.report import share_with_ci

    assert share_with_ci(0.5591, 0.5472, 0.5703) == "55.9% (95% CI 54.7–57.0%)"
    assert share_with_ci(0.0, 0.0, 0.0012, digits=2) == "0.00% (95% CI 0.00–0.12%)"
    assert share_with_ci(float("nan"), 0.1, 0.2) == "–"


def test_table_labels_rename_headers_but_formats_use_column_names(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from playbook import report

    shown: list[str] = []
    monkeypatch.setattr(report, "_display", lambda obj: shown.append(obj.to_html()))
    df = pd.DataFrame({"step": ["a"], "sla_breach": [0.25]})
    report.table(df, formats={"sla_breach": "{:.1%}"}, labels={"sla_breach": "SLA breach"})
    assert ">SLA breach</th>" in shown[0] and ">step</th>" in shown[0]
    assert ">25.0%</td>" in shown[0] and "sla_breach<" not in shown[0]


def test_table_formats_unformatted_floats_plainly_and_missing_values_as_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from playbook import report

    shown: list[str] = []
    monkeypatch.setattr(report, "_display", lambda obj: shown.append(obj.to_html()))
    df = pd.DataFrame({"amount": [910.0, 1690.5, 0.004951], "region": ["north", None, "east"],
                       "share": [0.25, 0.5, float("nan")]})
    report.table(df, formats={"share": "{:.0%}"})
    html = shown[0]
    assert ">910</td>" in html and ">1,690.5</td>" in html and ">0.004951</td>" in html
    assert "910.000000" not in html and "None" not in html and "nan" not in html
    assert html.count(">–</td>") == 2 and ">25%</td>" in html


def checksums(folder: Path) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def other_campaign(project: Path) -> tuple[Path, dict[str, str]]:
    """A past run of another campaign, and the checksums of every file in it."""
    write_spec(project / "playbooks" / "other.yml", campaign="other-campaign")
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/other.yml"])
    assert result.exit_code == 0, result.output
    run_dir = only_run(project, "other-campaign")
    return run_dir, checksums(project / "outputs")


ATTACKS = {
    "other_campaigns_run": "../../other-campaign/{run_id}/trivial",
    "archive": "../../../archive/index",
    "outside_the_project": "../../../../escaped",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_run_name_cannot_write_outside_its_run(project: Path, other_campaign: tuple[Path, dict[str, str]],
                                                 attack: str) -> None:
    run_dir, before = other_campaign
    name = ATTACKS[attack].format(run_id=run_dir.name)
    write_spec(project / "playbooks" / "t.yml", runs=f"  - template: trivial\n    name: {name}\n")
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    assert result.exit_code == 2, result.output
    assert f"error: playbooks/t.yml: runs[0].name: '{name}' is not a run name" in result.output
    assert checksums(project / "outputs") == before
    assert not (project / "escaped.ipynb").exists() and not (project.parent / "escaped.ipynb").exists()
    assert not (project / "outputs" / "runs" / "trivial-campaign").exists()


def test_runner_refuses_paths_outside_the_run_folder(project: Path,
                                                     other_campaign: tuple[Path, dict[str, str]]) -> None:
    """Even a ResolvedRun made without load_spec cannot write outside its own run folder."""
    import dataclasses

    from playbook.errors import RunError
    from playbook.runner.execute import run_campaign
    from playbook.runner.spec import load_spec

    run_dir, before = other_campaign
    cs = load_spec(write_spec(project / "playbooks" / "t.yml"))
    bad = dataclasses.replace(cs.runs[0], name=f"../../other-campaign/{run_dir.name}/trivial")
    cs = dataclasses.replace(cs, runs=[bad])
    with pytest.raises(RunError, match=r"other-campaign/.*/trivial.ipynb: outside the run folder "):
        run_campaign(cs)
    assert checksums(project / "outputs") == before
    assert not (project / "outputs" / "runs" / "trivial-campaign").exists() or not any(
        (project / "outputs" / "runs" / "trivial-campaign").iterdir())


@pytest.mark.parametrize("run_id", ["../other-campaign", "a/b", ".hidden", ""])
def test_run_ids_are_slugs(project: Path, run_id: str) -> None:
    from playbook.errors import RunError
    from playbook.runner.execute import new_run_dir

    with pytest.raises(RunError, match=r"run id '.*' is not a slug"):
        new_run_dir(project / "outputs" / "runs", "c", run_id)
    assert not (project / "outputs").exists()


def test_a_later_run_never_writes_into_a_past_run(project: Path) -> None:
    from datetime import datetime

    from playbook.runner.clock import FixedClock
    from playbook.runner.execute import run_specs

    write_spec(project / "playbooks" / "t.yml")
    clock = FixedClock(datetime(2027, 3, 1, 6, 0))
    (first,) = run_specs(["playbooks/t.yml"], progress=False, clock=clock)
    before = checksums(first.run_dir)
    (second,) = run_specs(["playbooks/t.yml"], progress=False, clock=clock)  # same second
    assert (first.run_id, second.run_id) == ("20270301T060000Z", "20270301T060000Z-1")
    assert checksums(first.run_dir) == before
    assert json.loads((second.run_dir / "trivial.outcome.json").read_text())["run_id"] == second.run_id
