"""The notebooks' shape, in both languages, and the headless demo.

Every lesson is one bilingual source, notebooks/src/<lesson>.md; scripts/build_notebooks.py
writes notebooks/en/ and notebooks/fr/ from it. nbval executes the notebooks themselves
(pyproject: testpaths); these tests check what execution cannot: the two languages exist
together and run the same code, the notebooks are what their source says, the structure of a
lesson, French typography, and no committed output.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tokenize

import nbformat
import pytest

from lab_utils import config as lab_config
from lab_utils import demo

ROOT = lab_config.ROOT
NOTEBOOKS = lab_config.NOTEBOOKS_DIR
LANGS = lab_config.LANGUAGES
NAME = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
PATHS = {lang: sorted((NOTEBOOKS / lang).glob("*.ipynb")) for lang in LANGS}
ALL = [p for lang in LANGS for p in PATHS[lang]]
STEMS = sorted({p.stem for p in ALL})
# The headings every lesson has, per language (notebooks/README.md).
HEADINGS = {
    "en": ("**What you will learn**", "**What must be running", "**Time", "## Exercise", "### Solution",
           "## What you saw"),
    "fr": ("**Ce que vous allez apprendre**", "**Ce qui doit tourner", "**Durée", "## Exercice", "### Solution",
           "## Ce que vous avez vu"),
}
# Words a French text writes with an accent; their bare form means the accents were lost.
UNACCENTED = ("deja", "etape", "donnees", "requete", "resultat", "verifier", "derniere", "premiere", "memoire",
              "evenement", "reseau", "systeme", "cle ", "creer", "numero", "execute", "securite", "modele",
              "precision", "echec", "interet", "apres", "tres ", " ou se ", "a partir", "deuxieme")


def _load(path):
    return nbformat.read(path, as_version=4)


def _cells(path, kind):
    return [c for c in _load(path).cells if c.cell_type == kind]


def _code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def normalised_code(source: str) -> list[tuple[int, str]]:
    """The tokens of a code cell without comments, with every string literal replaced by "S":
    what must be the same in both languages (comments and printed strings may be translated)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tokens = []
    for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        if tok.type == tokenize.STRING or tok.type in (getattr(tokenize, "FSTRING_START", -1),):
            tokens.append((tokenize.STRING, "S"))
        else:
            tokens.append((tok.type, tok.string))
    return tokens


# --------------------------------------------------------------------------- the two languages


def test_every_lesson_exists_in_both_languages_and_comes_from_its_source():
    assert STEMS, "no notebooks in notebooks/en or notebooks/fr"
    for lang in LANGS:
        assert [p.stem for p in PATHS[lang]] == STEMS, f"notebooks/{lang} lacks {set(STEMS) - {p.stem for p in PATHS[lang]}}"
    sources = sorted(p.stem for p in (NOTEBOOKS / "src").glob("*.md"))
    assert sources == STEMS
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_notebooks.py"), "--check"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, f"a notebook differs from notebooks/src (edit the source, then `make notebooks`):\n{check.stderr}"


@pytest.mark.parametrize("stem", STEMS)
def test_both_languages_run_the_same_code(stem):
    en, fr = (_cells(NOTEBOOKS / lang / f"{stem}.ipynb", "code") for lang in ("en", "fr"))
    assert len(en) == len(fr), f"{len(en)} code cells in English, {len(fr)} in French"
    for i, (a, b) in enumerate(zip(en, fr)):
        assert normalised_code(a.source) == normalised_code(b.source), (
            f"code cell {i} differs beyond comments and strings:\n--- en\n{a.source}\n--- fr\n{b.source}")
        assert a.metadata.get("tags", []) == b.metadata.get("tags", []), f"code cell {i}: tags differ"


def test_the_parity_check_catches_a_changed_call_but_not_a_translated_comment():
    same = normalised_code('x = f(1)  # one\nprint("sent")')
    assert normalised_code('x = f(1)  # un\nprint("envoyé")') == same
    assert normalised_code('x = f(2)  # one\nprint("sent")') != same
    assert normalised_code('x = g(1)\nprint("sent")') != same


@pytest.mark.parametrize("stem", STEMS)
def test_the_french_is_a_translation(stem):
    en, fr = (_cells(NOTEBOOKS / lang / f"{stem}.ipynb", "markdown") for lang in ("en", "fr"))
    assert len(en) == len(fr)
    same = [i for i, (a, b) in enumerate(zip(en, fr)) if a.source == b.source and len(a.source.split()) > 3]
    assert not same, f"markdown cells {same} are the English text in the French notebook"


@pytest.mark.parametrize("stem", STEMS)
def test_french_typography_and_accents(stem):
    text = _markdown(_load(NOTEBOOKS / "fr" / f"{stem}.ipynb"))
    prose = re.sub(r"```.*?```|`[^`]*`|\]\([^)]*\)|https?://\S+", "", text, flags=re.S)
    tight = re.findall(r"\w[;?!:](?=\s|$)", prose)
    assert not tight, f"French wants a space before « : ; ? ! »: {tight[:5]}"
    lower = prose.lower()
    lost = [w for w in UNACCENTED if re.search(rf"\b{w.strip()}\b", lower)]
    assert not lost, f"words that lost their accents: {lost}"


# --------------------------------------------------------------------------- each lesson


@pytest.mark.parametrize("lang", LANGS)
def test_names_are_numbered_in_order_from_00(lang):
    names = [p.name for p in PATHS[lang]]
    bad = [n for n in names if not NAME.match(n)]
    assert not bad, f"notebook names must be NN_snake_title.ipynb: {bad}"
    numbers = [int(NAME.match(n).group(1)) for n in names]
    assert numbers == list(range(len(names))), f"numbers must run 00, 01, ... without gaps or repeats: {names}"


def test_the_story_is_there():
    assert STEMS[:3] == ["00_check_environment", "01_the_stack", "02_produce_from_a_cell"]
    assert set(demo.STORY) <= set(STEMS)


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_structure(path):
    lang = path.parent.name
    nb = _load(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(r"^# \S", first.source), "first cell must be a `# Title`"
    learn, running, time, exercise, solution, saw = HEADINGS[lang]
    for heading in (learn, running, time):
        assert heading in first.source, f"the first cell says {heading}"
    text = _markdown(nb)
    assert exercise in text and solution in text, "at least one exercise, with its solution"
    assert saw in text
    code = _code(nb)
    assert "checks." in code and "assert checks." in code, "the exercise needs a check, run on the solution too"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_without_outputs(path):
    nb = _load(path)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs: run `make notebooks` to write them clean"


@pytest.mark.parametrize("path", PATHS["en"], ids=lambda p: p.stem)
def test_no_fixed_sleeps_no_pasted_endpoints_every_query_stopped(path):
    code = _code(_load(path))
    assert "time.sleep" not in code and "sleep(" not in code, "no fixed sleeps: wait for a condition, with a timeout"
    pasted = re.findall(r"127\.0\.0\.1|localhost|:9092|:9000|minioadmin|s3a://\w", code)
    assert not pasted, f"endpoints come from lab_utils.config, not from cells: {pasted}"
    starts = code.count("pipeline.start(")
    stops = len(re.findall(r"\.stop\(\)", code)) + len(re.findall(r"with pipeline\.start\(", code))
    assert stops >= starts, "every started query is stopped (`.stop()` or a `with` block)"
    if "get_spark()" in code:
        assert code.rstrip().endswith("spark.stop()") or "spark.stop()" in code.splitlines()[-1], \
            "a notebook that starts Spark stops it in its last cell (frees memory and port 4040)"


# --------------------------------------------------------------------------- the demo


def test_demo_runs_the_story_headless_and_writes_the_plots(cfg, tmp_path):
    """`python -m lab_utils demo` executes the story's notebooks and saves their tagged plots."""
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "lab_utils", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in demo.STORY:
        executed = _load(out / f"{name}.ipynb")
        errors = [o for c in executed.cells if c.cell_type == "code" and "raises-exception" not in c.metadata.get("tags", [])
                  for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 4, pngs
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, f"{png.name} is not a real figure"
        assert str(png) in proc.stdout


def test_demo_without_the_stack_is_one_line(tmp_path):
    env_cfg = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    proc = subprocess.run([sys.executable, "-m", "lab_utils", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env_cfg})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "stack up" in proc.stderr, proc.stderr
