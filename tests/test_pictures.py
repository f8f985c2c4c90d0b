"""The lessons' pictures (notebooks/pictures/): drawn by scripts/draw_pictures.py, committed up to date,
well-formed and self-contained, in both languages, the French ones really translated.

Needs no service: the drawing script uses the standard library only.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "draw_pictures.py"
PICTURES = ROOT / "notebooks" / "pictures"
LANGS = ("en", "fr")
SVG = "{http://www.w3.org/2000/svg}"
PATHS = sorted(PICTURES.glob("*/*.svg"))
NAMES = sorted({p.stem for p in PATHS})


def _texts(path: Path) -> list[str]:
    """The words a reader sees or hears: the title, the description, each label in prose.

    Labels in the monospace font are technical names (topics, folders, code) and numbers and
    times are the same in every language: neither counts.
    """
    root = ET.parse(path).getroot()
    return ["".join(e.itertext()).strip() for e in root.iter()
            if e.tag in (SVG + "title", SVG + "desc", SVG + "text") and "font-family" not in e.attrib
            and re.search(r"[^\W\d_]{3}", "".join(e.itertext()))]


def test_the_committed_pictures_are_what_the_script_draws():
    run = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, f"stale pictures:\n{run.stderr}"


def test_both_languages_have_the_same_pictures():
    found = {lang: sorted(p.stem for p in (PICTURES / lang).glob("*.svg")) for lang in LANGS}
    assert found["en"], "no pictures in notebooks/pictures/en/"
    assert found["en"] == found["fr"], f"pictures in one language only: {set(found['en']) ^ set(found['fr'])}"
    assert {p.parent.name for p in PATHS} == set(LANGS), "pictures live in notebooks/pictures/<lang>/ only"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_picture_is_accessible_and_self_contained(path: Path):
    text = path.read_text(encoding="utf-8")
    root = ET.fromstring(text)  # well-formed XML, or this raises
    assert root.tag == SVG + "svg"
    view_box = root.get("viewBox", "").split()
    assert len(view_box) == 4 and all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in view_box), "needs a viewBox"
    title = root.find(SVG + "title")
    assert title is not None and (title.text or "").strip(), "needs a <title> (what a screen reader says)"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == path.parent.name, "xml:lang = its folder"
    # Nothing fetched from elsewhere: no linked image or font, no stylesheet import.
    assert 'href="http' not in text and "href='http" not in text
    assert "<image" not in text and "@import" not in text and "url(http" not in text


@pytest.mark.parametrize("name", NAMES)
def test_the_french_picture_is_translated(name: str):
    en, fr = (_texts(PICTURES / lang / f"{name}.svg") for lang in LANGS)
    assert en[0] != fr[0], f"{name}: the French <title> is the English one"
    assert en != fr, f"{name}: the French picture has the English words"
    # A few words are the same in both (Kafka, MinIO, "partitions"); most must not be.
    same = set(en) & set(fr)
    assert len(same) < 0.5 * len(set(fr)), f"{name}: {len(same)} of {len(set(fr))} French labels are English: {same}"


@pytest.mark.parametrize("name", NAMES)
def test_both_languages_draw_the_same_shapes(name: str):
    """One drawing function per picture: only the words may differ, never the layout."""
    def shapes(lang):
        root = ET.parse(PICTURES / lang / f"{name}.svg").getroot()
        return [(e.tag, sorted(e.attrib.items())) for e in root.iter()
                if e.tag not in (SVG + "title", SVG + "desc", SVG + "text", SVG + "svg")]
    assert shapes("en") == shapes("fr")


def test_pictures_referenced_by_notebooks_exist():
    """A notebook's ![...](…pictures/<lang>/<name>.svg) must point at a picture that exists."""
    missing = []
    for nb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        for ref in re.findall(r"[\w./-]*pictures/[\w./-]+\.svg", nb.read_text(encoding="utf-8")):
            if not (nb.parent / ref).resolve().is_file():
                missing.append(f"{nb.relative_to(ROOT)}: {ref}")
    assert not missing, "pictures referenced but not found (run python scripts/draw_pictures.py?):\n" + "\n".join(missing)
