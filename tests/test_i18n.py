"""Student-facing texts in English and French (lab_utils.i18n), chosen by LAB_LANG. No service needed."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import lab_utils
from lab_utils import config, i18n
from lab_utils.errors import ConfigError


def all_catalogs() -> dict[str, i18n.Catalog]:
    """Import every lab_utils module, so that every catalog is built, and return them."""
    for info in pkgutil.walk_packages(lab_utils.__path__, "lab_utils."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    return i18n.catalogs()


@pytest.fixture
def lang():
    """Yields a setter for this process's language; puts back the language chosen before."""
    before = config.use_language(None)
    yield config.use_language
    config.use_language(before)


def test_a_catalog_refuses_a_missing_language_or_different_placeholders():
    with pytest.raises(ValueError, match="no fr version"):
        i18n.Catalog("t", {"k": {"en": "hello"}})
    with pytest.raises(ValueError, match="different placeholders"):
        i18n.Catalog("t", {"k": {"en": "at {address}", "fr": "à {adresse}"}})


def test_french_typography():
    text = i18n.french_typography("Kafka ne répond pas : lancez `python -m lab_utils stack up` ; voir "
                                  "http://127.0.0.1:9000 ? « oui » [lien](https://a.b/c:d)")
    assert text == ("Kafka ne répond pas\u00a0: lancez `python -m lab_utils stack up`\u202f; voir "
                    "http://127.0.0.1:9000\u202f? «\u00a0oui\u00a0» [lien](https://a.b/c:d)")


def test_the_language_comes_from_the_kernel_then_lab_lang_then_english(lang, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("LAB_LANG=fr\n")
    assert config.language(env={}, env_file=tmp_path / "none") == "en"
    assert config.language(env={}, env_file=env_file) == "fr"
    assert config.language(env={"LAB_LANG": "en"}, env_file=env_file) == "en"
    lang("fr")
    assert config.language(env={"LAB_LANG": "en"}, env_file=env_file) == "fr"
    with pytest.raises(ConfigError, match="LAB_LANG doit valoir l'une de ces langues : en, fr"):
        lang("de")
    lang("en")
    with pytest.raises(ConfigError, match="LAB_LANG must be one of en, fr"):
        lang("de")


def test_a_catalog_speaks_the_kernels_language(lang):
    cat = i18n.Catalog("t", {"down": {"en": "Kafka is down: run {cmd}", "fr": "Kafka ne répond pas : lancez {cmd}"}})
    lang("fr")
    assert cat("down", cmd="`make lab`") == "Kafka ne répond pas\u00a0: lancez `make lab`"
    lang("en")
    assert cat("down", cmd="`make lab`") == "Kafka is down: run `make lab`"


def test_every_catalog_has_both_languages_and_french_typography():
    catalogs = all_catalogs()
    assert catalogs, "no module registers a catalog"
    for name, cat in catalogs.items():
        for key, texts in cat.texts.items():
            assert set(texts) >= set(config.LANGUAGES), (name, key)
            fr = re.sub(r"`[^`]*`|https?://\S+", "", texts["fr"])
            assert not re.search(r"\w[;?!:](\s|$)", fr), f"{name}.{key}: French wants a space before : ; ? !"
            assert texts["fr"] != texts["en"] or len(texts["en"].split()) <= 2, f"{name}.{key} is not translated"


def test_no_function_rebinds_the_catalog_name():
    """`for _ in ...` or `x, _ = ...` inside a function of a module with a catalog makes `_` a local there:
    the module's `_("key")` in that function would then call an int or a tuple, and only on the error path."""
    import ast

    found = []
    for path in sorted((config.ROOT / "lab_utils").rglob("*.py")):
        tree = ast.parse(path.read_text())
        if "i18n.catalog(" not in path.read_text():
            continue
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                args = func.args.args + func.args.kwonlyargs + func.args.posonlyargs
                # A comprehension's variables live in its own scope: they shadow nothing.
                in_comprehension = {id(n) for comp in ast.walk(func) if isinstance(comp, ast.comprehension)
                                    for n in ast.walk(comp.target)}
                names = [a.arg for a in args] + [n.id for n in ast.walk(func) if isinstance(n, ast.Name)
                                                 and isinstance(n.ctx, ast.Store) and id(n) not in in_comprehension]
                if "_" in names:
                    found.append(f"{path.relative_to(config.ROOT)}:{func.lineno}")
    assert not found, found


def test_numbers_follow_the_language(lang):
    lang("en")
    assert i18n.number(1234567.891, 1) == "1,234,567.9" and i18n.number(12) == "12"
    lang("fr")
    assert i18n.number(1234567.891, 1) == "1\u202f234\u202f567,9"


def test_a_lazy_text_follows_the_language_where_it_is_formatted(lang):
    from lab_utils.pipeline import FIX_RESET

    lang("en")
    assert f"{FIX_RESET}".startswith("run `python -m lab_utils stack reset`")
    lang("fr")
    assert f"{FIX_RESET}".startswith("lancez `python -m lab_utils stack reset`") and "x " + FIX_RESET != ""
