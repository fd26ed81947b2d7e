"""Credentials never reach the archive, and failure pages carry no path of this machine.

A secret is planted in the environment variable that names a SQL source's database; after
runs that succeed, fail in the query and fail with the value in the error, and a publish, no
file under outputs/ contains it.
"""

from __future__ import annotations

import json
import re
import site
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from tests.conftest import write_spec
from tests.test_sql_sources import _sql_notebook, make_crm

from playbook.cli import main
from playbook.errors import SpecError
from playbook.runner.spec import load_spec

SECRET = "s3cr3t-PLANTED-9f2c"
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ('  t: {sql: "select * from tickets -- password=hunter2", connection: crm.duckdb}\n', "data.t.sql"),
        ("  t: {sql: 'select * from tickets', connection: 'postgres://analyst:hunter2@db.internal/crm'}\n",
         "data.t.connection"),
        ("  t: {sql: 'select * from tickets', connection: 'crm.duckdb?token=hunter2'}\n", "data.t.connection"),
        ("  t: {sql: \"select * from tickets where note = 'api_key=hunter2'\", connection: crm.duckdb}\n",
         "data.t.sql"),
        ("  orders: 'https://analyst:hunter2@files.internal/orders.csv'\n", "data.orders"),
    ],
    ids=["password_in_sql", "url_with_password", "token_in_connection", "api_key_in_sql", "url_as_file"],
)
def test_a_credential_written_in_a_spec_is_refused(project: Path, data: str, key: str) -> None:
    make_crm(project / "crm.duckdb")
    write_spec(project / "playbooks" / "bad.yml", extra="data:\n" + data)
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    message = str(info.value)
    assert f"playbooks/bad.yml: {key}: looks like it holds" in message
    assert "environment variable" in message and "connection: {env: NAME}" in message
    assert "hunter2" not in message


def test_an_unset_environment_variable_is_named(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_DB", raising=False)
    write_spec(project / "playbooks" / "t.yml",
               extra="data:\n  t: {sql: 'select * from tickets', connection: {env: CRM_DB}}\n")
    with pytest.raises(SpecError, match=r"data\.t\.connection: environment variable CRM_DB is not set"):
        load_spec("playbooks/t.yml")


def _leaky_notebook(project: Path) -> None:
    """A template whose library repeats the connection in its error (as DuckDB does)."""
    nb = nbformat.read(project / "notebooks" / "sqlread.ipynb", as_version=4)
    nb.cells[0].source = "# leaky\n\nFixture template: fails quoting its connection."
    nb.cells[2].source = ("import os\n"
                          "raise RuntimeError('cannot open ' + os.environ['CRM_DB'] + ' right now')")
    nbformat.write(nb, project / "notebooks" / "leaky.ipynb")


@pytest.fixture
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database, in a folder outside the project whose name is the planted secret."""
    return make_crm(tmp_path_factory.mktemp("vault") / SECRET / "crm.duckdb")


@pytest.fixture
def published(project: Path, vault: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRM_DB", str(vault))
    _sql_notebook(project)
    _leaky_notebook(project)
    extra = (
        "data:\n"
        "  tickets: {sql: 'select * from tickets', connection: {env: CRM_DB}}\n"
        "  broken: {sql: 'select no_such_column from tickets', connection: {env: CRM_DB}}\n"
    )
    runs = ("  - template: sqlread\n"
            "  - template: sqlread\n    name: broken\n    parameters: {table: broken}\n"
            "  - template: leaky\n")
    write_spec(project / "playbooks" / "t.yml", runs=runs, extra=extra)
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    assert result.exit_code == 1, result.output  # broken and leaky fail, sqlread passes
    assert SECRET not in result.output
    result = CliRunner().invoke(main, ["publish"])
    assert result.exit_code == 0, result.output
    return project / "outputs"


def test_planted_secret_is_in_no_file_under_outputs(published: Path) -> None:
    (run_dir,) = (published / "runs" / "trivial-campaign").iterdir()
    manifest = json.loads((run_dir / "run.json").read_text())
    status = {t["name"]: t["status"] for t in manifest["templates"]}
    assert status == {"sqlread": "ok", "broken": "failed", "leaky": "failed"}
    outcome = json.loads((run_dir / "sqlread.outcome.json").read_text())
    assert outcome["metrics"] == {"rows": 6}
    broken = next(t for t in manifest["templates"] if t["name"] == "broken")
    assert "data.broken.sql:" in broken["error"]["evalue"] and "no_such_column" in broken["error"]["evalue"]
    leaky = next(t for t in manifest["templates"] if t["name"] == "leaky")
    assert "cannot open $CRM_DB right now" in leaky["error"]["evalue"]

    # the record and the kernel see the variable's name, not its value
    assert manifest["sources"]["tickets"] == {"sql": "select * from tickets", "connection": {"env": "CRM_DB"}}
    assert manifest["inputs"]["tickets"]["path"] == "$CRM_DB" and manifest["inputs"]["tickets"]["sha256"]
    nb = nbformat.read(run_dir / "sqlread.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "'env': 'CRM_DB'" in injected.source or '"env": "CRM_DB"' in injected.source

    files = [p for p in published.rglob("*") if p.is_file()]
    assert any(p.name == "catalog.json" for p in files) and any(p.suffix == ".html" for p in files)
    leaks = [str(p.relative_to(published)) for p in files if SECRET.encode() in p.read_bytes()]
    assert leaks == []


def _machine_paths(project: Path) -> list[str]:
    paths = {str(project.resolve()), str(Path.home()), sys.prefix, sys.base_prefix, str(REPO),
             sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"], *site.getsitepackages()}
    return sorted(p for p in paths if p and p != "/")


def test_failure_pages_show_a_short_error_and_no_machine_path(published: Path, project: Path) -> None:
    archive = published / "archive"
    pages = sorted(archive.glob("reports/trivial-campaign/*/*.html"))
    assert len(pages) == 3
    for page in pages + [archive / "index.html", archive / "catalog.json",
                         *archive.glob("campaigns/*.html")]:
        text = page.read_text(encoding="utf-8")
        for path in _machine_paths(project):
            assert path not in text, f"{page.name} shows {path}"

    (leaky,) = (p for p in pages if p.name == "leaky.html")
    html = leaky.read_text(encoding="utf-8")
    box = html.split('<section class="error-box">')[1].split("</section>")[0]
    short, _, details = box.partition("<details")
    assert "<strong>RuntimeError</strong>: cannot open $CRM_DB right now" in short
    assert "Traceback" not in short and "Cell In" not in short
    assert details.startswith(">") or details.startswith(' class="analysts">'), "closed by default"
    assert "raise RuntimeError" in details  # the traceback is there, for analysts

    catalog = json.loads((archive / "catalog.json").read_text(encoding="utf-8"))
    entry = next(r for r in catalog["reports"] if r["name"] == "broken")
    assert entry["status"] == "failed"
    assert "data.broken.sql:" in entry["manifest"]["error"]["evalue"]
    assert not re.search(r"File /", entry["manifest"]["error"]["traceback"])


def test_an_older_record_with_machine_paths_is_published_without_them(tmp_path: Path) -> None:
    """Records written before errors were cleaned: the publisher cleans them too."""
    from playbook.publish.site import publish

    here = str(Path.cwd().resolve())
    site_file = f"{site.getsitepackages()[0]}/duckdb/__init__.py"
    evalue = f"{here}/data/sample/events.parquet: table 'events' not found\nLINE 1: select * from events"
    trace = (f'File {REPO}/src/playbook/sources.py:191, in Warehouse.df\nFile {site_file}:12, in execute\n'
             f"File {Path.home()}/notes/x.py:3\nDataError: {evalue}")
    run_dir = tmp_path / "runs" / "weekly" / "20261124T060000Z"
    run_dir.mkdir(parents=True)
    manifest = {
        "campaign": "weekly", "run_id": run_dir.name, "status": "failed",
        "spec": {"title": "Weekly", "owner": "growth"}, "started_at": "2026-11-24T06:00:00+00:00",
        "templates": [{"name": "data_quality", "template": "data_quality", "status": "failed",
                       "error": {"ename": "DataError", "evalue": evalue, "traceback": trace}}],
    }
    (run_dir / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run_dir / "data_quality.outcome.json").write_text(json.dumps(
        {"status": "failed", "headline": "data_quality failed: DataError",
         "error": f"DataError: {evalue}"}), encoding="utf-8")
    publish(tmp_path / "runs", tmp_path / "archive")

    archive = tmp_path / "archive"
    page = (archive / "reports" / "weekly" / run_dir.name / "data_quality.html").read_text()
    catalog = (archive / "catalog.json").read_text()
    for text in (page, catalog, (archive / "index.html").read_text()):
        for path in _machine_paths(tmp_path):
            assert path not in text
    box = page.split('<section class="error-box">')[1].split("</section>")[0]
    short, _, details = box.partition("<details")
    assert "<strong>DataError</strong>: data/sample/events.parquet: table &#39;events&#39; not found</p>" in short
    assert "LINE 1" not in short and "File " not in short
    assert not details.startswith(" open") and " open>" not in details.split(">")[0]
    assert "LINE 1: select * from events" in details
    assert "File playbook/sources.py:191" in details and "site-packages/duckdb/__init__.py:12" in details
    assert "~/notes/x.py" in details
    entry = json.loads(catalog)["reports"][0]
    assert entry["manifest"]["error"]["evalue"].startswith("data/sample/events.parquet")
    assert entry["outcome"]["error"].startswith("DataError: data/sample/events.parquet")
