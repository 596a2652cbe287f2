"""The HTML report opens in a real headless Chromium with every image rendered."""

import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from grokking_tickets.report.claims import claim  # noqa: E402
from grokking_tickets.report.writer import write_reports  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _report(tmp_path: Path) -> Path:
    (tmp_path / "figures").mkdir()
    figs = []
    for i in range(2):
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1, 2], [0, i, 4])
        path = tmp_path / "figures" / f"f{i}.png"
        fig.savefig(path)
        plt.close(fig)
        figs.append(str(path))
    claims = [claim("C1", {"base t_gen": "20,000", "ticket t_gen": "500"}, True), claim("C7", {"x": 1}, False)]
    sections = [{"title": f"figure {i}", "figure": f, "notes": {"n": i}, "text": "arm t_gen"} for i, f in enumerate(figs)]
    _, html = write_reports(tmp_path, claims, sections, {"scale": "quick"}, 61.0)
    return html


def test_report_files_are_complete(tmp_path):
    html = _report(tmp_path).read_text()
    assert html.count("data:image/png;base64,") == 2 and "src='figures/" not in html  # self-contained
    assert "1 of 2</b> judged claims hold" in html and "does not hold" in html
    md = (tmp_path / "report.md").read_text()
    assert "| C1 |" in md and "figures/f0.png" in md and "torch:" in md


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
        shot = tmp_path / "report-screenshot.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 5000
        keep = Path("runs") / "test-artifacts"  # kept for a look after the run (git-ignored)
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / "report-screenshot.png")
    finally:
        driver.quit()
