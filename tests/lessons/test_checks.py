"""lab_utils.checks: the exercises' checks of notebooks 03 to 05, and carry_on (notebooks 00 to 02 have
their own files: test_ex00_environment.py, test_ex01_stack.py, test_ex02_produce.py).

Each exercise check must say ❌ to a wrong answer and to the untouched placeholder, and ✅ to
the right one: a check that cannot fail would teach nothing.
"""

from __future__ import annotations

from lab_utils import checks


def test_placeholder_is_never_accepted(spark):
    for verdict in (checks.montant_eur(..., spark), checks.busiest_currency(..., None)):
        assert not verdict and "not done yet" in str(verdict)


def test_busiest_currency():
    import pandas as pd

    output = pd.DataFrame({"devise": ["EUR", "USD", "USD"], "montant_eur": [100.0, 60.0, 50.0]})
    assert checks.busiest_currency("USD", output)
    assert not checks.busiest_currency("EUR", output)


def test_busiest_minute(spark):
    from datetime import datetime

    rows = [((datetime(2026, 11, 28, 10, 0), datetime(2026, 11, 28, 10, 1)), 5),
            ((datetime(2026, 11, 28, 10, 1), datetime(2026, 11, 28, 10, 2)), 9)]
    spark.createDataFrame(rows, "minute struct<start: timestamp, end: timestamp>, transactions long") \
        .createOrReplaceTempView("per_minute_test")
    assert not checks.busiest_minute(..., spark, table="per_minute_test")
    assert checks.busiest_minute(datetime(2026, 11, 28, 10, 1), spark, table="per_minute_test")
    assert not checks.busiest_minute(datetime(2026, 11, 28, 10, 0), spark, table="per_minute_test")


def test_carry_on_uses_the_answer_only_when_it_passes(capsys):
    right = checks.Verdict(True, "right")
    wrong = checks.Verdict(False, "off by one")
    assert checks.carry_on(..., "solution", lambda a: right) == "solution"
    assert "not ready yet" in capsys.readouterr().out
    assert checks.carry_on("mine", "solution", lambda a: wrong) == "solution"
    assert "off by one" in capsys.readouterr().out
    assert checks.carry_on("mine", "solution", lambda a: right) == "mine"
    assert "your answer" in capsys.readouterr().out
