"""The shape of lab_utils (README, "Architecture"): layers that import one way, no import hidden
in a function, no private name reached from another module, every module documented, and a
package that installs with its subpackages. No service needed."""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lab_utils.config import ROOT

PACKAGE = ROOT / "lab_utils"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def module_name(path: Path) -> str:
    if not path.is_relative_to(ROOT):
        return path.stem
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_lab_modules(path: Path, node: ast.AST) -> list[str]:
    """The lab_utils modules an import statement names (relative imports resolved)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "lab_utils"]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        if mod.split(".")[0] != "lab_utils":
            return []
        return [mod] + [f"{mod}.{a.name}" for a in node.names]
    return []


def test_the_layers_contract_holds():
    """import-linter's `layers` contract from pyproject.toml: each layer imports only those below."""
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "1 kept, 0 broken" in out.stdout


def test_the_contract_names_every_top_level_module_and_package():
    """A module left out of the contract would escape it."""
    text = (ROOT / "pyproject.toml").read_text()
    layers = set(re.findall(r'"?(lab_utils\.\w+)', text.split("[[tool.importlinter.contracts]]", 1)[1]))
    top = {f"lab_utils.{p.stem if p.is_file() else p.name}" for p in PACKAGE.iterdir()
           if (p.suffix == ".py" and not p.name.startswith("__")) or (p / "__init__.py").exists()}
    assert top == layers, f"in the package but not in a layer: {top - layers}; in a layer but gone: {layers - top}"


def test_no_lab_utils_import_hides_inside_a_function():
    """Function-level imports are for heavy third-party libraries (pyspark, kafka) only: one of
    lab_utils's own would hide a dependency, or a cycle, from the contract."""
    hidden = []
    for path in MODULES:
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    if imported_lab_modules(path, node):
                        hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not hidden, hidden


def test_no_cycle_among_modules_counting_every_import():
    known = {module_name(p) for p in MODULES}
    graph: dict[str, set[str]] = {module_name(p): set() for p in MODULES if p.name != "__init__.py"}
    for path in MODULES:
        if path.name == "__init__.py":  # facades that re-export; the modules behind them count
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            for target in imported_lab_modules(path, node):
                if target in graph and target != module_name(path):
                    graph[module_name(path)].add(target)
    assert known  # the walk found the package
    # Depth-first search for a back edge.
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in graph:
        if start not in state:
            visit(start, [start])
    assert not cycles, cycles


def private_reach_ins(paths) -> list[str]:
    """`module._name` or `from module import _name` where the module is another lab_utils module."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text())
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and imported_lab_modules(path, node):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        found.append(f"{rel(path)}:{node.lineno} imports {a.name}")
                    aliases[a.asname or a.name] = True
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("lab_utils"):
                        aliases[(a.asname or a.name).split(".")[0]] = True
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in aliases):
                found.append(f"{rel(path)}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


def test_no_module_reaches_into_another_modules_private_names():
    tests = sorted((ROOT / "tests").rglob("*.py"))
    assert not private_reach_ins(MODULES + tests)


def test_the_private_reach_in_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from lab_utils.clients import kafka\nfrom lab_utils.pipeline.checkpoint import _HELD\n"
                   "kafka._private()\n")
    assert len(private_reach_ins([bad])) == 2


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_says_its_job(path):
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert path.name == "__main__.py" or (doc and len(doc.split()) >= 5), "a module docstring saying its single job"


def test_the_readme_maps_every_module():
    """README, "Architecture": one line per module."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"^\| `([^`]+)` \|", section, re.M)  # a row may name a pattern: `lessons/exNN_*.py`
    missing = [module_name(p) for p in MODULES if p.name not in ("__init__.py", "__main__.py")
               and not any(fnmatch.fnmatch(p.relative_to(PACKAGE).as_posix(), n.replace("NN", "[0-9][0-9]"))
                           for n in named)]
    assert not missing, f"not in README's Architecture section: {missing}"


def test_comments_point_to_documents_in_the_repository():
    """Comments may cite the contract and other documents only where a reader can open them."""
    cited = set()
    for path in [*MODULES, *(ROOT / "tests").rglob("*.py"), ROOT / "docker-compose.yml", ROOT / "Dockerfile.jupyter",
                 ROOT / "Makefile"]:
        cited |= {(path.relative_to(ROOT).as_posix(), m) for m in re.findall(r"\b([\w./-]+\.md)\b", path.read_text())}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    names = {Path(t).name for t in tracked} | {t for t in tracked}
    missing = sorted((src, doc) for src, doc in cited if doc not in names and Path(doc).name not in names)
    assert not missing, missing


def test_the_package_installs_with_its_subpackages(tmp_path):
    """`pip install .` picks up every subpackage: `python -m lab_utils --help` and
    `import lab_utils.pipeline` work from the installed copy, not from the repository."""
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(wheel_dir), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheel_dir.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(ROOT).as_posix() for p in MODULES}
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    code = "import lab_utils.pipeline, lab_utils.services, lab_utils.lessons; print(lab_utils.__file__)"
    where = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
    assert where.returncode == 0 and where.stdout.strip().startswith(str(target)), where.stdout + where.stderr
    helped = subprocess.run([sys.executable, "-m", "lab_utils", "--help"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert helped.returncode == 0 and "stack" in helped.stdout and "stream" in helped.stdout, helped.stderr
