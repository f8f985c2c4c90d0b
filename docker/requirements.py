"""Print the pinned Python packages of pyproject.toml, one per line, for `pip install -r`.

Dockerfile.jupyter runs it so that the image installs exactly the pins of the native stack
(`pip install -e ".[test]"`): the dependencies and the [test] extras, which the smoke test run
inside the container needs. pyproject.toml stays the only place where a Python version is pinned.

    python docker/requirements.py [pyproject.toml] > requirements.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def pins(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    found = [*project["dependencies"], *project.get("optional-dependencies", {}).get("test", [])]
    loose = [p for p in found if "==" not in p]
    if loose:
        raise SystemExit(f"error: {pyproject} has unpinned packages {loose}: pin them with =="
                         " (the image must install what the native stack installs)")
    return found


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "pyproject.toml"
    print("\n".join(pins(path)))
