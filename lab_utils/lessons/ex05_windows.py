"""Notebook 05's exercise check: event-time windows, shown and compared in one time zone.

    checks.busiest_minute(busiest_minute, spark)    # the student's function on the per-minute table

The notebook's windowed table gives each one-minute window as `start_local` / `end_local`, the
wall clock of LAB_TIMEZONE (timestamp_ntz, like `event_time_local` in output/), because Spark
shows a `timestamp` in the session's zone (UTC in the lab) while `collect()` hands Python a naive
datetime in the machine's own zone: three zones for one instant. So the check compares in
LAB_TIMEZONE: a naive answer is a wall-clock time there, an aware one is converted to it.

It runs the student's function on tables it makes up, where the busiest minute, the one with
the most euros, the quietest, the latest and the first row are all different, and one where two
minutes tie (either is right), then on the notebook's table, whose busiest minutes it finds itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from .. import config as _config
from .. import i18n
from .verdict import Verdict, not_done, placeholder

SCHEMA = "start_local timestamp_ntz, end_local timestamp_ntz, transactions long, eur double"

_ = i18n.catalog(__name__, {
    "not_a_function": {
        "en": "busiest_minute should be a function (`def busiest_minute(table):`), got {got}",
        "fr": "busiest_minute doit être une fonction (`def busiest_minute(table):`), pas {got}",
    },
    "case_made_up": {
        "en": "a table the check made up",
        "fr": "une table inventée par la vérification",
    },
    "case_tie": {
        "en": "a table the check made up, where {a} and {b} tie",
        "fr": "une table inventée par la vérification, où {a} et {b} sont à égalité",
    },
    "case_real": {
        "en": "the table {table}",
        "fr": "la table {table}",
    },
    "no_table": {
        "en": "there is no table {table} yet, or it is empty: run the cells of the windowed query above first",
        "fr": "la table {table} n'existe pas encore, ou elle est vide : exécutez d'abord les cellules de la "
              "requête fenêtrée plus haut",
    },
    "raised": {
        "en": "on {case}, your function raised {error}",
        "fr": "sur {case}, votre fonction a levé {error}",
    },
    "not_a_datetime": {
        "en": "on {case}, your function returned {got}: return the datetime in start_local "
              "(e.g. `row[\"start_local\"]` of the row you found)",
        "fr": "sur {case}, votre fonction a renvoyé {got} : renvoyez le datetime de start_local "
              "(par exemple `row[\"start_local\"]` de la ligne trouvée)",
    },
    "by_eur": {
        "en": "on {case}, {got} is the minute with the most euros (eur), not the most transactions",
        "fr": "sur {case}, {got} est la minute où il y a le plus d'euros (eur), pas le plus de transactions",
    },
    "quietest": {
        "en": "on {case}, {got} is the quietest minute: sort by transactions in descending order "
              "(`F.desc(\"transactions\")`)",
        "fr": "sur {case}, {got} est la minute la plus calme : triez les transactions par ordre décroissant "
              "(`F.desc(\"transactions\")`)",
    },
    "end_not_start": {
        "en": "on {case}, {got} is where the busiest minute ends: return its start_local",
        "fr": "sur {case}, {got} est la fin de la minute la plus chargée : renvoyez son start_local",
    },
    "utc": {
        "en": "on {case}, {got} is the busiest minute in UTC; the table shows, and the check compares, the wall "
              "clock of {zone}: return start_local as it is (or an aware datetime)",
        "fr": "sur {case}, {got} est la minute la plus chargée en UTC ; la table affiche, et la vérification "
              "compare, l'heure locale de {zone} : renvoyez start_local tel quel (ou un datetime avec fuseau)",
    },
    "wrong": {
        "en": "on {case}, your function returned {got}, the busiest minute starts at {want}: order the table by "
              "transactions, descending, and take start_local of the first row",
        "fr": "sur {case}, votre fonction a renvoyé {got}, alors que la minute la plus chargée commence à "
              "{want} : triez la table par transactions décroissantes et prenez start_local de la première ligne",
    },
    "ok": {
        "en": "right on the check's tables (a tie included) and on {table}: the minute starting at {start} "
              "({zone}) had {count} transactions{tied}",
        "fr": "juste sur les tables de la vérification (égalité comprise) et sur {table} : la minute commençant à "
              "{start} ({zone}) a compté {count} transactions{tied}",
    },
    "tied": {
        "en": ", as did {others}",
        "fr": ", comme {others}",
    },
})


def _rows(day: datetime, counts: list[tuple[int, int, float]]) -> list[tuple]:
    """(minute after `day`, transactions, eur) -> rows of the per-minute table."""
    return [(day + timedelta(minutes=m), day + timedelta(minutes=m + 1), n, eur) for m, n, eur in counts]


def made_up_tables() -> list[tuple[list[tuple], bool]]:
    """(rows, has a tie). The busiest minute is never the first row, the latest minute, the one with the
    most euros or the quietest, and its end is no such minute either; in the second table 18:40 and 18:44
    tie."""
    clear = _rows(datetime(2026, 7, 14, 10, 0), [(4, 7, 990.0), (0, 5, 300.0), (2, 12, 610.5), (5, 3, 120.0),
                                                  (1, 9, 450.25), (7, 6, 180.0), (3, 8, 200.0)])
    tie = _rows(datetime(2026, 1, 15, 18, 40), [(3, 6, 1500.0), (0, 14, 700.0), (1, 11, 800.0), (2, 2, 90.0),
                                                 (4, 14, 650.0), (6, 5, 300.0)])
    return [(clear, False), (tie, True)]


def as_wall_clock(got, zone: str) -> datetime | None:
    """The answer as a naive wall-clock time of `zone`: naive stays, aware is converted; None if not a time."""
    if hasattr(got, "to_pydatetime"):  # pandas.Timestamp
        got = got.to_pydatetime()
    elif type(got).__name__ == "datetime64":  # numpy, without importing it
        got = datetime.fromisoformat(str(got)[:26])
    if not isinstance(got, datetime):
        return None
    if got.tzinfo is not None:
        got = got.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return got


def _utc(wall: datetime, zone: str) -> datetime:
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc).replace(tzinfo=None)


def _judge(fn, table, rows: list, case: str, zone: str) -> Verdict | None:
    """None when `fn(table)` names one of the busiest minutes of `rows`; otherwise the ❌ with the likeliest mistake."""
    try:
        got = fn(table)
    except Exception as e:  # noqa: BLE001 - shown to the student
        lines = str(e).strip().splitlines()
        return Verdict(False, _("raised", case=case, error=f"{type(e).__name__}: {lines[0][:200] if lines else ''}"))
    if not_done(got):
        return placeholder()
    wall = as_wall_clock(got, zone)
    if wall is None:
        return Verdict(False, _("not_a_datetime", case=case, got=f"{type(got).__name__} {' '.join(str(got).split())[:60]!r}"))
    most = max(r[2] for r in rows)
    busiest = [r for r in rows if r[2] == most]
    if any(wall == r[0] for r in busiest):
        return None
    shown = f"{wall:%Y-%m-%d %H:%M}"
    euros = max(r[3] for r in rows)
    fewest = min(r[2] for r in rows)
    if any(wall == r[0] for r in rows if r[3] == euros):
        return Verdict(False, _("by_eur", case=case, got=shown))
    if any(wall == r[0] for r in rows if r[2] == fewest):
        return Verdict(False, _("quietest", case=case, got=shown))
    if any(wall == r[1] for r in busiest):
        return Verdict(False, _("end_not_start", case=case, got=shown))
    if any(wall == _utc(r[0], zone) for r in busiest):
        return Verdict(False, _("utc", case=case, got=shown, zone=zone))
    return Verdict(False, _("wrong", case=case, got=shown, want=" / ".join(f"{r[0]:%Y-%m-%d %H:%M}" for r in busiest)))


def busiest_minute(fn: Callable, spark, table: str = "per_minute", cfg: _config.LabConfig | None = None) -> Verdict:
    """Notebook 05: `fn(df)` returns `start_local` of the window with the most transactions in `df`, a table
    with the columns start_local, end_local, transactions, eur. Any of several tied minutes is right."""
    if not_done(fn):
        return placeholder()
    if not callable(fn):
        return Verdict(False, _("not_a_function", got=type(fn).__name__))
    zone = (cfg or _config.load()).LAB_TIMEZONE
    for rows, tie in made_up_tables():
        if tie:
            a, b = (f"{r[0]:%H:%M}" for r in rows if r[2] == max(x[2] for x in rows))
            case = _("case_tie", a=a, b=b)
        else:
            case = _("case_made_up")
        failed = _judge(fn, spark.createDataFrame(rows, SCHEMA), rows, case, zone)
        if failed is not None:
            return failed
    try:
        real = spark.table(table)
        rows = [(r["start_local"], r["end_local"], r["transactions"], r["eur"])
                for r in real.select("start_local", "end_local", "transactions", "eur").collect()]
    except Exception:  # noqa: BLE001 - no such table (or not this notebook's): say what to run
        rows = []
    if not rows:
        return Verdict(False, _("no_table", table=table))
    failed = _judge(fn, real, rows, _("case_real", table=table), zone)
    if failed is not None:
        return failed
    most = max(r[2] for r in rows)
    busiest = sorted(r[0] for r in rows if r[2] == most)
    tied = _("tied", others=", ".join(f"{s:%H:%M}" for s in busiest[1:])) if len(busiest) > 1 else ""
    return Verdict(True, _("ok", table=table, start=f"{busiest[0]:%Y-%m-%d %H:%M}", zone=zone, count=i18n.format_number(most),
                           tied=tied))
