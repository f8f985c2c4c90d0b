"""lab_utils.generator and lab_utils.messages: the simulated transactions and the reference
validator they are checked against. Pure Python: no service needed."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from lab_utils import messages
from lab_utils.generator import (BAD_KINDS, CURRENCY_WEIGHTS, VALID_KINDS, Record,
                                 TransactionGenerator)

UTC = timezone.utc


def simulated(seed=0, bad_ratio=0.0, **kwargs) -> TransactionGenerator:
    return TransactionGenerator(seed=seed, bad_ratio=bad_ratio, clock="simulated", **kwargs)


def without_timestamp(record: Record) -> tuple:
    """What two wall-clock runs share: valid messages without their timestamp; for bad ones,
    their size (every timestamp form has a fixed width)."""
    if record.expected == "accept":
        value = {k: v for k, v in json.loads(record.value).items() if k != "timestamp"}
    else:
        value = None if record.value is None else len(record.value)
    return record.key, value, record.transaction_id, record.kind, record.expected


# --- Determinism -------------------------------------------------------------------------

def test_same_seed_same_bytes_with_simulated_clock():
    assert simulated(seed=7, bad_ratio=0.3).take(3000) == simulated(seed=7, bad_ratio=0.3).take(3000)


def test_same_seed_same_records_with_wall_clock_except_timestamps():
    first = TransactionGenerator(seed=7, bad_ratio=0.3).take(3000)
    second = TransactionGenerator(seed=7, bad_ratio=0.3).take(3000)
    assert [without_timestamp(r) for r in first] == [without_timestamp(r) for r in second]


def test_different_seeds_differ():
    a, b = simulated(seed=1, bad_ratio=0.3).take(200), simulated(seed=2, bad_ratio=0.3).take(200)
    assert sum(x.value != y.value for x, y in zip(a, b)) > 190


def test_iteration_and_take_give_one_stream():
    gen = simulated(seed=3, bad_ratio=0.2)
    records = [next(gen) for _ in range(10)] + gen.take(90)
    for record in gen:
        records.append(record)
        if len(records) == 150:
            break
    assert records == simulated(seed=3, bad_ratio=0.2).take(150)


def test_valid_transactions_do_not_depend_on_bad_ratio():
    clean = simulated(seed=5).take(3000)
    dirty = simulated(seed=5, bad_ratio=0.4).take(3000)
    kept = [(c, d) for c, d in zip(clean, dirty) if d.expected == "accept"]
    assert len(kept) > 1500
    assert all(c == d for c, d in kept)


# --- Ids and keys ------------------------------------------------------------------------

def test_ids_strictly_increasing_and_keys_are_the_id_as_text():
    records = simulated(seed=4, bad_ratio=0.5, start_id=1000).take(5000)
    assert [r.key for r in records] == [str(i).encode() for i in range(1000, 6000)]
    for record in records:
        assert record.transaction_id in (None, int(record.key))
        if record.expected == "accept":
            assert record.transaction_id == int(record.key)
            assert json.loads(record.value)["transaction_id"] == record.transaction_id


def test_transaction_id_is_none_exactly_when_the_message_has_no_valid_id():
    for record in simulated(seed=4, bad_ratio=1.0).take(3000):
        readable = record.expected not in ("null_message", "empty_message", "not_utf8", "malformed_json",
                                     "duplicate_field")
        message = json.loads(record.value) if readable else {}
        tid = message.get("transaction_id")
        valid_id = isinstance(tid, int) and not isinstance(tid, bool) and tid > 0
        assert (record.transaction_id is not None) == valid_id, record


# --- Bad records ---------------------------------------------------------------------------

def test_every_bad_kind_appears_with_its_reason_and_the_share_is_right():
    records = simulated(seed=11, bad_ratio=0.5).take(5000)
    kinds = Counter(r.kind for r in records)
    assert set(BAD_KINDS) <= set(kinds), set(BAD_KINDS) - set(kinds)
    assert set(kinds) <= set(BAD_KINDS) | set(VALID_KINDS)
    bad = [r for r in records if r.kind in BAD_KINDS]
    assert abs(len(bad) / len(records) - 0.5) < 0.04
    for record in records:
        allowed = BAD_KINDS.get(record.kind, ("accept",))
        assert record.expected in allowed, record
    # every reject reason is exercised
    assert {r.expected for r in bad} == set(messages.REJECT_REASONS)
    # uniform over the bad kinds: none is starved
    assert min(kinds[k] for k in BAD_KINDS) > len(bad) / len(BAD_KINDS) / 2


@pytest.mark.parametrize("ratio", [0.01, 0.1, 0.25])
def test_bad_share_follows_bad_ratio(ratio):
    records = simulated(seed=2, bad_ratio=ratio).take(20_000)
    share = sum(r.expected != "accept" for r in records) / len(records)
    assert abs(share - ratio) < 4 * math.sqrt(ratio * (1 - ratio) / len(records)) + 1e-9


def test_bad_ratio_zero_gives_only_accepted_records():
    records = TransactionGenerator(seed=9).take(20_000)
    assert {r.expected for r in records} == {"accept"}
    assert {r.kind for r in records} <= set(VALID_KINDS)


def test_bad_ratio_one_gives_only_bad_records():
    assert all(r.kind in BAD_KINDS for r in simulated(bad_ratio=1.0).take(2000))


@pytest.mark.parametrize("bad_ratio", [-0.1, 1.5, float("nan"), "0.1", None])
def test_invalid_bad_ratio_raises(bad_ratio):
    with pytest.raises(ValueError, match="bad_ratio must be a fraction between 0 and 1"):
        TransactionGenerator(bad_ratio=bad_ratio)


@pytest.mark.parametrize("kwargs, message", [
    ({"clock": "sundial"}, "clock must be"),
    ({"start": datetime(2026, 1, 1)}, "clock='simulated'"),
    ({"events_per_second": 0}, "events_per_second"),
    ({"start_id": 0}, "start_id"),
])
def test_invalid_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransactionGenerator(**kwargs)


def test_take_rejects_a_negative_count():
    with pytest.raises(ValueError, match="n >= 0"):
        TransactionGenerator().take(-1)


# --- The oracle agrees with every record ---------------------------------------------------

@pytest.mark.parametrize("seed, bad_ratio, clock", [
    (0, 0.5, "simulated"), (1, 0.05, "simulated"), (2, 1.0, "simulated"), (3, 0.3, "wall"),
])
def test_verdict_agrees_with_expected_on_every_record(seed, bad_ratio, clock):
    records = TransactionGenerator(seed=seed, bad_ratio=bad_ratio, clock=clock).take(20_000)
    disagreements = [(r, messages.verdict(r.value)) for r in records if messages.verdict(r.value) != r.expected]
    assert disagreements == [], disagreements[:5]


# --- Valid records follow the contract (docs/contract.md) -----------------------------------

def test_valid_records_follow_the_contract():
    rates = messages.load_rates()
    records = TransactionGenerator(seed=21, bad_ratio=0.2).take(20_000)
    valid = [r for r in records if r.expected == "accept"]
    for record in valid:
        message = json.loads(record.value)  # exactly as json reads it
        assert isinstance(message, dict)
        assert set(messages.FIELDS) <= set(message)
        tid, montant, devise, timestamp = (message[f] for f in messages.FIELDS)
        assert type(tid) is int and tid > 0 and tid == record.transaction_id
        assert type(montant) in (int, float) and math.isfinite(montant) and montant > 0
        assert isinstance(devise, str) and messages.normalise_devise(devise) in rates
        assert isinstance(timestamp, str) and messages.parse_timestamp(timestamp) is not None
        assert {"merchant_category", "country", "channel"} <= set(message)
        assert record.value.isascii()


def test_amounts_use_the_currency_minor_unit_and_scale():
    records = simulated(seed=8).take(30_000)
    amounts: dict[str, list[float]] = {}
    for record in records:
        text = record.value.decode()
        message = json.loads(text)
        devise = messages.normalise_devise(message["devise"])
        raw = text.split('"montant": ', 1)[1].split(",", 1)[0]
        if devise in ("JPY", "XOF"):
            assert raw.isdigit(), raw
        else:
            assert len(raw.split(".")[1]) == 2, raw
        amounts.setdefault(devise, []).append(message["montant"])
    assert set(amounts) == {c for c in CURRENCY_WEIGHTS if c in messages.load_rates()}
    jpy_per_usd = statistics.median(amounts["JPY"]) / statistics.median(amounts["USD"])
    assert 100 < jpy_per_usd < 250
    eur = amounts["EUR"]
    assert statistics.mean(eur) > statistics.median(eur)  # skewed to the right, like real spending


def test_currency_mix_is_mostly_eur_and_usd():
    counts = Counter(messages.normalise_devise(json.loads(r.value)["devise"]) for r in simulated(seed=6).take(20_000))
    assert counts.most_common(2)[0][0] == "EUR" and counts.most_common(2)[1][0] == "USD"
    assert (counts["EUR"] + counts["USD"]) / 20_000 > 0.6


def test_timestamps_mix_offsets_that_name_the_same_instant():
    records = simulated(seed=10).take(20_000)
    endings = Counter()
    for record in records:
        timestamp = json.loads(record.value)["timestamp"]
        endings["+00:00" if timestamp.endswith("+00:00") else "Z" if timestamp.endswith("Z")
                else "none" if record.kind == "no_offset_timestamp" else "other offset"] += 1
    assert endings["+00:00"] / len(records) > 0.7
    assert endings["Z"] > 0.03 * len(records)
    assert endings["other offset"] > 0.01 * len(records)
    assert endings["none"] > 0


def test_normalisation_forms_appear_and_are_accepted():
    rates = messages.load_rates()
    records = simulated(seed=12).take(30_000)
    forms = {kind: [r for r in records if r.kind == kind] for kind in VALID_KINDS[1:]}
    share = sum(len(v) for v in forms.values()) / len(records)
    assert 0.01 < share < 0.035
    for kind, found in forms.items():
        assert found, kind
        for record in found:
            assert record.expected == "accept" and messages.verdict(record.value) == "accept"
            message = json.loads(record.value)
            if kind == "lowercase_currency":
                assert message["devise"].islower() and message["devise"].upper() in rates
            elif kind == "padded_currency":
                assert message["devise"] != message["devise"].strip() and message["devise"].strip() in rates
            else:
                assert message["timestamp"][-6] not in "+-" and not message["timestamp"].endswith("Z")


# --- Clocks --------------------------------------------------------------------------------

def instants(records):
    return [messages.parse_timestamp(json.loads(r.value)["timestamp"]) for r in records]


def test_simulated_clock_starts_at_start_and_moves_at_the_rate():
    start = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    times = instants(simulated(seed=13, start=start, events_per_second=50).take(10_000))
    assert times[0] == start
    assert all(a <= b for a, b in zip(times, times[1:]))
    elapsed = (times[-1] - times[0]).total_seconds()
    assert elapsed == pytest.approx(9_999 / 50, rel=0.02)


def test_simulated_clock_start_naive_is_utc_and_aware_is_converted():
    naive = instants(simulated(start=datetime(2026, 3, 1, 12, 0)).take(1))[0]
    paris = instants(simulated(start=datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))).take(1))[0]
    assert naive == paris == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_simulated_clock_replays_a_day():
    start = datetime(2026, 11, 27, tzinfo=UTC)
    times = instants(simulated(start=start, events_per_second=0.5).take(43_200))
    assert times[-1] - start == pytest.approx(timedelta(days=1), abs=timedelta(minutes=30))


def test_wall_clock_stamps_records_with_now():
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    times = instants(TransactionGenerator(seed=14).take(2000))
    after = datetime.now(UTC) + timedelta(milliseconds=1)
    assert all(before <= t <= after for t in times)


# --- Record ----------------------------------------------------------------------------------

def test_generated_records_are_ordinary_frozen_records():
    for record in simulated(bad_ratio=0.5).take(200):
        assert type(record) is Record
        assert record == Record(**dataclasses.asdict(record))
        assert hash(record) == hash(Record(**dataclasses.asdict(record)))
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.kind = "valid"  # type: ignore[misc]


# --- verdict() on hand-written messages ----------------------------------------------------

MISSING = object()


def message(transaction_id="1", montant="100.0", devise='"USD"',
            timestamp='"2026-11-27T22:40:31.123+00:00"', **extra) -> bytes:
    """A message from raw JSON texts per field; MISSING leaves a field out."""
    fields = {"transaction_id": transaction_id, "montant": montant, "devise": devise, "timestamp": timestamp, **extra}
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in fields.items() if v is not MISSING) + "}").encode()


def test_reject_reasons_are_the_documented_list_in_order():
    assert list(messages.REJECT_REASONS) == [
        "null_message", "empty_message", "not_utf8", "malformed_json", "duplicate_field", "missing_field",
        "null_field",
        "invalid_transaction_id", "invalid_montant", "unknown_currency", "invalid_timestamp"]
    assert messages.FIELDS == ("transaction_id", "montant", "devise", "timestamp")


def test_load_rates_reads_the_csv_once():
    rates = messages.load_rates()
    assert rates["EUR"] == 1.0 and rates["USD"] == pytest.approx(0.8621)
    assert messages.load_rates() is rates


@pytest.mark.parametrize("value, reason", [
    (message(), "accept"),
    (None, "null_message"),
    (b"", "empty_message"),
    (b"\xff\xfe", "not_utf8"),
    (message(merchant='"Caf\xe9"').replace(b"Caf\xc3\xa9", b"Caf\xe9"), "not_utf8"),
    (b"\xef\xbb\xbf" + message(), "malformed_json"),  # a UTF-8 BOM: JSON over a network must not have one
    (b"[1,2]", "malformed_json"),
    (b"[" + message() + b"]", "malformed_json"),
    (b"null", "malformed_json"),
    (b"12", "malformed_json"),
    (json.dumps(message().decode()).encode(), "malformed_json"),  # a JSON string holding a message
    (b" ", "malformed_json"),
    (message()[:-1], "malformed_json"),
    (message().replace(b'"', b"'"), "malformed_json"),
    (message(montant="None"), "malformed_json"),
    (message()[:-1] + b",}", "malformed_json"),
    (b"  " + message() + b"\n", "accept"),  # whitespace around JSON is JSON
])
def test_verdict_on_the_message_as_a_whole(value, reason):
    assert messages.verdict(value) == reason


@pytest.mark.parametrize("fields, reason", [
    ({"transaction_id": MISSING}, "missing_field"),
    ({"timestamp": MISSING}, "missing_field"),
    ({"montant": "null"}, "null_field"),
    ({"devise": "null", "timestamp": MISSING}, "missing_field"),  # missing before null, whatever the order
    ({"transaction_id": "12.0"}, "invalid_transaction_id"),
    ({"transaction_id": '"12"'}, "invalid_transaction_id"),
    ({"transaction_id": "true"}, "invalid_transaction_id"),
    ({"transaction_id": "false"}, "invalid_transaction_id"),
    ({"transaction_id": "0"}, "invalid_transaction_id"),
    ({"transaction_id": "-3"}, "invalid_transaction_id"),
    ({"transaction_id": "1e3"}, "invalid_transaction_id"),
    ({"transaction_id": str(2**63)}, "invalid_transaction_id"),  # does not fit Spark's long
    ({"transaction_id": str(2**63 - 1)}, "accept"),
    ({"montant": '"100.0"'}, "invalid_montant"),
    ({"montant": "true"}, "invalid_montant"),
    ({"montant": "false"}, "invalid_montant"),
    ({"montant": "0"}, "invalid_montant"),
    ({"montant": "-0.0"}, "invalid_montant"),
    ({"montant": "-5"}, "invalid_montant"),
    ({"montant": "NaN"}, "invalid_montant"),
    ({"montant": "Infinity"}, "invalid_montant"),
    ({"montant": "-Infinity"}, "invalid_montant"),
    ({"montant": "1e999"}, "invalid_montant"),
    ({"montant": "1" + "0" * 400}, "invalid_montant"),  # an integer beyond a double
    ({"montant": "1e-400"}, "invalid_montant"),  # underflows to 0
    ({"montant": "[100]"}, "invalid_montant"),
    ({"montant": "100"}, "accept"),
    ({"montant": "0.01"}, "accept"),
    ({"devise": '"  usd "'}, "accept"),
    ({"devise": '"usd"'}, "accept"),
    ({"devise": '"\\tUSD"'}, "unknown_currency"),  # trim removes spaces only, like Spark's trim
    ({"devise": '"XYZ"'}, "unknown_currency"),
    ({"devise": '""'}, "unknown_currency"),
    ({"devise": "840"}, "unknown_currency"),
    ({"devise": "true"}, "unknown_currency"),
    ({"timestamp": '"2026-02-30T10:00:00Z"'}, "invalid_timestamp"),
    ({"timestamp": '"2025-02-29T10:00:00Z"'}, "invalid_timestamp"),
    ({"timestamp": '"2028-02-29T10:00:00Z"'}, "accept"),
    ({"timestamp": '"2026-11-27T24:00:00Z"'}, "invalid_timestamp"),
    ({"timestamp": '"2026-11-27T22:40:31"'}, "accept"),  # no offset: UTC
    ({"timestamp": '"2026-11-27T22:40:31Z"'}, "accept"),
    ({"timestamp": '"2026-11-27 22:40:31.5-05:00"'}, "accept"),
    ({"timestamp": '"2026-11-27T22:40:31.123456789+05:30"'}, "accept"),
    ({"timestamp": '"2026-11-27"'}, "invalid_timestamp"),
    ({"timestamp": '"2026-11-27T22:40Z"'}, "invalid_timestamp"),
    ({"timestamp": '"2026-11-27T22:40:31+0100"'}, "invalid_timestamp"),
    ({"timestamp": '"2026-11-27T22:40:31+19:00"'}, "invalid_timestamp"),
    ({"timestamp": '"2026-11-27T22:40:31z"'}, "invalid_timestamp"),
    ({"timestamp": '"27/11/2026 22:40:31"'}, "invalid_timestamp"),
    ({"timestamp": '"2026-11-27T22:40:31Z\\n"'}, "invalid_timestamp"),
    ({"timestamp": '"\\uff12\\uff10\\uff12\\uff16-11-27T22:40:31Z"'}, "invalid_timestamp"),  # full-width digits
    ({"timestamp": '"9999-12-31T23:00:00-05:00"'}, "invalid_timestamp"),  # after year 9999 in UTC
    ({"timestamp": "1764283231123"}, "invalid_timestamp"),
    # several faults: the first in REJECT_REASONS order wins
    ({"transaction_id": '"12"', "devise": '"XYZ"'}, "invalid_transaction_id"),
    ({"montant": "NaN", "timestamp": '"never"'}, "invalid_montant"),
    ({"devise": '"XYZ"', "timestamp": '"never"'}, "unknown_currency"),
])
def test_verdict_on_fields(fields, reason):
    assert messages.verdict(message(**fields)) == reason


def test_verdict_duplicate_keys_are_refused():
    base = message().decode()[:-1]
    assert messages.verdict((base + ', "montant": -5}').encode()) == "duplicate_field"
    assert messages.verdict(message(montant="-5").decode()[:-1].encode() + b', "montant": 5}') == "duplicate_field"
    assert messages.verdict((base + ', "extra": 1, "extra": 2}').encode()) == "duplicate_field"
    # only the top level counts: a nested object is an extra field the pipeline ignores
    assert messages.verdict((base + ', "extra": {"a": 1, "a": 2}}').encode()) == "accept"


def test_verdict_uses_the_rates_it_is_given():
    assert messages.verdict(message(), rates={"EUR": 1.0}) == "unknown_currency"
    assert messages.verdict(message(devise='"eur"'), rates={"EUR": 1.0}) == "accept"


def test_parse_timestamp_gives_the_instant():
    expected = datetime(2026, 11, 27, 22, 40, 31, 123000, tzinfo=UTC)
    for text in ("2026-11-27T22:40:31.123+00:00", "2026-11-27T22:40:31.123Z", "2026-11-27T22:40:31.123",
                 "2026-11-27T23:40:31.123+01:00", "2026-11-27T17:40:31.123-05:00", "2026-11-27 22:40:31.123Z"):
        assert messages.parse_timestamp(text) == expected, text
    # beyond microseconds: truncated, like Spark
    assert messages.parse_timestamp("2026-11-27T22:40:31.1239999Z") == expected.replace(microsecond=123999)


# --- Fraud off: the bytes of existing seeds never change -------------------------------------

# sha256 over repr((key, value, transaction_id, kind, expected)) of the first 20,000 records, with the
# simulated clock, computed with the generator as it was before labelled fraud existed (commit 1da5ada).
BEFORE_FRAUD = {(0, 0.0): "e776ce34cf41a9b04572e3343dbfb0399b41dc13a83e497f73572e23b7751368",
                (7, 0.3): "e4d685dee7eadc8ba2f1ed84779381c1ee11c3c1a0b38318f5d6a88973d284b5",
                (42, 0.05): "afe07bccdd67f31c46016821accb79197371026bcbda5cc9280c104cd3eeee48"}


@pytest.mark.parametrize("seed, bad_ratio", list(BEFORE_FRAUD))
def test_fraud_off_gives_the_same_bytes_as_before_fraud_existed(seed, bad_ratio):
    import hashlib

    digest = hashlib.sha256()
    for r in simulated(seed=seed, bad_ratio=bad_ratio).take(20_000):
        assert r.chargeback is None and r.fraud is None
        digest.update(repr((r.key, r.value, r.transaction_id, r.kind, r.expected)).encode())
    assert digest.hexdigest() == BEFORE_FRAUD[(seed, bad_ratio)]


# --- Fraud on: cards, patterns, and labels that are not in the message ------------------------

def fraudulent(seed=0, fraud_ratio=0.02, n=60_000, **kwargs) -> list[Record]:
    return TransactionGenerator(seed=seed, fraud_ratio=fraud_ratio, clock="simulated", **kwargs).take(n)


def test_fraud_on_is_deterministic_by_seed_and_seeds_differ():
    assert fraudulent(seed=3, bad_ratio=0.1, n=5000) == fraudulent(seed=3, bad_ratio=0.1, n=5000)
    a, b = fraudulent(seed=1, n=500), fraudulent(seed=2, n=500)
    assert sum(x.value != y.value for x, y in zip(a, b)) > 490


def test_fraud_share_follows_fraud_ratio_and_every_pattern_appears():
    from lab_utils.generator import FRAUD_PATTERNS

    for ratio in (0.02, 0.1):
        # a day at ~0.7 events/s: nights and days, so every pattern can happen
        records = fraudulent(seed=5, fraud_ratio=ratio, events_per_second=60_000 / 86_400)
        share = sum(r.fraud is not None for r in records) / len(records)
        assert abs(share - ratio) < 0.15 * ratio, (ratio, share)
        assert {r.fraud for r in records} - {None} == set(FRAUD_PATTERNS)


@pytest.mark.parametrize("ratio", [-0.1, 1.5, float("nan"), "0.02", None])
def test_invalid_fraud_ratio_raises(ratio):
    with pytest.raises(ValueError, match="fraud_ratio must be a fraction between 0 and 1"):
        TransactionGenerator(fraud_ratio=ratio)


def test_the_label_is_never_in_the_message_and_the_chargeback_comes_days_later():
    records = fraudulent(seed=6, bad_ratio=0.05, events_per_second=60_000 / 86_400)
    frauds = [r for r in records if r.chargeback is not None]
    assert frauds
    for record in records:
        if record.value is not None:
            text = record.value.decode("utf-8", "replace").lower()
            assert not any(word in text for word in ("fraud", "label", "chargeback", "testing", "spike", "night"))
    for record in frauds:
        cb = record.chargeback
        key, value = cb.message()
        assert key == record.key and cb.transaction_id == int(record.key)
        message = json.loads(value)
        assert set(message) == {"transaction_id", "card_id", "fraud_type", "transaction_time", "reported_at"}
        paid = datetime.fromisoformat(message["transaction_time"].replace("Z", "+00:00"))
        reported = datetime.fromisoformat(message["reported_at"].replace("Z", "+00:00"))
        assert timedelta(days=1) <= reported - paid <= timedelta(days=7)
        if record.expected == "accept":  # the chargeback names the payment's own instant and card
            sent = json.loads(record.value)
            assert messages.parse_timestamp(sent["timestamp"]) == paid and sent["card_id"] == cb.card_id


def test_fraud_on_records_carry_the_details_and_the_oracle_agrees():
    records = fraudulent(seed=7, bad_ratio=0.3, n=20_000)
    assert [r.key for r in records] == [str(i).encode() for i in range(1, 20_001)]
    assert all(messages.verdict(r.value) == r.expected for r in records)
    valid = [json.loads(r.value) for r in records if r.expected == "accept"]
    assert len(valid) > 12_000
    assert all(set(messages.DETAILS) <= set(m) for m in valid)
    assert {r.kind for r in records} >= set(VALID_KINDS)  # the normalisation forms too


def test_cards_are_one_population_whatever_the_seed():
    from lab_utils.generator import CARD_COUNT, card_population

    ids = {c.card_id for c in card_population()}
    assert len(ids) == CARD_COUNT
    for seed in (1, 2):
        used = {json.loads(r.value)["card_id"] for r in fraudulent(seed=seed, n=20_000)}
        assert used <= ids and len(used) > 0.9 * CARD_COUNT


def test_the_patterns_look_as_documented():
    from lab_utils.generator import NIGHT_HOURS_UTC, card_population

    homes = {c.card_id: c.country for c in card_population()}
    rates = messages.load_rates()
    records = fraudulent(seed=8, fraud_ratio=0.05, events_per_second=60_000 / 86_400)
    by_id = {int(r.key): json.loads(r.value) for r in records}
    seen = Counter()
    for r in records:
        if r.fraud is None:
            continue
        m = by_id[int(r.key)]
        eur = m["montant"] * rates[messages.normalise_devise(m["devise"])]
        seen[r.fraud] += 1
        if r.fraud == "card_testing":
            assert m["channel"] == "online" and 0.4 < eur < 4.2, m
        elif r.fraud == "amount_spike":
            assert m["merchant_category"] in ("electronics", "travel", "fashion"), m
        else:
            hour = messages.parse_timestamp(m["timestamp"]).hour
            assert m["country"] != homes[m["card_id"]] and m["channel"] in ("card_present", "contactless"), m
            # its first payment starts at night; the next ones follow within minutes
            assert hour in NIGHT_HOURS_UTC or (hour - 1) % 24 in NIGHT_HOURS_UTC, m
    # card testing comes in bursts: 3 to 8 payments of one card within a few records
    bursts = Counter(json.loads(r.value)["card_id"] for r in records if r.fraud == "card_testing")
    assert min(bursts.values()) >= 3
    assert seen["foreign_night"] and seen["amount_spike"] and seen["card_testing"]
