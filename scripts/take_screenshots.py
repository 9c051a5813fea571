"""Serve CarePath on a free loopback port and save a headless-Chromium screenshot of every page.

    .venv/bin/python scripts/take_screenshots.py [--out docs/screenshots]

Uses the app's own data and models (CAREPATH_VAR_DIR, generated/trained on first use).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.local_server import free_port, headless_chromium, wait_healthy  # noqa: E402


def _shoot(driver, url: str, path: Path, ready_css: str, clicks: tuple = ()) -> None:
    driver.get(url)
    WebDriverWait(driver, 90).until(lambda d: d.find_elements(By.CSS_SELECTOR, ready_css))
    for css in clicks:
        element = driver.find_element(By.CSS_SELECTOR, css)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)
        time.sleep(3.0)
    time.sleep(2.5)  # let figures finish their transitions
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1440, min(max(height, 1000), 4000))
    time.sleep(1.0)
    driver.save_screenshot(str(path))
    print("saved", path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "--preload", "--no-control-socket",
                               "--bind", f"127.0.0.1:{port}", "wsgi:server"], cwd=ROOT)
    try:
        wait_healthy(base)
        from data.io import read_dataset
        from data.settings import get_settings
        from ml.registry import get_models

        settings = get_settings()
        top_patient = get_models(read_dataset(settings.data_dir), settings, log=lambda m: None).scores.iloc[0]
        driver = headless_chromium("--window-size=1440,2000", "--hide-scrollbars")
        try:
            pages = [
                ("overview.png", "/", ".js-plotly-plot .trace", ()),
                ("pathways.png", "/pathways", ".js-plotly-plot .sankey", ()),
                ("model.png", "/model", ".js-plotly-plot .trace", ()),
                ("worklist.png", "/worklist", ".ag-row", ()),
                ("patient.png", f"/patient?id={top_patient['patient_id']}", ".js-plotly-plot .trace", ()),
                ("scenarios.png", "/scenarios", ".js-plotly-plot .trace",
                 (".scenario-preset", "#scenario-truth-button")),
                ("journeys.png", "/journeys", "#journeys-variants-grid .ag-row", ()),
                ("quality.png", "/quality", "#quality-trend-graph .js-plotly-plot .trace", ()),
            ]
            for name, path, ready, click in pages:
                driver.set_window_size(1440, 2000)
                try:
                    _shoot(driver, base + path, args.out / name, ready, click)
                except Exception as error:  # keep the other pages' screenshots
                    print(f"could not capture {path}: {error}")
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
