"""Notebook 04's exercise checks: a question on the committed output, and a look inside a Parquet file.

    checks.highest_average_currency(highest_average_currency)   # the student's pandas function
    checks.montant_eur_range(montant_eur_range)                 # the student's pyarrow function

Each check runs the student's function on small cases it makes up, where every plausible wrong
answer (the largest total, the most transactions, the average of `montant` in its own currency,
one row group only, ...) gives another result than the right one, then on the real committed
output, whose answer the check computes itself. A hard-coded answer passes neither.
"""

from __future__ import annotations

import math
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients import storage
from .verdict import Verdict, not_done, placeholder

_ = i18n.catalog(__name__, {
    "not_a_function": {
        "en": "{name} should be a function (`def {name}(...):`), got {got}",
        "fr": "{name} doit être une fonction (`def {name}(...):`), pas {got}",
    },
    "raised": {
        "en": "on {case}, your function raised {error}",
        "fr": "sur {case}, votre fonction a levé {error}",
    },
    "case_made_up": {
        "en": "a small table the check made up",
        "fr": "une petite table inventée par la vérification",
    },
    "case_committed": {
        "en": "the committed output/",
        "fr": "la sortie validée de output/",
    },
    "no_output": {
        "en": "output/ has no committed rows yet: run notebook 03 (the pipeline) first, then this check again",
        "fr": "output/ ne contient encore aucune ligne validée : exécutez d'abord le notebook 03 (le pipeline), "
              "puis relancez cette vérification",
    },
    # highest_average_currency
    "not_a_code": {
        "en": "on {case}, your function returned {got}: return the currency code alone, a str such as \"USD\" "
              "(`.idxmax()` gives the label of the largest value)",
        "fr": "sur {case}, votre fonction a renvoyé {got} : renvoyez seulement le code de la devise, une str "
              "comme \"USD\" (`.idxmax()` donne l'étiquette de la plus grande valeur)",
    },
    "average_total": {
        "en": "on {case}, {got} has the largest total in EUR, not the largest average: use .mean(), not .sum()",
        "fr": "sur {case}, {got} a le plus gros total en EUR, pas la plus forte moyenne : utilisez .mean(), "
              "pas .sum()",
    },
    "average_count": {
        "en": "on {case}, {got} has the most transactions, not the largest average amount in EUR",
        "fr": "sur {case}, {got} a le plus de transactions, pas le plus fort montant moyen en EUR",
    },
    "average_local": {
        "en": "on {case}, {got} has the largest average of montant, which is in each currency's own unit "
              "(a yen is not a euro): average montant_eur",
        "fr": "sur {case}, {got} a la plus forte moyenne de montant, exprimé dans l'unité de chaque devise "
              "(un yen n'est pas un euro) : faites la moyenne de montant_eur",
    },
    "average_smallest": {
        "en": "on {case}, {got} has the smallest average, not the largest (idxmax, not idxmin)",
        "fr": "sur {case}, {got} a la plus petite moyenne, pas la plus grande (idxmax, pas idxmin)",
    },
    "average_median": {
        "en": "on {case}, {got} has the largest median, not the largest average (mean): use .mean()",
        "fr": "sur {case}, {got} a la plus forte médiane, pas la plus forte moyenne : utilisez .mean()",
    },
    "average_wrong": {
        "en": "on {case}, your function returned {got}, the right answer is {want}: group by devise, average "
              "montant_eur, and take the label of the largest",
        "fr": "sur {case}, votre fonction a renvoyé {got} au lieu de {want} : regroupez par devise, faites la "
              "moyenne de montant_eur et prenez l'étiquette de la plus grande",
    },
    "average_ok": {
        "en": "right on {cases} tables the check made up, and on {path}/: {currency}, {average} EUR on "
              "average over {count} transactions",
        "fr": "juste sur {cases} tables inventées par la vérification, et sur {path}/ : {currency}, "
              "{average} EUR en moyenne sur {count} transactions",
    },
    # montant_eur_range
    "case_file_made_up": {
        "en": "a Parquet file of {groups} row groups the check wrote",
        "fr": "un fichier Parquet de {groups} groupes de lignes écrit par la vérification",
    },
    "case_file_committed": {
        "en": "the committed file {path}",
        "fr": "le fichier validé {path}",
    },
    "not_a_pair": {
        "en": "on {case}, your function returned {got}: return a pair of numbers (min, max)",
        "fr": "sur {case}, votre fonction a renvoyé {got} : renvoyez une paire de nombres (min, max)",
    },
    "range_swapped": {
        "en": "on {case}, you returned (max, min): the smallest value comes first",
        "fr": "sur {case}, vous avez renvoyé (max, min) : la plus petite valeur vient en premier",
    },
    "range_first_group": {
        "en": "on {case}, {got} is the range of row group 0 only: the file has {groups} row groups, take the "
              "smallest min and the largest max over all of them (metadata.num_row_groups)",
        "fr": "sur {case}, {got} est l'intervalle du seul groupe de lignes 0 : le fichier en a {groups}, prenez "
              "le plus petit min et le plus grand max sur tous (metadata.num_row_groups)",
    },
    "range_other_column": {
        "en": "on {case}, {got} is the range of another column ({column}): find montant_eur by its name "
              "(column(i).path_in_schema)",
        "fr": "sur {case}, {got} est l'intervalle d'une autre colonne ({column}) : trouvez montant_eur par son "
              "nom (column(i).path_in_schema)",
    },
    "range_wrong": {
        "en": "on {case}, your function returned {got}, but montant_eur goes from {low} to {high}: read "
              "statistics.min and statistics.max of the montant_eur column chunk in every row group",
        "fr": "sur {case}, votre fonction a renvoyé {got}, alors que montant_eur va de {low} à {high} : lisez "
              "statistics.min et statistics.max du morceau de colonne montant_eur dans chaque groupe de lignes",
    },
    "range_ok": {
        "en": "right on a file of {groups} row groups the check wrote and on {files} committed files, e.g. "
              "{path}: montant_eur from {low} to {high} EUR",
        "fr": "juste sur un fichier de {groups} groupes de lignes écrit par la vérification et sur {files} "
              "fichiers validés, par exemple {path} : montant_eur de {low} à {high} EUR",
    },
})


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


def _describe(got) -> str:
    """A short, one-line description of an unexpected return value."""
    return f"{type(got).__name__} {' '.join(str(got).split())[:60]!r}"


def _callable(fn, name: str) -> Verdict | None:
    if not_done(fn):
        return placeholder()
    if not callable(fn):
        return Verdict(False, _("not_a_function", name=name, got=type(fn).__name__))
    return None


# --------------------------------------------------------------------------- highest average


def _transactions(rows: list[tuple[str, float, float]]):
    """A table with output/'s columns from (devise, montant, montant_eur) rows."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=["devise", "montant", "montant_eur"])
    df.insert(0, "transaction_id", range(1, len(df) + 1))
    df.insert(3, "taux_eur", (df["montant_eur"] / df["montant"]).round(6))
    df["event_time_local"] = pd.date_range("2026-03-29 01:40", periods=len(df), freq="37s")
    df["event_date"] = df["event_time_local"].dt.date
    return df


def average_cases() -> list:
    """Tables where the largest average in EUR, the largest total, the most transactions, the largest
    average of `montant`, the smallest average (and, in the second, the largest median) are different
    currencies, and the answer differs from table to table (so no fixed code passes)."""
    first = _transactions(
        [("EUR", 20.0, 20.0)] * 10               # the most transactions; the smallest average
        + [("USD", 100.0, 86.0)] * 5             # the largest total (430 EUR)
        + [("JPY", 30000.0, 183.0)] * 2          # the largest average of montant (yen)
        + [("GBP", 200.0, 230.0)]                # the largest average in EUR
        + [("CAD", 4.5, 3.0)])                   # the smallest average
    second = _transactions(
        [("GBP", 40.0, 46.0)] * 12                              # the most transactions, the largest total
        + [("CHF", 28.0, 30.0), ("CHF", 29.0, 31.0), ("CHF", 393.0, 420.5)]  # the largest average in EUR
        + [("AUD", 250.0, 150.0)] * 2                           # the largest median
        + [("XOF", 90000.0, 137.2)] * 2                         # the largest average of montant (CFA francs)
        + [("EUR", 5.0, 5.0)] * 3)                              # the smallest average
    return [first, second]


def _best(series, largest: bool = True) -> set[str]:
    """Every label whose value is the largest (or smallest): ties all count as right."""
    target = series.max() if largest else series.min()
    return {str(k) for k, v in series.items() if math.isclose(v, target, rel_tol=1e-12, abs_tol=1e-9)}


def _code(got) -> str | None:
    """The student's answer as a currency code, or None if it is not a single code."""
    if isinstance(got, bytes):
        got = got.decode(errors="replace")
    if isinstance(got, str):  # numpy.str_ is a str too
        return got.strip().upper()
    return None


def highest_average_currency(fn: Callable, output=None, path: str = "output",
                             cfg: _config.LabConfig | None = None) -> Verdict:
    """Notebook 04: `fn(df)` returns the currency (`devise`) with the largest average `montant_eur`.

    output: the committed output as pandas; by default the check reads it itself from `path` in the
    bucket (`storage.read_committed`), so an answer computed on a modified `output` cannot pass.
    """
    not_ready = _callable(fn, "highest_average_currency")
    if not_ready is not None:
        return not_ready
    if output is None:
        output = storage.read_committed(path, cfg=cfg, columns=["transaction_id", "montant", "devise", "taux_eur",
                                                           "montant_eur", "event_time_local"])
    if len(output) == 0:
        return Verdict(False, _("no_output"))
    made_up = average_cases()
    cases = [(_("case_made_up"), df) for df in made_up] + [(_("case_committed"), output)]
    for case, df in cases:
        try:
            got = fn(df.copy())
        except Exception as e:  # noqa: BLE001 - shown to the student
            return Verdict(False, _("raised", case=case, error=_first_line(e)))
        if not_done(got):
            return placeholder()
        code = _code(got)
        if code is None:
            return Verdict(False, _("not_a_code", case=case, got=_describe(got)))
        by_currency = df.groupby("devise")
        averages = by_currency["montant_eur"].mean()
        want = _best(averages)
        if code in want:
            continue
        for key, wrong in (("average_total", _best(by_currency["montant_eur"].sum())),
                           ("average_count", _best(by_currency.size())),
                           ("average_local", _best(by_currency["montant"].mean())),
                           ("average_smallest", _best(averages, largest=False)),
                           ("average_median", _best(by_currency["montant_eur"].median()))):
            if code in wrong:
                return Verdict(False, _(key, case=case, got=code))
        return Verdict(False, _("average_wrong", case=case, got=code, want=" / ".join(sorted(want))))
    currency = sorted(_best(output.groupby("devise")["montant_eur"].mean()))[0]
    mine = output[output["devise"] == currency]["montant_eur"]
    return Verdict(True, _("average_ok", cases=len(made_up), path=path, currency=currency,
                           average=i18n.format_number(mine.mean(), 2), count=i18n.format_number(len(mine))))


# --------------------------------------------------------------------------- a Parquet file's footer


def range_case(rows_per_group: int = 4):
    """A Parquet file (in memory) with output/'s first columns, in 3 row groups, where the range of
    montant_eur over the whole file, that of row group 0 and that of `montant` all differ.
    Returns (pyarrow.parquet.ParquetFile, number of row groups)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    devise = ["EUR", "USD", "JPY", "EUR", "GBP", "EUR", "USD", "CHF", "EUR", "JPY"]
    montant = [12.5, 100.0, 30000.0, 7.99, 40.0, 15.0, 2500.0, 1320.4, 64.9, 450.0]
    taux = {"EUR": 1.0, "USD": 0.86, "JPY": 0.0061, "GBP": 1.15, "CHF": 1.07}
    montant_eur = [round(m * taux[d], 2) for m, d in zip(montant, devise)]
    table = pa.table({
        "transaction_id": pa.array(range(1001, 1001 + len(devise)), pa.int64()),
        "montant": pa.array(montant, pa.float64()),
        "devise": pa.array(devise, pa.string()),
        "taux_eur": pa.array([taux[d] for d in devise], pa.float64()),
        "montant_eur": pa.array(montant_eur, pa.float64()),
    })
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=rows_per_group)
    parquet_file = pq.ParquetFile(pa.BufferReader(sink.getvalue()))
    return parquet_file, parquet_file.metadata.num_row_groups


def _column_ranges(parquet_file) -> dict[str, list[tuple[float, float]]]:
    """Per numeric column, the (min, max) of each row group, from the footer."""
    meta = parquet_file.metadata
    ranges: dict[str, list[tuple[float, float]]] = {}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            stats = chunk.statistics
            if stats is not None and stats.has_min_max and isinstance(stats.min, (int, float)):
                ranges.setdefault(chunk.path_in_schema, []).append((float(stats.min), float(stats.max)))
    return ranges


def _pair(got) -> tuple[float, float] | None:
    try:
        low, high = got
        return float(low), float(high)
    except (TypeError, ValueError):
        return None


def _same(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9) for x, y in zip(a, b))


def _judge_range(fn, parquet_file, want: tuple[float, float], case: str) -> Verdict | None:
    """None when `fn` gets `want` on this file; otherwise the ❌ with the likeliest mistake."""
    try:
        got = fn(parquet_file)
    except Exception as e:  # noqa: BLE001 - shown to the student
        return Verdict(False, _("raised", case=case, error=_first_line(e)))
    if not_done(got):
        return placeholder()
    pair = _pair(got)
    if pair is None:
        return Verdict(False, _("not_a_pair", case=case, got=_describe(got)))
    if _same(pair, want):
        return None
    shown = f"({pair[0]:g}, {pair[1]:g})"
    if _same(pair, want[::-1]):
        return Verdict(False, _("range_swapped", case=case))
    ranges = _column_ranges(parquet_file)
    groups = parquet_file.metadata.num_row_groups
    if groups > 1 and _same(pair, ranges.get("montant_eur", [(math.nan, math.nan)])[0]):
        return Verdict(False, _("range_first_group", case=case, got=shown, groups=groups))
    for column, per_group in ranges.items():
        whole = (min(lo for lo, _hi in per_group), max(hi for _lo, hi in per_group))
        if column != "montant_eur" and (_same(pair, whole) or _same(pair, per_group[0])):
            return Verdict(False, _("range_other_column", case=case, got=shown, column=column))
    return Verdict(False, _("range_wrong", case=case, got=shown, low=i18n.format_number(want[0], 2),
                            high=i18n.format_number(want[1], 2)))


def montant_eur_range(fn: Callable, files: list[str] | None = None, fs=None, path: str = "output",
                      max_files: int = 3, cfg: _config.LabConfig | None = None) -> Verdict:
    """Notebook 04: `fn(parquet_file)` returns (min, max) of montant_eur in a `pyarrow.parquet.ParquetFile`,
    over all its row groups, from the footer's statistics.

    Runs on a file of several row groups the check writes, then on the newest `max_files` committed
    files of `path` in the bucket (or on `files`, opened with the fsspec filesystem `fs`), comparing
    with the values the check reads from the data itself.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    not_ready = _callable(fn, "montant_eur_range")
    if not_ready is not None:
        return not_ready
    made_up, groups = range_case()
    column = made_up.read(columns=["montant_eur"]).column(0)
    failed = _judge_range(fn, made_up, (pc.min(column).as_py(), pc.max(column).as_py()),
                          _("case_file_made_up", groups=groups))
    if failed is not None:
        return failed
    if fs is None:
        cfg = cfg or _config.load()
        fs = storage.filesystem(cfg)
    if files is None:
        files = storage.committed_files(path, fs=fs, cfg=cfg)[-max_files:]
    if not files:
        return Verdict(False, _("no_output"))
    for file_path in files:
        with fs.open(file_path, "rb") as f:
            parquet_file = pq.ParquetFile(f)
            column = parquet_file.read(columns=["montant_eur"]).column(0)
            want = (pc.min(column).as_py(), pc.max(column).as_py())
            failed = _judge_range(fn, parquet_file, want, _("case_file_committed", path=file_path.rsplit("/", 1)[-1]))
        if failed is not None:
            return failed
    return Verdict(True, _("range_ok", groups=groups, files=len(files), path=files[-1].rsplit("/", 1)[-1],
                           low=i18n.format_number(want[0], 2), high=i18n.format_number(want[1], 2)))
