"""A bad-input corpus (issue 7): every class the generator makes, and the inputs that break
JSON readers (size, nesting, huge numbers, duplicate keys, BOM, control characters, ...).

Each message must end in output/ or in rejected/ with the reason `messages.verdict()` gives,
and nothing may crash: not the query, not the readers. Where a message is in fact valid per
docs/contract.md it goes to output/ (a 900 KB extra field, NUL escaped inside an extra string,
duplicate keys inside a nested object); the expectations below say which and why.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lab_utils import messages, pipeline, producer
from lab_utils.clients import storage
from lab_utils.generator import BAD_KINDS, VALID_KINDS, Record, TransactionGenerator

RATES = messages.load_rates()
TIMEZONE = "Europe/Paris"

BASE = {"transaction_id": 1, "montant": 100.0, "devise": "USD", "timestamp": "2026-11-27T22:40:31.123+00:00"}
M = json.dumps(BASE).encode()


def msg(**fields) -> bytes:
    return json.dumps({k: v for k, v in {**BASE, **fields}.items() if v is not ...}).encode()


def montant(token: str) -> bytes:
    return M.replace(b'"montant": 100.0', b'"montant": ' + token.encode())


def tx_id(token: str) -> bytes:
    return M.replace(b'"transaction_id": 1', b'"transaction_id": ' + token.encode())


def extra(token: str | bytes) -> bytes:
    return M[:-1] + b', "x": ' + (token.encode() if isinstance(token, str) else token) + b"}"


def nested(depth: int) -> bytes:
    """A message whose nesting is `depth` levels deep (the object itself is level 1)."""
    return extra("[" * (depth - 1) + "]" * (depth - 1))


# name -> (value, what the lab decides). The decision is checked against messages.verdict()
# (the rules) and then against Spark (the pipeline), batch and streaming.
CORPUS: dict[str, tuple[bytes | None, str]] = {
    # Sizes. Over 1 MiB is refused by the producer (test below); just under it is fine.
    "900 KB extra field": (extra('"' + "a" * 900_000 + '"'), "accept"),
    # Nesting: Spark's reader (Jackson) stops at 1000 levels; the lab's rule is the same.
    "nested 100 levels": (nested(100), "accept"),
    "nested 1000 levels": (nested(1000), "accept"),
    "nested 1001 levels": (nested(1001), "malformed_json"),
    "nested 5000 levels": (nested(5000), "malformed_json"),
    # Huge numbers
    "montant 1e400 (overflows to infinity)": (montant("1e400"), "invalid_montant"),
    "montant 1e-400 (underflows to 0)": (montant("1e-400"), "invalid_montant"),
    "montant 400-digit integer": (montant("9" * 400), "invalid_montant"),
    "montant 1e30 (valid, beyond decimal(38,12))": (montant("1e30"), "accept"),
    "montant 1.7976931348623157e308 (largest double)": (montant("1.7976931348623157e308"), "accept"),
    "montant 1e-300 (valid, rounds to 0.00 EUR)": (montant("1e-300"), "accept"),
    "transaction_id 2**70": (tx_id(str(2**70)), "invalid_transaction_id"),
    "transaction_id 2**63 - 1 (largest long)": (tx_id(str(2**63 - 1)), "accept"),
    "transaction_id 400-digit integer": (tx_id("9" * 400), "invalid_transaction_id"),
    "transaction_id -400-digit integer": (tx_id("-" + "9" * 400), "invalid_transaction_id"),
    "transaction_id 1e3": (tx_id("1e3"), "invalid_transaction_id"),
    "transaction_id -0": (tx_id("-0"), "invalid_transaction_id"),
    "extra 400-digit integer": (extra("9" * 400), "accept"),
    "extra 1000-digit integer": (extra("9" * 1000), "accept"),
    "extra 1001-digit integer (reader limit)": (extra("9" * 1001), "malformed_json"),
    "extra 5000-digit integer": (extra("9" * 5000), "malformed_json"),
    "extra 0. + 1000 digits": (extra("0." + "1" * 1000), "accept"),
    "extra 1. + 1000 digits": (extra("1." + "1" * 1000), "malformed_json"),
    # Non-numeric numbers: Python's three and Jackson's extras are numbers, hence invalid amounts
    "montant NaN": (montant("NaN"), "invalid_montant"),
    "montant -Infinity": (montant("-Infinity"), "invalid_montant"),
    "montant +Infinity": (montant("+Infinity"), "invalid_montant"),
    "montant +INF": (montant("+INF"), "invalid_montant"),
    "montant -INF": (montant("-INF"), "invalid_montant"),
    "montant INF (not a token)": (montant("INF"), "malformed_json"),
    "montant nan (lower case)": (montant("nan"), "malformed_json"),
    "montant +NaN": (montant("+NaN"), "malformed_json"),
    "extra +INF": (extra("+INF"), "accept"),
    "montant +5": (montant("+5"), "malformed_json"),
    "montant .5": (montant(".5"), "malformed_json"),
    "montant 5.": (montant("5."), "malformed_json"),
    "transaction_id 007": (tx_id("007"), "malformed_json"),
    # Duplicate keys: at the top level always refused, whatever the spelling; nested ones are ignored
    "duplicate montant": (M[:-1] + b', "montant": -5}', "duplicate_field"),
    "duplicate extra field": (M[:-1] + b', "x": 1, "x": 2}', "duplicate_field"),
    "duplicate via escape mont\\u0061nt": (M[:-1] + b', "mont\\u0061nt": 5}', "duplicate_field"),
    "duplicate inside a nested object": (extra('{"a": 1, "a": 2}'), "accept"),
    # Byte-order marks: RFC 8259 8.1 forbids one in JSON on the wire (decided: malformed_json)
    "UTF-8 BOM": (b"\xef\xbb\xbf" + M, "malformed_json"),
    "space then UTF-8 BOM": (b" \xef\xbb\xbf" + M, "malformed_json"),
    "U+FEFF inside a string": (extra('"\ufeff"'.encode()), "accept"),
    "UTF-16 with BOM": (M.decode().encode("utf-16"), "not_utf8"),
    # Control characters: raw ones are not JSON (inside strings or between tokens), escaped ones are text
    "raw NUL inside devise": (M.replace(b'"USD"', b'"USD\x00"'), "malformed_json"),
    "raw NUL inside an extra string": (extra(b'"a\x00b"'), "malformed_json"),
    "raw NUL after the object": (M + b"\x00", "malformed_json"),
    "raw U+0001 inside a string": (M.replace(b'"USD"', b'"US\x01D"'), "malformed_json"),
    "raw tab inside a string": (M.replace(b'"USD"', b'"US\tD"'), "malformed_json"),
    "form feed between tokens": (M.replace(b", ", b",\x0c"), "malformed_json"),
    "vertical tab between tokens": (M.replace(b", ", b",\x0b"), "malformed_json"),
    "escaped \\u0000 inside an extra string": (extra(b'"a\\u0000b"'), "accept"),
    "escaped \\u0000 before the currency": (M.replace(b'"USD"', b'"\\u0000USD"'), "unknown_currency"),
    "CR LF tab between tokens": (M.replace(b", ", b",\r\n\t "), "accept"),
    "newline after the object": (M + b"\n", "accept"),
    # Text encodings
    "CESU-8 surrogate": (extra(b'"\xed\xa0\x80"'), "not_utf8"),
    "overlong UTF-8": (extra(b'"\xc0\xaf"'), "not_utf8"),
    "escaped lone surrogate in an extra string": (extra(b'"\\ud800"'), "accept"),
    "escaped lone surrogate as devise": (M.replace(b'"USD"', b'"\\ud800"'), "unknown_currency"),
    # Trailing content: one JSON object and nothing else
    "object then ]": (M + b"]", "malformed_json"),
    "object then ] and text": (M + b"] trailing", "malformed_json"),
    "object then ,0]": (M + b",0]", "malformed_json"),
    "two objects": (M + M, "malformed_json"),
    "two objects with a comma": (M + b"," + M, "malformed_json"),
    "a comment": (M[:-1] + b" /* c */}", "malformed_json"),
    "whitespace only": (b"   ", "malformed_json"),
    "empty object": (b"{}", "missing_field"),
    # Currencies: trimmed of spaces only, upper-cased as Python and Java do
    "devise with a no-break space": (msg(devise="USD\u00a0"), "unknown_currency"),
    "devise with a tab": (msg(devise="\tUSD"), "unknown_currency"),
    "devise in full-width letters": (msg(devise="ＵＳＤ"), "unknown_currency"),
    "devise u\\u017fd (long s upper-cases to S)": (msg(devise="u\u017fd"), "accept"),
    "devise as an array": (M.replace(b'"USD"', b'["USD"]'), "unknown_currency"),
    # Timestamps at the edges
    "leap second 23:59:60": (msg(timestamp="2026-12-31T23:59:60Z"), "invalid_timestamp"),
    "year 0001-01-02 (earliest)": (msg(timestamp="0001-01-02T00:00:00Z"), "accept"),
    "year 0001-01-01 (local date could be year 0)": (msg(timestamp="0001-01-01T12:00:00Z"), "invalid_timestamp"),
    "year 0001 +01:00 (year 0 in UTC)": (msg(timestamp="0001-01-01T00:00:00+01:00"), "invalid_timestamp"),
    "year 9999-12-30 (latest)": (msg(timestamp="9999-12-30T23:59:59Z"), "accept"),
    "year 9999-12-31 (local date could be year 10000)": (msg(timestamp="9999-12-31T00:00:00Z"), "invalid_timestamp"),
    "year 0000": (msg(timestamp="0000-06-01T00:00:00Z"), "invalid_timestamp"),
    "offset +18:00": (msg(timestamp="2026-11-27T22:40:31+18:00"), "accept"),
    "offset +18:01": (msg(timestamp="2026-11-27T22:40:31+18:01"), "invalid_timestamp"),
    "offset -00:60": (msg(timestamp="2026-11-27T22:40:31-00:60"), "invalid_timestamp"),
    "nanoseconds": (msg(timestamp="2026-11-27T22:40:31.123456789Z"), "accept"),
    "ten fraction digits": (msg(timestamp="2026-11-27T22:40:31.1234567891Z"), "invalid_timestamp"),
    "trailing newline in the timestamp": (msg(timestamp="2026-11-27T22:40:31Z\n"), "invalid_timestamp"),
    "lower-case t and z": (msg(timestamp="2026-11-27t22:40:31z"), "invalid_timestamp"),
    "timestamp as an object": (msg(timestamp={"t": 1}), "invalid_timestamp"),
    # Odd but fine
    "empty key": (M[:-1] + b', "": 1}', "accept"),
    "escaped slash in devise": (M.replace(b'"USD"', b'"U\\/SD"'), "unknown_currency"),
    "fields in another order": (json.dumps(dict(reversed(list(BASE.items())))).encode(), "accept"),
}


def generator_corpus() -> list[Record]:
    """Three records of every class the generator makes (valid kinds and BAD_KINDS)."""
    wanted = {kind: 3 for kind in (*VALID_KINDS, *BAD_KINDS)}
    out = []
    for record in TransactionGenerator(seed=77, bad_ratio=0.9, clock="simulated"):
        if wanted.get(record.kind, 0) > 0:
            wanted[record.kind] -= 1
            out.append(record)
        if not any(wanted.values()):
            return out
        assert len(out) < 100_000
    raise AssertionError("unreachable")


def corpus_records() -> list[Record]:
    """The whole corpus as Records with unique keys (the named cases after the generator's)."""
    records = generator_corpus()
    start = 10_000_000
    for i, (name, (value, decided)) in enumerate(CORPUS.items()):
        records.append(Record(key=str(start + i).encode(), value=value, transaction_id=None, kind=name,
                              expected=decided))
    return records


def test_the_decisions_are_the_reference_rules():
    disagree = {name: (decided, messages.verdict(value)) for name, (value, decided) in CORPUS.items()
                if messages.verdict(value) != decided}
    assert not disagree, disagree
    assert {r.kind for r in generator_corpus()} == {*VALID_KINDS, *BAD_KINDS}


def test_spark_agrees_with_the_reference_on_every_corpus_message(spark):
    records = corpus_records()
    rows = [(r.key, r.value, 0, i) for i, r in enumerate(records)]
    raw = spark.createDataFrame(rows, "key binary, value binary, partition int, offset long")
    checked = pipeline.classify(raw, RATES).cache()
    try:
        got = {r.offset: r.reason or "accept" for r in checked.select("offset", "reason").collect()}
        disagree = [(r.kind, messages.verdict(r.value), got[i]) for i, r in enumerate(records)
                    if got[i] != messages.verdict(r.value)]
        assert not disagree, disagree
        # The valid ones convert without an error (no ANSI overflow on a huge amount).
        assert pipeline.to_output(checked, TIMEZONE).count() == sum(messages.verdict(r.value) == "accept" for r in records)
    finally:
        checked.unpersist()


@pytest.mark.integration
def test_the_corpus_through_kafka_and_the_stream_crashes_nothing(cfg, spark, topic, run_prefix):
    records = corpus_records()
    sent = producer.produce(records=records, count=len(records), topic=topic, progress=False, record_acks=True)
    assert sent.failed == 0, sent.errors
    where = {(p, o): key for key, p, o in sent.acks}
    expected = {r.key: messages.verdict(r.value) for r in records}
    run = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        assert run.wait(timeout_s=600), "availableNow did not finish in 10 minutes"
    finally:
        run.stop()
    out = storage.read_committed(f"{run_prefix}/output", cfg=cfg)
    rej = storage.read_committed(f"{run_prefix}/rejected", cfg=cfg)
    landed = Counter(zip(out.kafka_partition, out.kafka_offset)) + Counter(zip(rej.kafka_partition, rej.kafka_offset))
    assert set(landed) == set(where) and max(landed.values()) == 1, "lost or duplicated messages"
    accepted = {where[(p, o)] for p, o in zip(out.kafka_partition, out.kafka_offset)}
    assert accepted == {k for k, v in expected.items() if v == "accept"}
    reasons = {where[(p, o)]: reason for p, o, reason in zip(rej.kafka_partition, rej.kafka_offset, rej.reason)}
    assert reasons == {k: v for k, v in expected.items() if v != "accept"}
    print(f"\ncorpus: {len(records)} messages ({len(CORPUS)} named cases + {len(records) - len(CORPUS)} from the "
          f"generator's {len(VALID_KINDS) + len(BAD_KINDS)} classes): {len(out)} in output/, {len(rej)} in rejected/")


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["confluent", "kafka-python"])
def test_a_message_over_1_mib_is_reported_by_the_producer(cfg, topic, engine):
    too_big = Record(key=b"1", value=extra('"' + "x" * (1024 * 1024 + 1) + '"'), transaction_id=1, kind="huge",
                     expected="accept")
    ok = Record(key=b"2", value=M, transaction_id=1, kind="valid", expected="accept")
    sent = producer.produce(records=[too_big, ok], count=2, topic=topic, progress=False, engine=engine,
                            record_acks=True)
    assert (sent.sent, sent.failed, len(sent.acks)) == (2, 1, 1), sent
    assert sent.acks[0][0] == b"2"
    assert any("too large" in e.lower() or "size" in e.lower() for e in sent.errors), sent.errors
