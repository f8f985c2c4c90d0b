"""What a check says to a student: ✅ or ❌ and a hint, truthy when the answer is right.

A check does not raise on a wrong answer (the student reads the hint and tries again); the
notebooks run it on their solution with `assert`, so CI proves the solution passes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

OK, FAIL, OPTIONAL = "✅", "❌", "➖"


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
    return Verdict(False, "not done yet: replace the `...` in the exercise cell, run it, then run this check again")
