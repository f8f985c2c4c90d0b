"""docs/glossary.md and docs/instructor.md: complete, in both languages, and true to the lab. No service needed."""

from __future__ import annotations

import re

import nbformat
import pytest

from lab_utils import cli
from lab_utils import config as lab_config

ROOT = lab_config.ROOT
GLOSSARY = ROOT / "docs" / "glossary.md"
GUIDE = ROOT / "docs" / "instructor.md"
# Every term the lessons rely on (issue 15: "every term defined ... and a short glossary").
TERMS = ("Kafka", "broker", "KRaft", "topic", "partition (Kafka)", "offset", "key", "acks", "consumer group", "lag",
         "retention", "S3", "bucket", "S3A", "MinIO", "Parquet", "row group", "Spark", "driver", "executor",
         "Structured Streaming", "micro-batch", "trigger", "sink", "append mode", "checkpoint", "`_spark_metadata`",
         "exactly-once", "watermark", "window", "state", "event time", "processing time", "idempotent producer",
         "tombstone", "footer", "schema", "statistics", "partition (storage)", "commit", "time zone")
# French data courses' words for some of them (the house's vocabulary).
FRENCH = {"offset": "décalage", "checkpoint": "point de contrôle", "micro-batch": "micro-lot", "watermark": "filigrane",
          "bucket": "compartiment", "window": "fenêtre", "row group": "groupe de lignes", "state": "état"}


def glossary_rows() -> list[list[str]]:
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 2 and cells[0] not in ("English", "---"):
            rows.append(cells)
    return rows


def test_the_glossary_has_every_term_in_both_languages():
    rows = glossary_rows()
    assert all(len(r) == 4 and all(r) for r in rows), [r for r in rows if len(r) != 4 or not all(r)]
    english = {term.strip() for r in rows for term in r[0].split(",")}
    missing = [t for t in TERMS if t not in english and not any(t in r[0] for r in rows)]
    assert not missing, f"the glossary lacks {missing}"
    same = [r[0] for r in rows if r[2] == r[3]]
    assert not same, f"definitions not translated: {same}"
    by_term = {r[0]: r for r in rows}
    for term, french in FRENCH.items():
        row = next(r for t, r in by_term.items() if term in t)
        assert french in row[1], f"{term}: French courses say « {french} », the glossary says {row[1]!r}"


def test_the_glossary_follows_french_typography():
    for row in glossary_rows():
        french = re.sub(r"`[^`]*`", "", row[1] + " " + row[3])
        tight = re.findall(r"\S ?[:;?!](?=\s|$)", french)
        plain_space = [t for t in tight if t[-2:-1] == " " or t[-2:-1].isalnum()]
        assert not plain_space, f"{row[0]}: French wants a no-break space before « : ; ? ! »: {plain_space}"


def test_the_readmes_link_the_glossary_and_the_guide():
    readme = (ROOT / "README.md").read_text()
    assert "(docs/glossary.md)" in readme and "(docs/instructor.md)" in readme
    assert "(../docs/glossary.md)" in (ROOT / "notebooks" / "README.md").read_text()


def _minutes(text: str) -> int | None:
    """"about 40 minutes" / "environ 2 heures" / "about 40 min" -> 40 / 120 / 40."""
    m = re.search(r"(\d+)\s*(min|hour|heure|h\b)", text)
    return None if not m else int(m.group(1)) * (1 if m.group(2) == "min" else 60)


def _stated_minutes(path) -> int | None:
    """The student time a notebook's first cell states (**Time:** / **Durée :** about N minutes or hours), if any."""
    first = nbformat.read(path, as_version=4).cells[0].source
    m = re.search(r"\*\*(?:Time|Durée)\s?:\*\*([^\n]*)", first)
    return _minutes(m.group(1)) if m else None


@pytest.mark.parametrize("path", sorted((lab_config.NOTEBOOKS_DIR / "en").glob("*.ipynb")), ids=lambda p: p.stem)
def test_the_guide_gives_each_notebooks_time_as_the_notebook_states_it(path):
    rows = [line for line in GUIDE.read_text(encoding="utf-8").splitlines()
            if line.startswith("|") and f"`{path.stem}`" in line]
    assert rows, f"docs/instructor.md has no timing row for {path.stem}"
    stated = _stated_minutes(path)
    assert stated, f"{path.stem}: its first cell states no **Time:** for a student"
    guide = _minutes(rows[0].split("|")[2])
    assert guide == stated, (f"{path.stem} states about {stated} minutes for a student; "
                             f"docs/instructor.md says: {rows[0]}")
    fr = _stated_minutes(lab_config.NOTEBOOKS_DIR / "fr" / path.name)
    assert fr == stated, f"{path.stem}: the French notebook states {fr} minutes, the English one {stated}"


def test_the_commands_the_guide_cites_exist():
    commands = set(cli.build_parser()._subparsers._group_actions[0].choices)
    cited = set(re.findall(r"python -m lab_utils (\w+)", GUIDE.read_text(encoding="utf-8")))
    assert cited and cited <= commands, f"the guide cites commands the CLI lacks: {cited - commands}"
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    made = set(re.findall(r"`make ([\w-]+)", GUIDE.read_text(encoding="utf-8")))
    assert made <= targets, f"the guide cites make targets the Makefile lacks: {made - targets}"


def test_the_french_readme_gives_the_two_commands_and_every_lesson():
    """Issue 16: a French README with the two commands and where to go next, linked both ways."""
    french = (ROOT / "README.fr.md").read_text(encoding="utf-8")
    assert "LAB_LANG=fr make lab" in french and "make test" in french
    assert "(README.md)" in french and "(README.fr.md)" in (ROOT / "README.md").read_text()
    stems = sorted(p.stem for p in (lab_config.NOTEBOOKS_DIR / "fr").glob("*.ipynb"))
    missing = [stem for stem in stems if f"`{stem}`" not in french]
    assert not missing, f"README.fr.md does not list {missing}"
