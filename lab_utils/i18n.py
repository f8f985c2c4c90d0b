"""Student-facing texts in English and French, chosen by LAB_LANG (docs/contract.md, "Configuration").

Each module that talks to students keeps its own catalog, next to the code that uses it:

    _ = i18n.catalog(__name__, {
        "kafka_down": {"en": "Kafka is not reachable at {address}: run `make lab`",
                       "fr": "Kafka ne répond pas à {address} : lancez `make lab`"},
    })
    raise ServiceDown(_("kafka_down", address=cfg.KAFKA_BOOTSTRAP_SERVERS))

The language is LAB_LANG, which lab_utils.config reads (and a French notebook sets for its kernel
with `config.use_language("fr")`). A catalog refuses, when it is built, a text missing in one language or whose `{placeholders}`
differ between the two, so a translation cannot drift silently; tests/test_i18n.py walks every
catalog. French texts get French typography on the way in: the spaces that authors type before
« : ; ? ! » and inside « guillemets » become no-break spaces, so a line never starts with « : ».
"""

from __future__ import annotations

import re
import string
from typing import Callable

LANGUAGES = ("en", "fr")

_CATALOGS: dict[str, "Catalog"] = {}
# A space typed before a high punctuation mark, or inside guillemets, becomes a no-break space
# (narrow before ; ? !), as French typography wants.
_FRENCH_SPACES = [
    (re.compile(r" ([:])"), "\u00a0\\1"),
    (re.compile(r" ([;?!])"), "\u202f\\1"),
    (re.compile(r"« "), "«\u00a0"),
    (re.compile(r" »"), "\u00a0»"),
]
# What typography must not touch: `code`, markdown link targets, URLs.
_UNTOUCHED = re.compile(r"(`[^`]*`|\]\([^)]*\)|https?://\S+)")


def french_typography(text: str) -> str:
    """The spaces French typography wants: no-break before « : » (narrow before « ; ? ! »), inside « ».

    Text inside `code spans`, fenced code blocks, link targets and URLs stays as it is."""
    out, in_block = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_block = not in_block
        if in_block or line.lstrip().startswith("```"):
            out.append(line)
            continue
        parts = _UNTOUCHED.split(line)
        for i in range(0, len(parts), 2):
            for pattern, repl in _FRENCH_SPACES:
                parts[i] = pattern.sub(repl, parts[i])
        out.append("".join(parts))
    return "\n".join(out)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Catalog:
    """One module's texts, in every language of LANGUAGES. Calling it returns a text in the lab's language."""

    def __init__(self, name: str, texts: dict[str, dict[str, str]]):
        self.name = name
        self.texts: dict[str, dict[str, str]] = {}
        for key, by_lang in texts.items():
            missing = [lang for lang in LANGUAGES if not by_lang.get(lang)]
            if missing:
                raise ValueError(f"{name}: text {key!r} has no {', '.join(missing)} version")
            names = {lang: placeholders(by_lang[lang]) for lang in LANGUAGES}
            if len({frozenset(v) for v in names.values()}) != 1:
                raise ValueError(f"{name}: text {key!r} has different placeholders per language: {names}")
            self.texts[key] = {**by_lang, "fr": french_typography(by_lang["fr"])}

    def __call__(self, text_key: str, /, *, in_lang: str | None = None, **values) -> str:
        """The text `text_key` in `in_lang` (default: the lab's language), its placeholders filled from `values`.

        The odd parameter names leave every ordinary name (key, lang, topic, ...) free for placeholders."""
        return self.texts[text_key][in_lang or language()].format(**values)

    def __contains__(self, key: str) -> bool:
        return key in self.texts

    def lazy(self, key: str, **values) -> "LazyText":
        """Text `key`, looked up each time it is used: a module-level constant that follows the language."""
        return LazyText(self, key, values)


class LazyText:
    """A catalog text read when it is formatted (`f"{FIX}"`, `str(FIX)`, `FIX + "..."`), in the language of that moment."""

    def __init__(self, cat: Catalog, key: str, values: dict):
        self._catalog, self._key, self._values = cat, key, values

    def __str__(self) -> str:
        return self._catalog(self._key, **self._values)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __add__(self, other: str) -> str:
        return str(self) + other

    def __radd__(self, other: str) -> str:
        return other + str(self)

    def __repr__(self) -> str:
        return repr(str(self))


def number(value: float, decimals: int = 0, lang: str | None = None) -> str:
    """A number as the language writes it: 12,345.6 in English, 12 345,6 in French (narrow no-break space)."""
    text = f"{value:,.{decimals}f}"
    if (lang or language()) == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def catalog(name: str, texts: dict[str, dict[str, str]]) -> Catalog:
    """Build and register the catalog of module `name` (its `__name__`)."""
    cat = Catalog(name, texts)
    _CATALOGS[name] = cat
    return cat


def catalogs() -> dict[str, Catalog]:
    """Every catalog built so far (import the modules first), by module name."""
    return dict(_CATALOGS)


# Where the lab's language comes from. lab_utils.config, which reads LAB_LANG, plugs itself in
# when it is imported (this module sits below it and imports nothing of the lab's).
_language_source: Callable[[], str] = lambda: "en"


def set_language_source(source: Callable[[], str]) -> None:
    global _language_source
    _language_source = source


def language() -> str:
    """The language of student-facing texts: `fr` or `en` (LAB_LANG, read by lab_utils.config)."""
    lang = _language_source()
    return lang if lang in LANGUAGES else "en"


def format_number(value: float, decimals: int = 0, lang: str | None = None) -> str:
    """A number as each language writes it: 12,345.67 in English, 12 345,67 in French (a narrow
    no-break space between thousands, a decimal comma)."""
    text = f"{value:,.{decimals}f}"
    if (lang or language()) == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text
