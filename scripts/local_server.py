"""Helpers for tools that serve CarePath on loopback and drive it with headless Chromium
(the benchmark and the screenshot script)."""
from __future__ import annotations

import os
import socket
import time
import urllib.request

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, timeout: float = 900, poll: float = 0.2) -> None:
    """Block until ``base/healthz`` answers 200 (data and models loaded)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(poll)
    raise TimeoutError(f"{base} did not become healthy within {timeout:.0f} s")


def headless_chromium(*extra_flags: str):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    for flag in (*CHROMIUM_FLAGS, *extra_flags):
        options.add_argument(flag)
    return webdriver.Chrome(options=options)
