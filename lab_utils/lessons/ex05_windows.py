"""Notebook 05's exercise check: event-time windows."""

from __future__ import annotations


from .verdict import Verdict, not_done, placeholder, verdict


def busiest_minute(answer, spark, table: str = "per_minute") -> Verdict:
    """Notebook 05: the start of the one-minute window with the most transactions in `table`."""
    if not_done(answer):
        return placeholder()
    best = spark.table(table).orderBy("transactions", ascending=False).first()
    if best is None:
        return Verdict(False, f"the table {table} is empty: run the windowed query first")
    want = best["minute"]["start"]
    got = getattr(answer, "to_pydatetime", lambda: answer)()
    return verdict(got == want, f"right: the minute starting at {want} had {best['transactions']:,} transactions",
                   f"{answer!r} is not it: order the table by transactions, descending, and take minute.start "
                   "of the first row")
