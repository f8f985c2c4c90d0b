"""lab_utils.lessons.verdict: what a check returns, and how it runs a student's function safely. No service."""

from __future__ import annotations

import threading

from lab_utils import checks, config
from lab_utils.lessons.verdict import call_within, raised


def test_a_verdict_is_truthy_only_when_right_and_shows_its_mark():
    assert checks.Verdict(True, "fine") and str(checks.Verdict(True, "fine")) == "✅ fine"
    assert not checks.Verdict(False, "off") and str(checks.Verdict(False, "off")) == "❌ off"


def test_the_placeholder_speaks_the_labs_language(lang):
    assert ("not done yet" if lang == "en" else "pas encore fait") in str(checks.placeholder())


def test_call_within_returns_the_value_or_the_exception():
    assert call_within(lambda a, b: a + b, 1, 2, timeout_s=10) == (True, 3)
    returned, error = call_within(lambda: 1 / 0, timeout_s=10)
    assert returned and isinstance(error, ZeroDivisionError)


def test_call_within_gives_up_on_a_function_that_never_returns():
    release = threading.Event()
    try:
        assert call_within(release.wait, timeout_s=0.2) == (False, None)
    finally:
        release.set()


def test_raised_names_the_error_in_the_labs_language(lang):
    said = str(raised("to_eur", KeyError("montant")))
    assert said.startswith(checks.FAIL) and "KeyError" in said and "montant" in said
    assert ("to_eur raised" if lang == "en" else "to_eur a levé") in said


def test_carry_on_uses_the_answer_only_when_it_passes(capsys):
    before = config.use_language("en")
    try:
        right = checks.Verdict(True, "right")
        wrong = checks.Verdict(False, "off by one")
        assert checks.carry_on(..., "solution", lambda a: right) == "solution"
        assert "not ready yet" in capsys.readouterr().out
        assert checks.carry_on("mine", "solution", lambda a: wrong) == "solution"
        assert "off by one" in capsys.readouterr().out
        assert checks.carry_on("mine", "solution", lambda a: right) == "mine"
        assert "your answer" in capsys.readouterr().out
    finally:
        config.use_language(before)
