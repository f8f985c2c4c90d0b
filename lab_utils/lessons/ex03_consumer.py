"""Notebook 03's exercise checks: the consumer the student builds, step by step."""

from __future__ import annotations


from .verdict import Verdict, not_done, placeholder, verdict


def montant_eur(to_eur, spark) -> Verdict:
    """Notebook 03: `to_eur(df)` must add montant_eur = montant * taux_eur, rounded to cents."""
    if not_done(to_eur):
        return placeholder()
    rows = [(1, 100.0, 0.8621), (2, 19.99, 1.139), (3, 1500.0, 0.0061), (4, 42.5, 1.0), (5, 0.01, 0.0015)]
    df = spark.createDataFrame(rows, "transaction_id long, montant double, taux_eur double")
    try:
        result = to_eur(df)
    except Exception as e:  # noqa: BLE001 - shown to the student
        return Verdict(False, f"to_eur raised {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    if result is None or result is Ellipsis or "montant_eur" not in getattr(result, "columns", []):
        return Verdict(False, "to_eur should return a DataFrame with a column montant_eur (use df.withColumn)")
    got = {r.transaction_id: r.montant_eur for r in result.select("transaction_id", "montant_eur").collect()}
    want = {1: 86.21, 2: 22.77, 3: 9.15, 4: 42.5, 5: 0.0}
    wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) is None or abs(float(got[k]) - v) > 0.005}
    return verdict(not wrong, "right: every amount converted and rounded to cents",
                   "these ids are off (got, expected): " + ", ".join(f"{k}: {g} vs {w}" for k, (g, w) in wrong.items())
                   + " (multiply montant by taux_eur, then round to 2 decimals with F.round)")
