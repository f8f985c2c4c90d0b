"""What a check says to a student: ✅ or ❌ and a hint, truthy when the answer is right.

A check does not raise on a wrong answer (the student reads the hint and tries again); the
notebooks run it on their solution with `assert`, so CI proves the solution passes.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .. import i18n

OK, FAIL, OPTIONAL = "✅", "❌", "➖"

_ = i18n.catalog(__name__, {
    "placeholder": {
        "en": "not done yet: replace the `...` in the exercise cell, run it, then run this check again",
        "fr": "pas encore fait : remplacez les `...` de la cellule d'exercice, exécutez-la, puis relancez "
              "cette vérification",
    },
    "yours": {
        "en": "the next cells use your answer",
        "fr": "les cellules suivantes utilisent votre réponse",
    },
    "raised": {
        "en": "{function} raised {error}",
        "fr": "{function} a levé {error}",
    },
    "solution_instead": {
        "en": "your answer is not ready yet ({why}): the next cells use the solution, so the lesson goes on",
        "fr": "votre réponse n'est pas encore prête ({why}) : les cellules suivantes utilisent la solution, "
              "pour que la leçon continue",
    },
})


@dataclass
class Verdict:
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return f"{OK if self.ok else FAIL} {self.message}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.ok else "#cf222e"
        return f"<p style='color:{color};font-weight:bold'>{html.escape(str(self))}</p>"


def not_done(answer) -> bool:
    """True while the exercise cell still holds its placeholder (`...` or None)."""
    return answer is Ellipsis or answer is None


def verdict(ok: bool, good: str, bad: str) -> Verdict:
    return Verdict(bool(ok), good if ok else bad)


def placeholder() -> Verdict:
    return Verdict(False, _("placeholder"))


def call_within(function: Callable, *args, timeout_s: float) -> tuple[bool, Any]:
    """Run a student's `function(*args)` in a thread: (True, its value, or the exception it raised), or
    (False, None) when it has not returned after `timeout_s` (a consumer that waits forever must not
    hang the check cell; the thread, a daemon, is left to the kernel)."""
    box: dict = {}

    def run():
        try:
            box["value"] = function(*args)
        except BaseException as e:  # noqa: BLE001 - reported to the student
            box["value"] = e

    thread = threading.Thread(target=run, daemon=True, name=f"lab-check-{getattr(function, '__name__', 'answer')}")
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return False, None
    return True, box.get("value")


def raised(name: str, error: BaseException) -> Verdict:
    """❌ `name` raised `error`: its type and the first line of its message."""
    text = str(error).splitlines()[0][:150] if str(error) else ""
    return Verdict(False, _("raised", function=name, error=f"{type(error).__name__}: {text}" if text
                            else type(error).__name__))


def carry_on(yours: Any, solution: Any, check: Callable[[Any], Verdict]) -> Any:
    """What the cells after an exercise build on: the student's answer when it passes `check`,
    otherwise the solution, saying which in one line. So a lesson runs on, top to bottom, with
    the student's own work where it is right, and "Run All" (CI) goes through with the solutions."""
    result = placeholder() if not_done(yours) else check(yours)
    if result:
        print(f"➡️ {_('yours')}")
        return yours
    print(f"➡️ {_('solution_instead', why=result.message)}")
    return solution
