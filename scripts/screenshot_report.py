"""Open a report.html in headless Chromium at a laptop's width and save what a reader sees.

    python scripts/screenshot_report.py results/paper/report.html docs/figures/report.png [--width 1366] [--height 900]

The first screen (``--height``; ``--full`` for the whole page) is what the README shows. Needs
Debian's chromium and chromium-driver (`.ci/run` installs them) and selenium (the dev extras).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path


def screenshot(html: Path, out: Path, width: int = 1366, height: int = 900, full: bool = False) -> Path:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        raise SystemExit("needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    with tempfile.TemporaryDirectory() as profile:
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                     "--no-first-run", f"--user-data-dir={profile}"):  # fmt: skip
            opts.add_argument(flag)
        driver = webdriver.Chrome(service=Service(driver_path), options=opts)
        try:
            driver.set_window_size(width, height)
            driver.get(html.resolve().as_uri())
            if full:
                total = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(width, total)
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--width", type=int, default=1366)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--full", action="store_true", help="the whole page, not its first screen")
    a = ap.parse_args()
    print(screenshot(a.html, a.out, a.width, a.height, a.full))


if __name__ == "__main__":
    main()
