"""Headless Chromium for the browser tests (the HTML report, the live board): Debian's package, which
`make test` installs; a browser test that cannot run fails, it is never skipped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        pytest.fail(
            "chromium is missing: `make test` installs Debian's chromium (apt-get install -y chromium)"
        )
    return found


def headless(url: str, profile: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """Open `url` in a fresh profile, offline but for localhost: anything from outside fails to load."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # tests run as root in CI
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        "--proxy-server=127.0.0.1:9",  # any fetch from outside would fail: the page must not need one
        f"--user-data-dir={profile}",
        *flags,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
