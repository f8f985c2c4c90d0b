"""Where the browser test finds Chromium (issue 15, point 8).

Playwright cannot download its own browser build here, so tests/test_browser.py drives the
system's Chromium through `executable_path`. Standard library only: the Makefile runs this file
as a script, before and outside the test suite, to print one line when Chromium is missing.

There is no environment variable for another location: PATH already is that override (put the
browser's folder first on PATH), and lab settings are read only by lab_utils.config.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# Debian's package first: it is what .ci/run installs and what the test is checked against.
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = ("the browser test (tests/test_browser.py) needs Chromium: `sudo apt-get install chromium` "
                "(Debian/Ubuntu); until then it is skipped")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None."""
    for name in CANDIDATES:
        if "/" in name:
            path = Path(name)
            if path.is_file() and path.stat().st_mode & 0o111:
                return str(path)
        elif found := shutil.which(name):
            return found
    return None


def browser_required() -> bool:
    """True in CI: .ci/run sets LAB_CI=1 after installing Chromium, so a missing browser there is a
    failure, not a skip. A switch of the test harness, not a lab setting (those are read only by
    lab_utils.config), hence read here and nowhere else."""
    return os.environ.get("LAB_CI") == "1"


if __name__ == "__main__":  # make test and .ci/run: one line and exit 1 when Chromium is missing
    if find_chromium() is None:
        print(f"note: {INSTALL_HINT}", file=sys.stderr)
        sys.exit(1)
