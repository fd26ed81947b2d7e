"""The published archive in a real browser: headless Chromium, served over HTTP.

A small archive (one ok report with a table and a chart, one failed report, a campaign title
that tries to inject a script) is published once, served by ``http.server`` on 127.0.0.1 from
a background thread, and loaded with ``chromium --dump-dom`` (the DOM after the page's
JavaScript ran) and ``--screenshot``. Chromium is Debian's package, which ``make setup``
installs when run as root; without it the tests skip and say how to install it
(tests/browser.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.browser import CHROME_ARGS, require_chromium, serve
from tests.test_publish import FAILED_ERROR, OK_OUTCOME, XSS, failed_notebook, make_run, ok_notebook

from playbook.publish import publish

CHROMIUM = require_chromium()

CAMPAIGN, RUN_ID = "xss-campaign", "20261124T060000Z"
CHROME_FLAGS = ["--headless", *CHROME_ARGS]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    notebook = ok_notebook()
    # no cell opts in to showing its code, so no report page may show a code input
    notebook.cells = [c for c in notebook.cells if "show-code" not in c.metadata.get("tags", [])]
    make_run(
        root / "runs",
        CAMPAIGN,
        RUN_ID,
        [
            {"name": "data_quality", "status": "ok", "notebook": notebook, "outcome": OK_OUTCOME},
            {
                "name": "funnel_diagnosis",
                "status": "failed",
                "notebook": failed_notebook(),
                "error": FAILED_ERROR,
            },
        ],
        spec_extra={"title": XSS},
    )
    result = publish(root / "runs", root / "archive")
    assert result.failures == [] and result.reports == 2
    return root / "archive"


@pytest.fixture(scope="module")
def base_url(archive: Path) -> Iterator[str]:
    with serve(archive) as url:
        yield url


def chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with a throw-away profile; its stdout."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    done = subprocess.run(
        [CHROMIUM, *CHROME_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Elements(HTMLParser):
    """Start tags of a DOM dump: (tag, attributes) in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def classes(self) -> set[str]:
        return {c for _, attrs in self.tags for c in (attrs.get("class") or "").split()}


def test_index_in_the_browser(archive: Path, base_url: str, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", base_url + "index.html")
    elements = _Elements(dom)
    links = {a.get("href") for a in elements.find("a")}
    for name in ("data_quality", "funnel_diagnosis"):
        assert f"reports/{CAMPAIGN}/{RUN_ID}/{name}.html" in links, name
    assert f"campaigns/{CAMPAIGN}.html" in links
    # the failed report carries its badge; the row is marked failed
    assert '<span class="badge status-failed">failed</span>' in dom
    assert any("row-failed" in (tr.get("class") or "") for tr in elements.find("tr"))
    # the JavaScript ran: it reveals the filter box that is hidden without it
    boxes = [i for i in elements.find("input") if i.get("data-filter") == "reports"]
    assert boxes and all("hidden" not in box for box in boxes)
    # the title stayed text: no injected script element, the text shown escaped
    assert "<script>alert(1)</script>" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in dom
    scripts = elements.find("script")
    assert scripts and all((s.get("src") or "").endswith("static/playbook.js") for s in scripts)


def test_report_pages_in_the_browser(base_url: str, tmp_path: Path) -> None:
    ok = chromium(
        tmp_path, "--dump-dom", f"{base_url}reports/{CAMPAIGN}/{RUN_ID}/data_quality.html"
    )
    failed = chromium(
        tmp_path, "--dump-dom", f"{base_url}reports/{CAMPAIGN}/{RUN_ID}/funnel_diagnosis.html"
    )
    assert "TABLE_CELL" in ok and "data:image/png;base64," in ok
    assert "This report failed" in failed and "DataError" in failed
    for dom in (ok, failed):
        elements = _Elements(dom)
        assert not elements.find("textarea")
        assert not elements.classes() & {"input", "input_area", "jp-InputArea", "CodeMirror"}
        for source in ("HIDDEN_SRC", "PARAM_SRC", "INJECTED_SRC", "NOISE_SRC", "FAILING_SRC"):
            assert source not in dom, source
        assert "<script>alert(1)</script>" not in dom


def test_index_screenshot(base_url: str, tmp_path: Path) -> None:
    png = tmp_path / "index.png"
    chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,900", base_url + "index.html")
    assert png.exists()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
