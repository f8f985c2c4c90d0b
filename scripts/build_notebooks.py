"""Build the English and French notebooks from their one bilingual source.

    python scripts/build_notebooks.py            # writes notebooks/en/*.ipynb and notebooks/fr/*.ipynb
    python scripts/build_notebooks.py --check    # exit 1, naming them, if a committed notebook is stale

Why a source: the two languages must run the same code (the same numbers, the same checks), and
only the prose may differ. Each lesson is one text file, `notebooks/src/NN_title.md`, that holds
the code once and the prose twice; the notebooks are generated from it, committed without
outputs, and executed by CI (nbval) in both languages. Edit the source, then run this script
(`make notebooks`); tests/test_notebooks.py fails when a notebook was edited by hand.

The source format, line by line:

    %% md                       a markdown cell; its text follows in both languages:
    @en                          the English text, up to the next @fr
    @fr                          the French text, up to the next %%
    %% code [tags=a,b] [id=x]   a code cell, the same in both languages, except:
        ...   #@en               a line ending in `#@en` is kept (marker removed) in English only,
        ...   #@fr               and one ending in `#@fr` in French only (comments, printed strings)

Everywhere, `{{lang}}` becomes `en` or `fr` (a picture's folder, `checks.preflight(lang="{{lang}}")`).
Tags: `exercise`, `check`, `solution` (collapsed when the notebook opens), and nbval's own
(`nbval-ignore-output`, `raises-exception`, `nbval-skip`). French prose gets French typography:
the spaces typed before « : ; ? ! » become no-break spaces (outside code).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab_utils.config import LANGUAGES  # noqa: E402 - after the path, like any script of the repository
from lab_utils.i18n import french_typography  # noqa: E402

SOURCES = ROOT / "notebooks" / "src"
KNOWN_TAGS = {"exercise", "check", "solution", "nbval-ignore-output", "raises-exception", "nbval-skip"}
_HEADER = re.compile(r"^%% (md|code)(?:\s+(.*))?$")
_LANG_LINE = re.compile(r"\s*#@(en|fr)\s*$")
KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
          "language_info": {"name": "python", "version": "3.11"}}


class SourceError(ValueError):
    pass


def parse(path: Path) -> list[dict]:
    """The cells of a source file: {"type": "md", "en": ..., "fr": ...} or {"type": "code", "source", "tags", "id"}."""
    cells, current, lang = [], None, None
    for n, line in enumerate(path.read_text().split("\n"), 1):
        header = _HEADER.match(line)
        if header:
            kind, attrs = header.group(1), dict(a.split("=", 1) for a in (header.group(2) or "").split())
            unknown = set(attrs) - {"tags", "id"}
            if unknown:
                raise SourceError(f"{path.name}:{n}: unknown attribute {sorted(unknown)} (tags=, id= are known)")
            tags = [t for t in attrs.get("tags", "").split(",") if t]
            bad = [t for t in tags if t not in KNOWN_TAGS and not t.startswith("png:")]
            if bad:
                raise SourceError(f"{path.name}:{n}: unknown tag {bad}; known: {sorted(KNOWN_TAGS)} and png:NAME")
            current = {"type": kind, "lines": {"en": [], "fr": []} if kind == "md" else [], "tags": tags,
                       "id": attrs.get("id"), "line": n}
            cells.append(current)
            lang = None
            continue
        if current is None:
            if line.strip():
                raise SourceError(f"{path.name}:{n}: text before the first `%% md` or `%% code` line")
            continue
        if current["type"] == "md":
            if line.strip() in ("@en", "@fr"):
                lang = line.strip()[1:]
                continue
            if lang is None:
                if line.strip():
                    raise SourceError(f"{path.name}:{n}: markdown text before `@en`")
                continue
            current["lines"][lang].append(line)
        else:
            current["lines"].append(line)
    for cell in cells:
        if cell["type"] == "md":
            for lang in LANGUAGES:
                text = "\n".join(cell["lines"][lang]).strip("\n")
                if not text.strip():
                    raise SourceError(f"{path.name}:{cell['line']}: this markdown cell has no {lang} text")
                cell[lang] = text
        else:
            cell["source"] = "\n".join(cell["lines"]).strip("\n")
            if not cell["source"].strip():
                raise SourceError(f"{path.name}:{cell['line']}: empty code cell")
    return cells


def code_for(source: str, lang: str) -> str:
    """A code cell in one language: lines marked for the other language dropped, markers removed."""
    out = []
    for line in source.split("\n"):
        marked = _LANG_LINE.search(line)
        if marked is None:
            out.append(line)
        elif marked.group(1) == lang:
            out.append(line[: marked.start()].rstrip())
    return "\n".join(out).replace("{{lang}}", lang)


def notebook(cells: list[dict], lang: str, stem: str) -> dict:
    nb_cells = []
    for i, cell in enumerate(cells):
        cell_id = cell["id"] or f"{stem[:2]}-{i:02d}"
        if cell["type"] == "md":
            text = cell[lang].replace("{{lang}}", lang)
            text = french_typography(text) if lang == "fr" else text
            nb_cells.append({"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": _lines(text)})
        else:
            metadata: dict = {}
            if cell["tags"]:
                metadata["tags"] = cell["tags"]
            if "solution" in cell["tags"]:
                metadata["jupyter"] = {"source_hidden": True}  # collapsed until the student opens it
            nb_cells.append({"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": metadata,
                             "outputs": [], "source": _lines(code_for(cell["source"], lang))})
    return {"cells": nb_cells, "metadata": {**KERNEL, "lab": {"language": lang, "source": f"notebooks/src/{stem}.md"}},
            "nbformat": 4, "nbformat_minor": 5}


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def render(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def build(root: Path = ROOT) -> dict[Path, str]:
    """Every notebook the sources make: {path: file text}."""
    out = {}
    for src in sorted((root / "notebooks" / "src").glob("*.md")):
        cells = parse(src)
        for lang in LANGUAGES:
            out[root / "notebooks" / lang / f"{src.stem}.ipynb"] = render(notebook(cells, lang, src.stem))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from its source")
    args = parser.parse_args(argv)
    try:
        wanted = build()
    except SourceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    existing = {p for lang in LANGUAGES for p in (ROOT / "notebooks" / lang).glob("*.ipynb")}
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    orphans = sorted(existing - set(wanted))
    if args.check:
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)} (run `make notebooks`)", file=sys.stderr)
        for p in orphans:
            print(f"no source: {p.relative_to(ROOT)} (every notebook comes from notebooks/src/)", file=sys.stderr)
        return 1 if stale or orphans else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(wanted[p])
        print(f"wrote {p.relative_to(ROOT)}")
    for p in orphans:
        p.unlink()
        print(f"removed {p.relative_to(ROOT)} (no source)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
