"""Notebook 05's check (lab_utils/lessons/ex05_windows.py): the busiest minute of the windowed table.

❌ for the untouched placeholder and plausible wrong answers, ✅ for the solution and for either of two
tied minutes, in English and in French; and one time zone throughout: the table's `start_local` is
the wall clock of LAB_TIMEZONE, a naive answer is read in that zone, an aware one is converted, and
an answer in UTC is refused with a hint naming the zone. Needs Spark, no service.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from lab_utils import checks, config
from lab_utils.lessons import ex05_windows

PARIS = ZoneInfo("Europe/Paris")
SAYS = {
    "en": {"placeholder": "not done yet", "by_eur": "most euros", "quietest": "quietest minute",
           "end_not_start": "where the busiest minute ends", "utc": "busiest minute in UTC",
           "not_a_datetime": "return the datetime in start_local", "raised": "raised", "wrong": "order the table",
           "ok": "right on the check's tables", "no_table": "run the cells of the windowed query"},
    "fr": {"placeholder": "pas encore fait", "by_eur": "le plus d'euros", "quietest": "la plus calme",
           "end_not_start": "la fin de la minute", "utc": "la plus chargée en UTC",
           "not_a_datetime": "renvoyez le datetime de start_local", "raised": "a levé", "wrong": "triez la table",
           "ok": "juste sur les tables de la vérification", "no_table": "exécutez d'abord les cellules"},
}


@pytest.fixture(params=["en", "fr"])
def lang(request):
    """Yields the language this test speaks (en, then fr); puts back the language chosen before."""
    before = config.use_language(request.param)
    yield request.param
    config.use_language(before)


@pytest.fixture
def paris(lab_cfg):
    """Yields the lab's configuration with LAB_TIMEZONE=Europe/Paris, whatever .env says."""
    return dataclasses.replace(lab_cfg, LAB_TIMEZONE="Europe/Paris")


def per_minute(spark, name: str, counts: list[tuple[datetime, int, float]]) -> str:
    """Registers a per-minute table `name` like the notebook's, from (start_local, transactions, eur)."""
    rows = [(start, start + timedelta(minutes=1), n, eur) for start, n, eur in counts]
    spark.createDataFrame(rows, ex05_windows.SCHEMA).createOrReplaceTempView(name)
    return name


# A summer evening in the notebook's table: the busiest minute is 20:31, the most euros 20:33.
SUMMER = [(datetime(2026, 6, 12, 20, 30), 40, 3100.0), (datetime(2026, 6, 12, 20, 31), 52, 2900.0),
          (datetime(2026, 6, 12, 20, 32), 47, 2500.0), (datetime(2026, 6, 12, 20, 33), 12, 4100.0)]


def untouched(table):
    ...  # your code here


def solution(table):
    from pyspark.sql import functions as F

    return table.orderBy(F.desc("transactions")).first()["start_local"]


def _first(table, column, ascending):
    return table.orderBy(column, ascending=ascending).first()


WRONG = {
    "by_eur": lambda t: _first(t, "eur", False)["start_local"],
    "quietest": lambda t: _first(t, "transactions", True)["start_local"],
    "end_not_start": lambda t: _first(t, "transactions", False)["end_local"],
    # Converted to UTC, as if the table were in UTC: the clock reads one or two hours earlier.
    "utc": lambda t: _first(t, "transactions", False)["start_local"].replace(tzinfo=PARIS)
    .astimezone(timezone.utc).replace(tzinfo=None),
    "not_a_datetime": lambda t: _first(t, "transactions", False),
    "raised": lambda t: t.orderBy("transaction").first()["start_local"],
    "wrong": lambda t: _first(t, "start_local", False)["start_local"],  # the latest minute
}


def test_the_made_up_tables_separate_every_wrong_answer():
    for rows, tie in ex05_windows.made_up_tables():
        most = max(r[2] for r in rows)
        busiest = {r[0] for r in rows if r[2] == most}
        assert (len(busiest) == 2) == tie
        assert rows[0][0] not in busiest, "the first row is not the answer"
        assert max(r[0] for r in rows) not in busiest, "the latest minute is not the answer"
        assert max(rows, key=lambda r: r[3])[0] not in busiest, "the minute with the most euros is not the answer"


def test_the_placeholder_is_refused(spark, lang, paris):
    name = per_minute(spark, "per_minute_placeholder", SUMMER)
    for placeholder in (..., None, untouched):
        verdict = checks.busiest_minute(placeholder, spark, table=name, cfg=paris)
        assert not verdict and SAYS[lang]["placeholder"] in str(verdict), verdict


@pytest.mark.parametrize("mistake", sorted(WRONG))
def test_wrong_answers_are_refused(spark, lang, paris, mistake):
    name = per_minute(spark, "per_minute_wrong", SUMMER)
    verdict = checks.busiest_minute(WRONG[mistake], spark, table=name, cfg=paris)
    assert not verdict and SAYS[lang][mistake] in str(verdict), verdict


def test_the_solution_passes(spark, lang, paris):
    name = per_minute(spark, "per_minute_right", SUMMER)
    verdict = checks.busiest_minute(solution, spark, table=name, cfg=paris)
    assert verdict and SAYS[lang]["ok"] in str(verdict) and "2026-06-12 20:31" in str(verdict), verdict


def test_any_of_tied_minutes_is_right(spark, lang, paris):
    """Two minutes tie in the made-up table and in this one: the first, the last, either is right."""
    tied = SUMMER + [(datetime(2026, 6, 12, 20, 35), 52, 1000.0)]
    name = per_minute(spark, "per_minute_tie", tied)
    earliest = lambda t: t.orderBy(t.transactions.desc(), t.start_local.asc()).first()["start_local"]  # noqa: E731
    latest = lambda t: t.orderBy(t.transactions.desc(), t.start_local.desc()).first()["start_local"]  # noqa: E731
    for answer in (earliest, latest, solution):
        verdict = checks.busiest_minute(answer, spark, table=name, cfg=paris)
        assert verdict, verdict
        assert "20:31" in str(verdict) and "20:35" in str(verdict), "the message names both tied minutes"
    # Any tied minute, but not the minute after either of them.
    verdict = checks.busiest_minute(lambda t: datetime(2026, 6, 12, 20, 36), spark, table=name, cfg=paris)
    assert not verdict


def test_one_time_zone_lab_timezone_in_summer_and_in_winter(spark, paris):
    """Naive answers are LAB_TIMEZONE's wall clock; aware ones are converted; UTC's wall clock is refused."""
    for start in (datetime(2026, 7, 14, 10, 2), datetime(2026, 1, 15, 10, 2)):  # +02:00, then +01:00
        counts = [(start - timedelta(minutes=1), 3, 500.0), (start, 9, 400.0), (start + timedelta(minutes=1), 5, 900.0)]
        name = per_minute(spark, "per_minute_zones", counts)
        aware = start.replace(tzinfo=PARIS)
        offset = aware.utcoffset()
        assert offset in (timedelta(hours=2), timedelta(hours=1))

        def answer(value):
            # Right on the check's own tables (the solution), `value` on this one.
            return lambda t: value if t.count() == 3 else solution(t)

        assert checks.busiest_minute(answer(start), spark, table=name, cfg=paris)
        assert checks.busiest_minute(answer(aware), spark, table=name, cfg=paris)
        assert checks.busiest_minute(answer(aware.astimezone(timezone.utc)), spark, table=name, cfg=paris)
        verdict = checks.busiest_minute(answer(start - offset), spark, table=name, cfg=paris)  # UTC, naive
        assert not verdict and "Europe/Paris" in str(verdict), verdict
    # The same table read in another lab zone: the naive answer means another instant, the aware one not.
    tokyo = dataclasses.replace(paris, LAB_TIMEZONE="Asia/Tokyo")
    assert not checks.busiest_minute(answer(start.replace(tzinfo=PARIS).astimezone(timezone.utc)), spark,
                                     table=name, cfg=tokyo)


def test_wall_clock_on_the_night_clocks_go_back():
    """2026-10-25 in Paris: 02:30 happens twice, at 00:30 and at 01:30 UTC; both are 02:30 on the wall."""
    for utc_hour in (0, 1):
        instant = datetime(2026, 10, 25, utc_hour, 30, tzinfo=timezone.utc)
        assert ex05_windows.as_wall_clock(instant, "Europe/Paris") == datetime(2026, 10, 25, 2, 30)
    assert ex05_windows.as_wall_clock(datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc),
                                      "Europe/Paris") == datetime(2026, 3, 29, 3, 30)  # 02:xx never happens
    assert ex05_windows.as_wall_clock(pd.Timestamp("2026-06-12 20:31"), "Europe/Paris") == datetime(2026, 6, 12,
                                                                                                        20, 31)
    assert ex05_windows.as_wall_clock("2026-06-12 20:31", "Europe/Paris") is None


def test_no_table_says_what_to_run(spark, lang, paris):
    verdict = checks.busiest_minute(solution, spark, table="per_minute_nowhere", cfg=paris)
    assert not verdict and SAYS[lang]["no_table"] in str(verdict), verdict
