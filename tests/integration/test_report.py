"""The HTML report opens in a real headless Chromium with every image rendered."""

import shutil
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from grokking_tickets.experiments.norm_control import C7
from grokking_tickets.experiments.tickets import C1
from grokking_tickets.report.writer import write_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _report(tmp_path: Path) -> Path:
    (tmp_path / "figures").mkdir()
    figs = []
    for i, name in enumerate(("tickets", "norm-control")):  # the figures C1 and C7 are judged from
        fig = Figure(figsize=(4, 3))
        fig.subplots().plot([0, 1, 2], [0, i, 4])
        path = tmp_path / "figures" / f"{name}.png"
        fig.savefig(path)
        figs.append(str(path))
    claims = [C1.row("", {"base t_gen": "20,000", "ticket t_gen": "500"}, True), C7.row("", {"x": 1}, False)]
    sections = [{"title": f"figure {i}", "figure": f, "notes": {"n": i}, "text": "arm t_gen"} for i, f in enumerate(figs)]
    sections[0]["about"] = "What the <ticket> experiment asks."  # a paragraph under its heading, escaped
    _, html = write_reports(tmp_path, claims, sections, {"scale": "quick"}, 61.0)
    return html


def test_report_files_are_complete(tmp_path):
    html = _report(tmp_path).read_text()
    assert html.count("data:image/png;base64,") == 2 and "src='figures/" not in html  # self-contained
    assert "1 of 2</b> judged claims hold" in html and "does not hold" in html
    # each claim links to the figure it is judged from; the rule sits by the verdict, not in the numbers
    assert "href='#tickets'" in html and "id='tickets'" in html and "href='#norm-control'" in html
    assert "judged by: holds if every ticket seed groks and base mean t_gen / ticket mean t_gen &gt;= 2" in html
    assert "rule: holds" not in html
    assert html.index("<h2 id='claims'>Claims</h2>") < html.index("data:image/png")  # claims first
    # a table of contents links every section; the statistics are said once, above the table
    assert "<nav><b>Contents</b>" in html and "href='#figure-1'" not in html and "href='#norm-control'" in html
    assert html.count("9,999 resamples") == 1 and "href='#arithmetic'" in html and "id='arithmetic'" in html
    md = (tmp_path / "report.md").read_text()
    assert "| C1 |" in md and "figures/tickets.png" in md and "torch:" in md and "(#tickets)" in md
    assert "<p>What the &lt;ticket&gt; experiment asks.</p>" in html and "\nWhat the <ticket> experiment asks.\n" in md


def test_verdicts_old_rows_and_statistics_render(tmp_path):
    """A row written before the `verdict` field (only `holds`) still renders; a comparison that
    meets its direction without p < 0.05 shows as "not significant" with its n and p."""
    (tmp_path / "figures").mkdir()
    old = {"id": "C6", "statement": "old", "paper": "x", "measured": {"t": "1", "rule": "r"}, "holds": True}
    ns = C1.row("", {"base t_gen": "20,000", "n": {"base": 3, "ticket": 3}, "p": {"ticket < base": 0.05}},
                "not significant")  # fmt: skip
    _, html_path = write_reports(tmp_path, [ns, old, {**old, "id": "C8", "holds": None}], [], {}, None)
    html = html_path.read_text()
    assert "<b>1 of 2</b> judged claims hold (1 more: direction met, not significant at this n)" in html
    assert "class='ns'" in html and "<b>not significant</b>" in html and "<td>3</td><td class='num'>0.05</td>" in html
    assert "<b>holds</b>" in html and "<b>not run</b>" in html
    md = (tmp_path / "report.md").read_text()
    assert "| 3 | 0.05 | **not significant** |" in md and "**holds**" in md


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver")
def test_report_renders_in_headless_chromium(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    html = _report(tmp_path)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.set_window_size(1280, 2000)
        driver.get(html.as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(images) == 2
        assert all(done and w > 0 and h > 0 for done, w, h in images), images
        assert "C1" in driver.find_element("tag name", "table").text
        driver.set_window_size(1280, 400)  # short, so following a link must scroll
        driver.find_element("css selector", "a[href='#norm-control']").click()  # claim -> its figure
        assert driver.execute_script("return location.hash") == "#norm-control"
        assert driver.execute_script("return window.scrollY") > 0
        top = driver.execute_script("return document.getElementById('norm-control').getBoundingClientRect().top")
        assert -1 < top < driver.execute_script("return window.innerHeight"), top  # the figure is in view
        driver.set_window_size(1280, 2000)
        driver.execute_script("window.scrollTo(0, 0)")
        shot = tmp_path / "report-screenshot.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 5000
        keep = Path("runs") / "test-artifacts"  # kept for a look after the run (git-ignored)
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / "report-screenshot.png")
    finally:
        driver.quit()
