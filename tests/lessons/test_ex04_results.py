"""Notebook 04's checks (lab_utils/lessons/ex04_results.py): ❌ for the untouched placeholder and for
plausible wrong answers, ✅ for the solution, in English and in French.

The unit tests give the checks a committed output of their own (a DataFrame, local Parquet files);
the integration test runs the real pipeline into a folder of its own and lets the checks read it.
"""

from __future__ import annotations

import json

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lab_utils import checks, config, messages, pipeline, producer
from lab_utils.generator import TransactionGenerator
from lab_utils.lessons import ex04_results

# What each language's messages say, to tell ✅ and ❌ paths apart without copying whole texts.
SAYS = {
    "en": {"placeholder": "not done yet", "total": "largest total", "count": "most transactions",
           "local": "own unit", "smallest": "smallest average", "median": "largest median",
           "not_a_code": "currency code alone", "raised": "raised", "wrong": "right answer is",
           "ok": "right on 2 tables", "first_group": "row group 0 only", "swapped": "smallest value comes first",
           "other_column": "another column (montant)", "not_a_pair": "pair of numbers", "range_wrong": "goes from",
           "range_ok": "right on a file of 3 row groups", "no_output": "no committed rows"},
    "fr": {"placeholder": "pas encore fait", "total": "plus gros total", "count": "le plus de transactions",
           "local": "unité de chaque devise", "smallest": "plus petite moyenne", "median": "plus forte médiane",
           "not_a_code": "seulement le code", "raised": "a levé", "wrong": "au lieu de",
           "ok": "juste sur 2 tables", "first_group": "seul groupe de lignes 0", "swapped": "plus petite valeur vient",
           "other_column": "autre colonne (montant)", "not_a_pair": "paire de nombres", "range_wrong": "va de",
           "range_ok": "juste sur un fichier de 3 groupes", "no_output": "aucune ligne validée"},
}


@pytest.fixture(params=["en", "fr"])
def lang(request):
    """Yields the language this test speaks (en, then fr); puts back the language chosen before."""
    before = config.use_language(request.param)
    yield request.param
    config.use_language(before)


def committed_like(count: int = 3000, seed: int = 4) -> pd.DataFrame:
    """A committed output's columns for `count` of the generator's valid transactions (no service)."""
    rates = messages.load_rates()
    rows = []
    for record in TransactionGenerator(seed=seed).take(count):
        body = json.loads(record.value)
        devise = body["devise"].strip().upper()
        instant = pd.Timestamp(body["timestamp"])
        instant = instant.tz_localize("UTC") if instant.tz is None else instant  # no offset: UTC (docs/contract.md)
        rows.append({"transaction_id": body["transaction_id"], "montant": body["montant"], "devise": devise,
                     "taux_eur": rates[devise], "montant_eur": round(body["montant"] * rates[devise], 2),
                     "event_time_local": instant.tz_convert("Europe/Paris").tz_localize(None)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- highest average currency


def untouched_average(df):
    ...  # your code here


def solution_average(df):
    return df.groupby("devise")["montant_eur"].mean().idxmax()


WRONG_AVERAGES = {
    "total": lambda df: df.groupby("devise")["montant_eur"].sum().idxmax(),
    "count": lambda df: df["devise"].value_counts().idxmax(),
    "local": lambda df: df.groupby("devise")["montant"].mean().idxmax(),
    "smallest": lambda df: df.groupby("devise")["montant_eur"].mean().idxmin(),
    "median": lambda df: df.groupby("devise")["montant_eur"].median().idxmax(),
    "not_a_code": lambda df: df.groupby("devise")["montant_eur"].mean(),
    "raised": lambda df: df.groupby("currency")["montant_eur"].mean().idxmax(),
}


def test_the_made_up_tables_separate_every_wrong_answer():
    """In each made-up table, the right currency differs from what each wrong answer gives."""
    answers = []
    for df in ex04_results.average_cases():
        right = solution_average(df)
        answers.append(right)
        for name in ("total", "count", "local", "smallest"):
            assert WRONG_AVERAGES[name](df) != right, name
    assert WRONG_AVERAGES["median"](ex04_results.average_cases()[1]) != answers[1]
    assert len(set(answers)) == len(answers), "the answer must change from table to table"


def test_highest_average_currency_says_no_to_the_placeholder(lang):
    output = committed_like()
    for placeholder in (..., None, untouched_average):
        verdict = checks.highest_average_currency(placeholder, output=output)
        assert not verdict and SAYS[lang]["placeholder"] in str(verdict), verdict


@pytest.mark.parametrize("mistake", sorted(WRONG_AVERAGES))
def test_highest_average_currency_says_no_to_wrong_answers(lang, mistake):
    verdict = checks.highest_average_currency(WRONG_AVERAGES[mistake], output=committed_like())
    assert not verdict
    assert str(verdict).startswith(checks.FAIL) and SAYS[lang][mistake] in str(verdict), verdict


def test_highest_average_currency_says_no_to_the_busiest_currency_and_any_fixed_code(lang):
    output = committed_like()
    for code in ("EUR", solution_average(output)):
        verdict = checks.highest_average_currency(lambda df, code=code: code, output=output)
        assert not verdict, f"the fixed answer {code!r} passed"
    assert not checks.highest_average_currency("EUR", output=output), "a value, not a function"


def test_highest_average_currency_checks_the_committed_output_too(lang):
    """A function right on the made-up tables but wrong on the output is refused, on the output."""
    output = committed_like()
    right = solution_average(output)
    made_up = {solution_average(df) for df in ex04_results.average_cases()}
    assert right not in made_up

    diagnosed = {WRONG_AVERAGES[name](output) for name in ("total", "count", "local", "smallest", "median")}
    other = sorted(set(output["devise"]) - diagnosed - {right})[0]  # a currency no hint explains

    def wrong_on_output(df):
        answer = solution_average(df)
        return other if answer == right else answer

    verdict = checks.highest_average_currency(wrong_on_output, output=output)
    assert not verdict and SAYS[lang]["wrong"] in str(verdict) and right in str(verdict), verdict


def test_highest_average_currency_says_yes_to_the_solution_and_other_right_ways(lang):
    output = committed_like()
    for answer in (solution_average,
                   lambda df: df.pivot_table(index="devise", values="montant_eur", aggfunc="mean")["montant_eur"]
                   .sort_values().index[-1],
                   lambda df: solution_average(df).lower() + " "):
        verdict = checks.highest_average_currency(answer, output=output)
        assert verdict and SAYS[lang]["ok"] in str(verdict), verdict
        assert solution_average(output) in str(verdict)


def test_highest_average_currency_without_output_names_notebook_03(lang):
    verdict = checks.highest_average_currency(solution_average, output=committed_like().iloc[:0])
    assert not verdict and "03" in str(verdict) and SAYS[lang]["no_output"] in str(verdict)


# --------------------------------------------------------------------------- montant_eur_range


def untouched_range(parquet_file):
    ...  # your code here


def solution_range(parquet_file):
    meta = parquet_file.metadata
    column = parquet_file.schema_arrow.get_field_index("montant_eur")
    stats = [meta.row_group(g).column(column).statistics for g in range(meta.num_row_groups)]
    return min(s.min for s in stats), max(s.max for s in stats)


def first_group_only(parquet_file):
    stats = parquet_file.metadata.row_group(0).column(parquet_file.schema_arrow.get_field_index("montant_eur")).statistics
    return stats.min, stats.max


def montant_column(parquet_file):
    meta = parquet_file.metadata
    stats = [meta.row_group(g).column(1).statistics for g in range(meta.num_row_groups)]
    return min(s.min for s in stats), max(s.max for s in stats)


WRONG_RANGES = {
    "first_group": first_group_only,
    "swapped": lambda parquet_file: solution_range(parquet_file)[::-1],
    "other_column": montant_column,
    "not_a_pair": lambda parquet_file: parquet_file.metadata.num_rows,
    "range_wrong": lambda parquet_file: (0.0, 1000.0),
    "raised": lambda parquet_file: parquet_file.metadata.row_group(0).column("montant_eur").statistics.min,
}


@pytest.fixture
def committed_files(tmp_path):
    """Yields (local Parquet files shaped like Spark's output files, one row group each, the local
    filesystem). tmp_path is removed by pytest."""
    output = committed_like(1200)
    paths = []
    for i, part in enumerate((output.iloc[:500], output.iloc[500:])):
        path = str(tmp_path / f"part-0000{i}.snappy.parquet")
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), path)
        paths.append(path)
    return paths, fsspec.filesystem("file")


def test_the_made_up_file_separates_every_wrong_range():
    parquet_file, groups = ex04_results.range_case()
    assert groups == 3
    right = solution_range(parquet_file)
    values = parquet_file.read(columns=["montant_eur"]).column(0).to_pylist()
    assert right == (min(values), max(values))
    for name in ("first_group", "swapped", "other_column"):
        assert WRONG_RANGES[name](parquet_file) != right, name


def test_montant_eur_range_says_no_to_the_placeholder(lang, committed_files):
    files, fs = committed_files
    for placeholder in (..., None, untouched_range):
        verdict = checks.montant_eur_range(placeholder, files=files, fs=fs)
        assert not verdict and SAYS[lang]["placeholder"] in str(verdict), verdict


@pytest.mark.parametrize("mistake", sorted(WRONG_RANGES))
def test_montant_eur_range_says_no_to_wrong_answers(lang, mistake, committed_files):
    files, fs = committed_files
    verdict = checks.montant_eur_range(WRONG_RANGES[mistake], files=files, fs=fs)
    assert not verdict and SAYS[lang][mistake] in str(verdict), verdict


def test_montant_eur_range_says_no_to_a_range_right_only_on_the_made_up_file(lang, committed_files):
    files, fs = committed_files
    made_up = solution_range(ex04_results.range_case()[0])
    verdict = checks.montant_eur_range(lambda parquet_file: made_up, files=files, fs=fs)
    assert not verdict and "part-00000" in str(verdict), verdict


def test_montant_eur_range_says_yes_to_the_solution(lang, committed_files):
    files, fs = committed_files
    verdict = checks.montant_eur_range(solution_range, files=files, fs=fs)
    assert verdict and SAYS[lang]["range_ok"] in str(verdict), verdict
    with fs.open(files[-1], "rb") as f:
        values = pq.read_table(f, columns=["montant_eur"]).column(0).to_pylist()
    assert f"{max(values):,.2f}".replace(",", "\u202f" if lang == "fr" else ",").replace(
        ".", "," if lang == "fr" else ".") in str(verdict), verdict


# --------------------------------------------------------------------------- on the real stack


def test_both_checks_on_what_the_real_pipeline_committed(cfg, spark, topic, run_prefix):
    """The pipeline writes into a folder of its own; the checks read it themselves (S3, _spark_metadata)."""
    sent = producer.produce(records=TransactionGenerator(seed=44, bad_ratio=0.05).take(2500), count=2500,
                            topic=topic, progress=False, cfg=cfg)
    assert sent.failed == 0
    run = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        assert run.wait(timeout_s=600), "availableNow did not finish within 10 minutes"
    finally:
        run.stop()
    path = f"{run_prefix}/output"
    assert checks.highest_average_currency(solution_average, path=path, cfg=cfg)
    assert not checks.highest_average_currency(WRONG_AVERAGES["total"], path=path, cfg=cfg)
    assert not checks.highest_average_currency(untouched_average, path=path, cfg=cfg)
    verdict = checks.montant_eur_range(solution_range, path=path, cfg=cfg)
    assert verdict and "3 committed files" in str(verdict), verdict
    assert not checks.montant_eur_range(first_group_only, path=path, cfg=cfg)
    assert not checks.montant_eur_range(untouched_range, path=path, cfg=cfg)
