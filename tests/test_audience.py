"""A spec's audience: tag sets from the store narrow every table with a user key, and add the tag
set's column to users for breakdowns (playbook.audience); the tag store itself (playbook.tags)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from tests.conftest import make_demo_project, run_cli

from playbook.errors import DataError, SpecError
from playbook.runner.spec import load_spec
from playbook.sources import Warehouse
from playbook.tags import TagStore, read_definitions, write_tag_set

DEFINITIONS = {"gold": {"meaning": "bought often", "rule": "F >= 4"},
               "it's odd": {"meaning": "a tag name with a quote", "rule": "odd user ids"},
               "rest": {"meaning": "everyone else", "rule": "otherwise"}}


def _write(root: Path, frame: pd.DataFrame, as_of: str = "2026-11-24", name: str = "rfm") -> None:
    write_tag_set(frame, tag_set=name, as_of=as_of, root=root, tags=DEFINITIONS, description="test tags",
                  computed="by hand", owner="growth-data", run={"campaign": "t", "run_id": "1"})


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with a three-table warehouse and a tag set in its store."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "playbooks").mkdir()
    data = tmp_path / "data" / "wh"
    data.mkdir(parents=True)
    pd.DataFrame({"user_id": [1, 2, 3, 4], "channel": ["a", "b", "a", "b"]}).to_parquet(data / "users.parquet")
    pd.DataFrame({"user_id": [1, 1, 2, 3, 4, 4, 4], "event": ["x"] * 7}).to_parquet(data / "events.parquet")
    pd.DataFrame({"channel": ["a", "b"], "spend": [10.0, 20.0]}).to_parquet(data / "spend.parquet")
    _write(tmp_path / "data" / "tags", pd.DataFrame({"user_id": [1, 2, 3], "tag": ["gold", "it's odd", "rest"]}))
    monkeypatch.setenv("PLAYBOOK_ROOT", str(tmp_path))
    return data


def test_an_audience_keeps_its_users_rows_and_leaves_tables_without_the_key_whole(tiny: Path) -> None:
    wh = Warehouse(tiny, {"audience": {"tag_set": "rfm", "tags": ["gold", "it's odd"], "as_of": "2026-11-24"}})
    users = wh.df("users").sort_values("user_id")
    assert users.user_id.tolist() == [1, 2]
    assert users.rfm.tolist() == ["gold", "it's odd"]  # the quote reached SQL as a literal
    assert sorted(wh.df("events").user_id) == [1, 1, 2]
    assert len(wh.df("spend")) == 2


def test_an_audience_without_tags_keeps_everyone_and_adds_the_tag_column(tiny: Path) -> None:
    wh = Warehouse(tiny, {"audience": {"tag_set": "rfm"}})
    users = wh.df("users").sort_values("user_id")
    assert users.user_id.tolist() == [1, 2, 3, 4]
    assert users.rfm.tolist()[:3] == ["gold", "it's odd", "rest"] and pd.isna(users.rfm.iloc[3])
    assert len(wh.df("events")) == 7
    # a breakdown by the tag set is plain SQL over the view
    counts = wh.sql(f"SELECT rfm, count(*) AS n FROM {wh.view('users')} GROUP BY ALL ORDER BY rfm NULLS LAST")
    assert counts.n.tolist() == [1, 1, 1, 1]


def test_audience_errors_name_the_key(tiny: Path) -> None:
    with pytest.raises(DataError, match=r"audience.tag_set: no tag set 'segments'.*tag sets: rfm"):
        Warehouse(tiny, {"audience": {"tag_set": "segments"}}).df("users")
    with pytest.raises(DataError, match=r"no snapshot as of 2026-01-01 \(it has 2026-11-24\)"):
        Warehouse(tiny, {"audience": {"tag_set": "rfm", "as_of": "2026-01-01"}}).df("users")
    with pytest.raises(DataError, match=r"audience.tag_set: 'RFM!' is not a tag set name"):
        Warehouse(tiny, {"audience": {"tag_set": "RFM!"}})
    with pytest.raises(DataError, match=r"audience: unknown key where"):
        Warehouse(tiny, {"audience": {"tag_set": "rfm", "where": "1=1"}})
    pd.DataFrame({"user_id": [1], "rfm": ["x"]}).to_parquet(tiny / "users.parquet")
    with pytest.raises(DataError, match=r"table 'users' already has a column 'rfm'"):
        Warehouse(tiny, {"audience": {"tag_set": "rfm"}}).df("users")


def test_the_store_keeps_every_snapshot_and_reads_the_latest(tiny: Path, tmp_path: Path) -> None:
    run_tags = tmp_path / "run" / "tags"
    _write(run_tags, pd.DataFrame({"user_id": [1, 2, 3, 4], "tag": ["gold", "gold", "rest", "rest"]}),
           as_of="2026-12-01")
    store = TagStore()
    assert store.promote(run_tags) == ["rfm"]
    (tag_set,) = store.sets()
    assert [s.as_of.isoformat() for s in tag_set.snapshots] == ["2026-11-24", "2026-12-01"]
    assert tag_set.latest is not None and tag_set.latest.counts == {"gold": 2, "rest": 2}
    assert store.read("rfm", tags=["gold"]).user_id.tolist() == [1, 2]
    assert store.read("rfm", as_of="2026-11-24", tags=["gold"]).user_id.tolist() == [1]
    assert tag_set.snapshot().run == {"campaign": "t", "run_id": "1"}
    # the definitions read back as written
    assert read_definitions(tag_set.folder).tags["gold"] == DEFINITIONS["gold"]


def test_a_tag_set_gives_each_user_one_defined_tag(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="1 users appear twice"):
        _write(tmp_path, pd.DataFrame({"user_id": [1, 1], "tag": ["gold", "rest"]}))
    with pytest.raises(DataError, match="tags without a definition: platinum"):
        _write(tmp_path, pd.DataFrame({"user_id": [1, 2], "tag": ["gold", "platinum"]}))
    with pytest.raises(DataError, match="'Value Tier' is not a tag set name"):
        _write(tmp_path, pd.DataFrame({"user_id": [1], "tag": ["gold"]}), name="Value Tier")
    assert not any(tmp_path.rglob("*.parquet"))  # nothing half-written


# -- through a spec ----------------------------------------------------------------------------------

FUNNEL = {"steps": ["visit", "register", "verify_identity"], "window_hours": 720.0,
          "entry_start": "2026-09-01", "entry_end": "2026-10-15", "breakdowns": ["rfm"]}


def _spec(root: Path, name: str, audience: dict[str, Any]) -> Path:
    path = root / "playbooks" / f"{name}.yml"
    path.write_text(yaml.safe_dump({
        "campaign": name, "title": "Audience", "owner": "growth", "hypothesis": "h",
        "ice": {"impact": 5, "confidence": 5, "ease": 5}, "audience": audience,
        "runs": [{"template": "funnel_diagnosis", "parameters": FUNNEL}]}))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_demo_project(tmp_path_factory, "audience", scale=0.25)
    for p in (root / "playbooks").glob("*.yml"):
        p.unlink()
    users = pd.read_parquet(root / "data" / "sample" / "users.parquet")
    tags = users.assign(tag=["gold" if d == "web" else "rest" for d in users.device])[["user_id", "tag"]]
    _write(root / "data" / "tags", tags)
    return root


def test_a_spec_with_an_unknown_tag_fails_before_anything_runs(project: Path) -> None:
    path = _spec(project, "typo", {"tag_set": "rfm", "tags": ["golden"]})
    with pytest.raises(SpecError, match=r"typo.yml: audience.tags: tag set 'rfm' has no tag 'golden'"):
        load_spec(path, root=project)
    path.unlink()


def test_a_funnel_runs_on_an_audience_and_breaks_down_by_its_tags(project: Path) -> None:
    _spec(project, "web-only", {"tag_set": "rfm", "tags": ["gold"]})
    _spec(project, "by-tag", {"tag_set": "rfm"})
    result = run_cli(project, "run", "--quiet", "playbooks/web-only.yml", "playbooks/by-tag.yml")
    assert result.exit_code == 0, result.output
    out = {}
    for name in ("web-only", "by-tag"):
        (run_dir,) = (project / "outputs" / "runs" / name).iterdir()
        out[name] = json.loads((run_dir / "funnel_diagnosis.outcome.json").read_text())
        manifest = json.loads((run_dir / "run.json").read_text())
        assert manifest["sources"]["audience"]["as_of"] == "2026-11-24"  # the snapshot it read
        assert "audience:rfm" in manifest["inputs"]
    # independent count: web users whose first visit falls in the entry period
    ev = pd.read_parquet(project / "data" / "sample" / "events.parquet")
    users = pd.read_parquet(project / "data" / "sample" / "users.parquet")
    first = ev[ev.event == "visit"].groupby("user_id").ts.min()
    entered = first[(first >= "2026-09-01") & (first < "2026-10-16")].index
    web = set(users.user_id[users.device == "web"])
    assert out["web-only"]["metrics"]["entrants"] == len(set(entered) & web)
    assert out["by-tag"]["metrics"]["entrants"] == len(entered)
    # the breakdown by the tag set names the planted weak segment (web verifies at half the rate)
    weakest = out["by-tag"]["details"]["weakest"]
    assert (weakest["breakdown"], weakest["segment"]) == ("rfm", "gold")


def test_a_missing_tag_set_fails_the_run_with_what_to_run(project: Path) -> None:
    _spec(project, "no-tags", {"tag_set": "value_tier"})
    result = run_cli(project, "run", "--quiet", "playbooks/no-tags.yml")
    assert result.exit_code == 1
    assert "no tag set 'value_tier'" in result.output and "segmentation" in result.output


def test_the_tags_command_lists_shows_and_exports_audiences(project: Path) -> None:
    users = pd.read_parquet(project / "data" / "sample" / "users.parquet")
    n_web = int((users.device == "web").sum())
    listed = run_cli(project, "tags", "list", "--today", "2026-12-02")
    assert listed.exit_code == 0, listed.output
    assert f"rfm: {len(users):,} users as of 2026-11-24, 8 days old; 3 tags, 1 snapshot; owner growth-data" in listed.output
    shown = run_cli(project, "tags", "show", "rfm")
    assert "gold: bought often [F >= 4]" in shown.output and "(run t/1)" in shown.output
    _spec(project, "web-export", {"tag_set": "rfm", "tags": ["gold"]})
    exported = run_cli(project, "tags", "export", "playbooks/web-export.yml")
    assert exported.exit_code == 0, exported.output
    csv = pd.read_csv(project / "outputs" / "audiences" / "web-export.csv")
    assert len(csv) == n_web and set(csv.tag) == {"gold"} and set(csv.as_of) == {"2026-11-24"}
    assert set(csv.user_id) == set(users.user_id[users.device == "web"])
    by_name = run_cli(project, "tags", "export", "rfm", "--tags", "rest", "-o", "rest.csv")
    assert by_name.exit_code == 0 and f"{len(users) - n_web:,} users written" in by_name.output
    bad = run_cli(project, "tags", "export", "rfm", "--tags", "platinum")
    assert bad.exit_code == 2 and "--tags: tag set 'rfm' has no tag 'platinum'" in bad.output
    nothing = run_cli(project, "tags", "export", "segments")
    assert nothing.exit_code == 2 and "TAG_SET: no tag set 'segments'" in nothing.output


def test_the_archive_has_a_tag_catalogue(project: Path) -> None:
    tags_dir = project / "data" / "tags"
    _write(tags_dir, pd.DataFrame({"user_id": [1, 2], "tag": ["gold", "it's odd"]}), as_of="2026-12-01",
           name="hostile")
    yaml_file = tags_dir / "hostile" / "tags.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("test tags", "<script>alert(1)</script>"))
    result = run_cli(project, "publish")
    assert result.exit_code == 0, result.output
    page = (project / "outputs" / "archive" / "tags.html").read_text()
    assert '<section class="tag-set" id="tag-set-rfm">' in page and "bought often" in page
    assert "it&#39;s odd" in page and "<script>alert" not in page and "&lt;script&gt;" in page
    users = pd.read_parquet(project / "data" / "sample" / "users.parquet")
    assert f"<td class=\"num\">{len(users):,}</td>" in page  # the rfm snapshot's size
    index = (project / "outputs" / "archive" / "index.html").read_text()
    assert 'href="tags.html"' in index
