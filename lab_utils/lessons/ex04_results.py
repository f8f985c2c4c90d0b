"""Notebook 04's exercise check: reading the committed output."""

from __future__ import annotations


from .verdict import Verdict, not_done, placeholder, verdict


def busiest_currency(answer, output) -> Verdict:
    """Notebook 04: the currency with the largest total in EUR, from the committed output."""
    if not_done(answer):
        return placeholder()
    totals = output.groupby("devise")["montant_eur"].sum()
    want = totals.idxmax()
    return verdict(str(answer).strip().upper() == want,
                   f"right: {want}, {totals.max():,.2f} EUR in all",
                   f"{answer!r} is not it: group by devise, sum montant_eur, and take the largest")
