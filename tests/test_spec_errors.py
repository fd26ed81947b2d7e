"""Specs that cannot be read as given: not UTF-8, a folder, keys given twice, several bad specs
at once, numbers YAML reads as text. Each is an error (exit 2) naming the file and the fix,
before any kernel starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from tests.conftest import SPEC, write_spec

from playbook.cli import main
from playbook.errors import SpecError
from playbook.runner.spec import load_spec


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a kernel was started for an invalid spec")

    monkeypatch.setattr(papermill, "execute_notebook", boom)


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_a_spec_that_is_not_utf8(project: Path, no_kernel: None) -> None:
    path = write_spec(project / "playbooks" / "bad.yml")
    path.write_bytes(path.read_text().replace("Trivial campaign", "Campaña de prueba").encode("latin-1"))
    code, output = run_cli("run", "playbooks/bad.yml")
    assert (code, output) == (2, "error: playbooks/bad.yml: not UTF-8 text (byte 0xf1 on line 2); save "
                                 "the spec as UTF-8 (your editor's 'save with encoding', or `iconv -f "
                                 "latin1 -t utf-8`)\n")


def test_a_utf8_spec_with_a_byte_order_mark_reads(project: Path) -> None:
    path = write_spec(project / "playbooks" / "ok.yml")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_spec(path).spec.campaign == "trivial-campaign"


def test_a_folder_given_as_a_spec(project: Path, no_kernel: None) -> None:
    code, output = run_cli("run", "playbooks")
    assert (code, output) == (2, "error: playbooks: is a folder, not a spec; give a spec file (e.g. "
                                 "playbooks/<campaign>.yml) or several: playbook run playbooks/*.yml\n")


def test_keys_given_twice_name_the_line_and_the_key(project: Path, no_kernel: None) -> None:
    path = project / "playbooks" / "bad.yml"
    path.write_text(SPEC.format(campaign="dup", runs="  - template: trivial\n"
                                "    parameters: {times: 2, ratio: 0.1, times: 5}\n")
                    + "title: Another title\n", encoding="utf-8")
    code, output = run_cli("run", "playbooks/bad.yml")
    assert code == 2
    assert output.splitlines() == [
        "error: playbooks/bad.yml: line 9: key 'times' is given twice in the same mapping "
        "(first on line 9); keep one",
        "playbooks/bad.yml: line 11: key 'title' is given twice in the same mapping "
        "(first on line 2); keep one",
    ]


def test_merge_keys_may_be_overridden(project: Path) -> None:
    path = project / "playbooks" / "ok.yml"
    path.write_text(SPEC.format(campaign="merge", runs="  - template: trivial\n"
                                "    parameters: {<<: {times: 2, ratio: 0.1}, times: 5}\n"),
                    encoding="utf-8")
    (run,) = load_spec(path).runs
    assert run.parameters["times"] == 5 and run.parameters["ratio"] == 0.1


def test_every_problem_of_every_spec_is_reported_at_once(project: Path, no_kernel: None) -> None:
    write_spec(project / "playbooks" / "good.yml", campaign="good")
    write_spec(project / "playbooks" / "a.yml", campaign="a", runs="  - template: nope\n",
               extra="budget: 1\n")
    write_spec(project / "playbooks" / "b.yml", campaign="b",
               runs="  - template: trivial\n    parameters: {time: 2, ratio: lots}\n")
    (project / "playbooks" / "c.yml").write_text("campaign: [\n", encoding="utf-8")
    code, output = run_cli("run", "playbooks/a.yml", "playbooks/good.yml", "playbooks/b.yml",
                           "playbooks/c.yml", "playbooks/none.yml")
    assert code == 2
    assert output.splitlines() == [
        "error: playbooks/a.yml: top level: unknown key 'budget'; remove it or fix its spelling",
        "playbooks/b.yml: runs[0].parameters: unknown parameter 'time' for trivial (did you mean 'times'?)",
        "playbooks/b.yml: runs[0].parameters.ratio: parameter 'ratio' of trivial expects float, got "
        "'lots' (str); default is 0.5",
        "playbooks/c.yml: not valid YAML (line 2, column 1): expected the node content, but found "
        "'<stream end>'",
        "playbooks/none.yml: spec file not found",
    ]
    assert not (project / "outputs").exists()


@pytest.mark.parametrize(("given", "write"), [("1e12", "1.0e+12"), ("1E-3", "1.0e-3"),
                                              ("2.5e3", "2.5e+3"), ("-.5e+2", "-0.5e+2")])
def test_a_float_yaml_reads_as_text_says_how_to_write_it(project: Path, given: str, write: str) -> None:
    write_spec(project / "playbooks" / "bad.yml",
               runs=f"  - template: trivial\n    parameters: {{ratio: {given}}}\n")
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    assert str(info.value) == (
        f"playbooks/bad.yml: runs[0].parameters.ratio: parameter 'ratio' of trivial expects float, "
        f"got '{given}' (str); default is 0.5; YAML reads {given} as text: write {write}")
    assert isinstance(yaml.safe_load(write), float) and yaml.safe_load(write) == float(given)
    write_spec(project / "playbooks" / "ok.yml",
               runs=f"  - template: trivial\n    parameters: {{ratio: {write}}}\n")
    assert load_spec("playbooks/ok.yml").runs[0].parameters["ratio"] == float(given)


def test_an_int_yaml_reads_as_text_and_a_quoted_number(project: Path) -> None:
    write_spec(project / "playbooks" / "bad.yml",
               runs="  - template: trivial\n    parameters: {times: 1e3, ratio: '0.25'}\n")
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    assert str(info.value).splitlines() == [
        "playbooks/bad.yml: runs[0].parameters.times: parameter 'times' of trivial expects int, got "
        "'1e3' (str); default is 3; YAML reads 1e3 as text: write 1000",
        "playbooks/bad.yml: runs[0].parameters.ratio: parameter 'ratio' of trivial expects float, got "
        "'0.25' (str); default is 0.5; '0.25' is quoted, so YAML reads it as text: write 0.25 without quotes",
    ]


def test_text_that_is_no_number_gets_no_hint(project: Path) -> None:
    write_spec(project / "playbooks" / "bad.yml",
               runs="  - template: trivial\n    parameters: {ratio: nan, times: many}\n")
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    assert "YAML reads" not in str(info.value) and "quoted" not in str(info.value)
