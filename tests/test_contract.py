"""docs/contract.md and the code say the same thing: settings and defaults, reject reasons,
output columns, commands. No service needed (the output schema uses a local Spark session)."""

from __future__ import annotations

import json
import re
from dataclasses import fields

from lab_utils import cli, config, messages, pipeline
from lab_utils.config import ROOT

CONTRACT = (ROOT / "docs" / "contract.md").read_text()


def section(title: str) -> str:
    return CONTRACT.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # without the header


def test_every_setting_and_its_default():
    documented = {}
    for name, default, _ in table_rows(section("Configuration")):
        for var in re.findall(r"`([A-Z_]+)`", name):
            documented[var] = default.replace("`", "")
    assert set(documented) == {f.name for f in fields(config.LabConfig)}
    for var, default in config.DEFAULTS.items():
        assert documented[var] == default, var
    for var in config.SECRETS:
        assert documented[var] == "from .env", var


def test_the_reject_reasons_in_their_order():
    documented = [row[0].strip("`") for row in table_rows(section("The message").split("### Reject reasons", 1)[1])]
    assert documented == list(messages.REJECT_REASONS)


def test_the_output_columns_and_types(spark):
    value = json.dumps({"transaction_id": 1, "montant": 1.0, "devise": "EUR",
                        "timestamp": "2026-11-27T22:40:31Z"}).encode()
    raw = spark.createDataFrame([(b"1", value, 0, 0)], "key binary, value binary, partition int, offset long")
    schema = pipeline.to_output(pipeline.classify(raw, messages.load_rates()), "Europe/Paris").schema
    spark_names = {"long": "bigint"}
    documented = [(row[0].strip("`"), spark_names.get(row[1], row[1]))
                  for row in table_rows(section("What the pipeline writes").split("`s3://LAB_BUCKET/rejected/`", 1)[0])]
    assert documented == [(f.name, f.dataType.simpleString()) for f in schema.fields]


def test_every_command_is_documented():
    commands = set(cli.build_parser()._subparsers._group_actions[0].choices)
    documented = {word for row in table_rows(section("Command line")) for word in re.findall(r"`([a-z]+)", row[0])}
    assert commands == documented, f"undocumented: {commands - documented}; documented but gone: {documented - commands}"
