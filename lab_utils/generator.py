"""Simulated card transactions: the seed's sensor (`capteur.py`), as a fast, deterministic generator.

    from lab_utils.generator import TransactionGenerator
    gen = TransactionGenerator(seed=42, bad_ratio=0.05)
    record = next(gen)          # Record(key=b'1', value=b'{"transaction_id": 1, ...}', ...)
    batch = gen.take(10_000)    # the next 10,000 records

Each Record holds the Kafka key and value to send (docs/contract.md, "The message") and says what
it is: `kind` names the class of input ("valid", "montant_nan", "truncated_json", ...) and
`expected` is what the pipeline must do with it: "accept", or the reason code of
`lab_utils.messages.REJECT_REASONS` it must reject it with. Tests send records, then compare
`output/` and `rejected/` with `expected` record by record; `messages.verdict(value)` (the
reference validator) agrees with `expected` on every record, which tests/test_generator.py checks.

What the data looks like:
- ids increase by one from `start_id`; every record uses one, bad ones included, and the key
  is always that id as text, so keys spread over the partitions;
- currencies with realistic weights (mostly EUR and USD), amounts log-normal around a median
  that depends on the merchant category, converted with data/exchange_rates.csv (so a JPY
  amount is ~150x a USD one) and rounded to the currency's minor unit (JPY, XOF: none);
- extra fields `merchant_category`, `country`, `channel` for plots (the pipeline ignores them);
- timestamps from the wall clock, or from a simulated clock that starts at `start` and moves
  on by 1/events_per_second on average (to replay a day in seconds); mostly "+00:00", some
  "Z", some with another offset ("+05:30", "-05:00": the same instant, written locally);
- about 2% of the valid records use the forms the pipeline must normalise: "usd", " USD ",
  a timestamp without offset (kinds "lowercase_currency", "padded_currency", "no_offset_timestamp");
- with `bad_ratio` > 0, that share of records is bad, drawn uniformly over BAD_KINDS.

Same seed, same records (with clock="simulated", the same bytes). The valid transactions do
not depend on `bad_ratio`: a bad record is a valid one, corrupted.

Labelled fraud (notebook 08), with `fraud_ratio` > 0: the transactions come from a fixed
population of CARD_COUNT cards, each with its habits (home country and currency, spending level,
favourite categories and channels), and every message carries its `card_id`. That share of them
is fraud, following one of FRAUD_PATTERNS. The label is never in the message: a fraudulent
record carries a `Chargeback` (`record.chargeback`), what the bank learns 1 to 7 days later,
which the producer sends to its own topic. With `fraud_ratio` 0 (the default) nothing changes:
the same records, byte for byte, as before fraud existed.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import math
import random
import time
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import accumulate, islice
from statistics import NormalDist
from typing import Iterator, Literal

from . import messages

# --- What valid transactions look like -----------------------------------------------------

# Share of transactions per currency (only those with a rate in data/exchange_rates.csv are used).
CURRENCY_WEIGHTS = {"EUR": 45, "USD": 25, "GBP": 8, "CHF": 5, "JPY": 4, "CAD": 3,
                    "MAD": 3, "AUD": 2.5, "CNY": 2.5, "XOF": 2}
# ISO 4217 minor units: yen and CFA francs have no cents.
ZERO_DECIMAL_CURRENCIES = {"JPY", "XOF"}
# Where a currency's card payments happen (country codes, ISO 3166).
COUNTRIES = {
    "EUR": {"FR": 36, "DE": 22, "ES": 12, "IT": 12, "NL": 7, "BE": 5, "PT": 3, "IE": 3},
    "USD": {"US": 1}, "GBP": {"GB": 1}, "CHF": {"CH": 1}, "JPY": {"JP": 1}, "CAD": {"CA": 1},
    "MAD": {"MA": 1}, "AUD": {"AU": 1}, "CNY": {"CN": 1},
    "XOF": {"SN": 40, "CI": 35, "ML": 10, "BF": 10, "BJ": 5},
}
# merchant_category: (share, median amount in EUR). Amounts are log-normal around the median.
CATEGORIES = {
    "grocery": (26, 28.0), "restaurant": (16, 32.0), "transport": (10, 18.0), "fuel": (9, 55.0),
    "fashion": (9, 65.0), "health": (7, 40.0), "entertainment": (7, 35.0),
    "electronics": (6, 160.0), "utilities": (5, 85.0), "travel": (5, 320.0),
}
AMOUNT_SIGMA = 0.9  # of log(amount): the 95% range is median / 5.8 .. median x 5.8
CHANNELS = {"card_present": 35, "contactless": 30, "online": 25, "mobile": 10}
# How valid timestamps end: "+00:00" mostly; "Z" and local offsets name the same instant.
TIMESTAMP_OFFSETS = {"+00:00": 850, "Z": 100, "+01:00": 12, "+02:00": 10, "-05:00": 10,
                     "+05:30": 6, "+09:00": 6, "-08:00": 6}
# Valid records written in a form the pipeline must normalise (docs/contract.md: trim, upper-case, UTC).
NORMALISED_SHARE = 0.02
VALID_KINDS = ("valid", "lowercase_currency", "padded_currency", "no_offset_timestamp")

DEFAULT_SIMULATED_START = datetime(2026, 1, 1, tzinfo=timezone.utc)

# --- Labelled fraud (fraud_ratio > 0): cards with habits, and the ways fraud breaks them ----

# The bank's cards: one population whatever the seed (another seed is another stretch of the
# same cards' payments), so the card profiles a model learned still hold on another seed's data.
CARD_COUNT = 1_000
CARD_POPULATION_SEED = "lab-cards-1"
CARD_LEVEL_SIGMA = 0.5    # cards spend at different levels: log-normal around 1
CARD_AMOUNT_SIGMA = 0.6   # one card's amounts in one category, around its level (log scale)
ABROAD_SHARE = 0.03       # legitimate payments abroad: holidays, a foreign web shop
# Honest payments that look like fraud, so that no single rule is enough: small online payments
# (an app, a subscription: what card testing hides among) and the big purchase of the year (a
# laptop, a flight: what an amount spike looks like).
MICRO_PAYMENT_SHARE = 0.015
BIG_PURCHASE_SHARE = 0.005
# kind of fraud -> what it looks like (notebook 08 shows examples of each).
FRAUD_PATTERNS = {
    "card_testing": "a burst of 3 to 8 small online payments (0.50 to 4 EUR) on one card, a few "
                    "payments apart: a stolen card number being tried before it is used",
    "amount_spike": "one payment 6 to 25 times what the card usually spends in that category "
                    "(electronics, travel, fashion), mostly online",
    "foreign_night": "1 to 3 payments in shops of a country that is not the card's, between 23:00 "
                     "and 05:00 UTC: a cloned card, while its owner sleeps",
}
NIGHT_HOURS_UTC = frozenset((23, 0, 1, 2, 3, 4))
# Which pattern a new fraud follows, by day and by night (UTC).
PATTERN_WEIGHTS = {False: {"card_testing": 50, "amount_spike": 50},
                   True: {"card_testing": 25, "amount_spike": 25, "foreign_night": 50}}
# Payments per fraud: (fewest, most), drawn uniformly.
PATTERN_SIZES = {"card_testing": (3, 8), "amount_spike": (1, 1), "foreign_night": (1, 3)}
# A chargeback (the label) reaches the bank this many days after its payment, uniformly.
CHARGEBACK_DELAY_DAYS = (1.0, 7.0)

# --- What bad records look like: kind -> the reason(s) the pipeline must reject them with --

BAD_KINDS: dict[str, tuple[str, ...]] = {
    "null_message": ("null_message",),            # a tombstone: key, no value
    "empty_message": ("empty_message",),          # b""
    "not_utf8": ("not_utf8",),                    # Latin-1 "Café", or UTF-16 with its BOM
    "malformed_json": ("malformed_json",),        # single quotes, a missing comma, Python's None...
    "truncated_json": ("malformed_json",),        # a valid message cut short
    "not_an_object": ("malformed_json",),         # an array, a JSON string holding the message, null
    "duplicate_field": ("duplicate_field",),      # {"montant": 12.5, ..., "montant": -12.5}
    **{f"missing_{field}": ("missing_field",) for field in messages.FIELDS},
    **{f"null_{field}": ("null_field",) for field in messages.FIELDS},
    "transaction_id_as_float": ("invalid_transaction_id",),   # 12.0
    "transaction_id_as_string": ("invalid_transaction_id",),  # "12"
    "transaction_id_not_positive": ("invalid_transaction_id",),  # 0, -12
    "montant_as_string": ("invalid_montant",),    # "12.50"
    "montant_zero": ("invalid_montant",),         # 0, 0.0, -0.0
    "montant_negative": ("invalid_montant",),     # -12.50 (a refund sent to the wrong topic)
    "montant_nan": ("invalid_montant",),          # NaN
    "montant_infinite": ("invalid_montant",),     # Infinity, -Infinity, 1e999
    "unknown_currency": ("unknown_currency",),    # BTC, RUB, EURO, "", "€"
    "unparseable_timestamp": ("invalid_timestamp",),  # "27/11/2026 22:40:31", a date alone, epoch ms
    "impossible_date": ("invalid_timestamp",),    # 2026-02-30, month 13, hour 25
    # Two faults at once: the first in REJECT_REASONS order wins.
    "several_faults": ("missing_field", "null_field", "invalid_transaction_id", "invalid_montant",
                       "unknown_currency"),
}


def _weighted_table(weights: dict, bits: int) -> tuple:
    """A tuple of 2**bits keys, each repeated in proportion to its weight (at least once).

    `table[random bits]` is then a weighted choice in one lookup: far cheaper per record than
    random.choices.
    """
    size = 1 << bits
    total = sum(weights.values())
    exact = {key: w * size / total for key, w in weights.items() if w > 0}
    counts = {key: max(1, int(x)) for key, x in exact.items()}
    # Largest remainders first get the slots that rounding down left (or give them back).
    by_remainder = sorted(counts, key=lambda k: counts[k] - exact[k])
    left = size - sum(counts.values())
    for key in (by_remainder[:left] if left >= 0 else by_remainder[::-1][:-left]):
        counts[key] += 1 if left >= 0 else -1
    return tuple(key for key, n in counts.items() for _ in range(n))


@functools.lru_cache(maxsize=None)
def _lognormal_factors() -> tuple[float, ...]:
    """exp(AMOUNT_SIGMA * z) at 2**16 evenly spaced quantiles of z ~ N(0, 1) (built once, ~20 ms).

    One table lookup per amount instead of random.lognormvariate; steps between neighbours
    are below a cent for amounts under a few hundred.
    """
    normal = NormalDist()
    n = 1 << 16
    return tuple(math.exp(AMOUNT_SIGMA * normal.inv_cdf((i + 0.5) / n)) for i in range(n))


def _second_text(epoch_second: int) -> str:
    """"YYYY-MM-DDTHH:MM:SS" of a UTC epoch second."""
    t = time.gmtime(epoch_second)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def _offset_seconds(suffix: str) -> int:
    if suffix in ("Z", ""):
        return 0
    sign = -1 if suffix[0] == "-" else 1
    return sign * (int(suffix[1:3]) * 3600 + int(suffix[4:6]) * 60)


@dataclass(frozen=True, slots=True)
class Chargeback:
    """What the bank learns later about a fraudulent payment: the label, never in the message.

    transaction_id: the generator's id of the payment (its Kafka key).
    card_id: the card it was made with.
    fraud_type: which of FRAUD_PATTERNS it followed.
    transaction_time, reported_at: UTC instants (ISO 8601 text) of the payment and of the
        chargeback, CHARGEBACK_DELAY_DAYS later.
    """

    transaction_id: int
    card_id: str
    fraud_type: str
    transaction_time: str
    reported_at: str

    def message(self) -> tuple[bytes, bytes]:
        """(key, value) of the chargeback's Kafka message: the transaction id, and this as JSON."""
        return str(self.transaction_id).encode(), json.dumps({
            "transaction_id": self.transaction_id, "card_id": self.card_id, "fraud_type": self.fraud_type,
            "transaction_time": self.transaction_time, "reported_at": self.reported_at}).encode()


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka message to send, and what the pipeline must do with it.

    key: the transaction id the generator assigned, as UTF-8 text (always set).
    value: the message bytes; None for a tombstone (kind "null_message").
    transaction_id: the id the pipeline will read from the message, or None when the message
        has no valid one (unreadable message, id missing, null, 12.0, "12", <= 0).
    kind: the class of input (VALID_KINDS or a key of BAD_KINDS).
    expected: "accept", or the reason code the pipeline must reject the message with.
    chargeback: for a fraudulent payment (only with fraud_ratio > 0), its label; else None.
    """

    key: bytes | None
    value: bytes | None
    transaction_id: int | None
    kind: str
    expected: str
    chargeback: Chargeback | None = None

    @property
    def fraud(self) -> str | None:
        """The fraud pattern this payment followed, or None for an honest one."""
        return None if self.chargeback is None else self.chargeback.fraud_type

    def __getattr__(self, name: str):
        # Only reached when a slot was never set: the hot loop of fraud-free records leaves
        # `chargeback` unset (one slot fewer to set per record, a quarter of the generator's
        # time in a same-run measurement), and an unset chargeback is no chargeback.
        if name == "chargeback":
            return None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _record_maker(labelled: bool = False):
    """A function that makes the same object as Record(...), at about half the cost.

    A frozen dataclass's __init__ sets each field through object.__setattr__, which made it a
    fifth of a record's cost in the generator's hot loop. Setting the slots through their
    descriptors is cheaper and gives an equal, still frozen Record (tests/test_generator.py
    checks both). `labelled`: also set `chargeback` (the card world); otherwise it stays unset,
    which reads as None.
    """
    new = object.__new__
    set_key, set_value, set_id, set_kind, set_expected, set_chargeback = (
        getattr(Record, name).__set__
        for name in ("key", "value", "transaction_id", "kind", "expected", "chargeback"))

    def make(key: bytes | None, value: bytes | None, transaction_id: int | None, kind: str, expected: str) -> Record:
        record = new(Record)
        set_key(record, key)
        set_value(record, value)
        set_id(record, transaction_id)
        set_kind(record, kind)
        set_expected(record, expected)
        return record

    def make_labelled(key: bytes | None, value: bytes | None, transaction_id: int | None, kind: str,
                      expected: str, chargeback: Chargeback | None) -> Record:
        record = make(key, value, transaction_id, kind, expected)
        set_chargeback(record, chargeback)
        return record

    return make_labelled if labelled else make


_make_record = _record_maker()
_make_labelled_record = _record_maker(labelled=True)


@dataclass(frozen=True, slots=True)
class Card:
    """One card of the population and its habits.

    card_id: "C00001" ... ; currency, country: where it lives (it pays there, mostly);
    level: its spending level (its amounts are the category's median times this);
    category_cum, channel_cum: cumulative weights over CATEGORIES and CHANNELS (its habits);
    activity: how often it pays, relative to the others.
    """

    card_id: str
    currency: str
    country: str
    level: float
    category_cum: tuple[float, ...]
    channel_cum: tuple[float, ...]
    activity: float


@functools.lru_cache(maxsize=None)
def card_population() -> tuple[Card, ...]:
    """The bank's CARD_COUNT cards, the same for every seed (built once from CARD_POPULATION_SEED)."""
    rng = random.Random(CARD_POPULATION_SEED)
    rates = messages.load_rates()
    currencies = [c for c in CURRENCY_WEIGHTS if c in rates]
    cards = []
    for i in range(CARD_COUNT):
        currency = rng.choices(currencies, [CURRENCY_WEIGHTS[c] for c in currencies])[0]
        countries = COUNTRIES.get(currency, {"XX": 1})
        country = rng.choices(list(countries), list(countries.values()))[0]
        categories = [share * math.exp(0.5 * rng.gauss(0, 1)) for share, _ in CATEGORIES.values()]
        channels = [weight * math.exp(0.8 * rng.gauss(0, 1)) for weight in CHANNELS.values()]
        cards.append(Card(f"C{i + 1:05d}", currency, country, math.exp(CARD_LEVEL_SIGMA * rng.gauss(0, 1)),
                          tuple(accumulate(categories)), tuple(accumulate(channels)),
                          math.exp(0.7 * rng.gauss(0, 1))))
    return tuple(cards)


def _country_currencies(rates: dict[str, float]) -> dict[str, str]:
    """Every country of COUNTRIES whose currency has a rate -> that currency."""
    return {country: currency for currency, countries in COUNTRIES.items() if currency in rates
            for country in countries}


def _iso_utc(epoch_ms: int) -> str:
    """"YYYY-MM-DDTHH:MM:SS.mmmZ" of a UTC epoch millisecond."""
    second, millis = divmod(epoch_ms, 1000)
    return f"{_second_text(second)}.{millis:03d}Z"


class TransactionGenerator:
    """An endless, deterministic stream of Records: `next(gen)`, `for r in gen`, `gen.take(n)`.

    seed: same seed, same records (with clock="simulated", byte for byte).
    bad_ratio: share of bad records, in [0, 1], drawn uniformly over BAD_KINDS.
    start_id: the first transaction id (then +1 per record).
    clock: "wall" stamps each record with the time it is generated (UTC);
        "simulated" starts at `start` (default 2026-01-01T00:00Z; naive means UTC) and moves
        on by 1/events_per_second on average per record, with jitter.
    fraud_ratio: share of fraudulent payments, in [0, 1]. Above 0, payments come from the card
        population (messages carry `card_id`) and fraudulent records carry a `chargeback`;
        at 0, the records are exactly those of the lab before fraud existed.
    """

    def __init__(self, seed: int = 0, bad_ratio: float = 0.0, start_id: int = 1,
                 clock: Literal["wall", "simulated"] = "wall", start: datetime | None = None,
                 events_per_second: float = 100.0, fraud_ratio: float = 0.0) -> None:
        if not (isinstance(bad_ratio, (int, float)) and 0.0 <= bad_ratio <= 1.0):
            raise ValueError(f"bad_ratio must be a fraction between 0 and 1 (0.05 = 5% bad records), got {bad_ratio!r}")
        if not (isinstance(fraud_ratio, (int, float)) and 0.0 <= fraud_ratio <= 1.0):
            raise ValueError(f"fraud_ratio must be a fraction between 0 and 1 (0.02 = 2% fraud), got {fraud_ratio!r}")
        if not (isinstance(start_id, int) and 1 <= start_id <= messages.MAX_TRANSACTION_ID):
            raise ValueError(f"start_id must be a positive integer (transaction ids are > 0), got {start_id!r}")
        if clock not in ("wall", "simulated"):
            raise ValueError(f"clock must be 'wall' or 'simulated', got {clock!r}")
        if start is not None and clock != "simulated":
            raise ValueError("start= sets the simulated clock: pass clock='simulated' too (the wall clock starts now)")
        if not (isinstance(events_per_second, (int, float)) and math.isfinite(events_per_second)
                and events_per_second > 0):
            raise ValueError(f"events_per_second must be a number > 0, got {events_per_second!r}")
        if clock == "simulated":
            start = DEFAULT_SIMULATED_START if start is None else start
            if start.tzinfo is None:
                start = start.replace(tzinfo=timezone.utc)
        self.seed = seed
        self.bad_ratio = float(bad_ratio)
        self.start_id = start_id
        self.clock = clock
        self.start = start
        self.events_per_second = float(events_per_second)
        self.fraud_ratio = float(fraud_ratio)
        # Fraud off: the original loop, untouched, so existing seeds give the same bytes.
        self._stream = self._generate_cards() if self.fraud_ratio > 0 else self._generate()

    def __iter__(self) -> TransactionGenerator:
        return self

    def __next__(self) -> Record:
        return next(self._stream)

    def take(self, n: int) -> list[Record]:
        """The next `n` records."""
        if not (isinstance(n, int) and n >= 0):
            raise ValueError(f"take(n) needs an integer n >= 0, got {n!r}")
        return list(islice(self._stream, n))

    def _generate(self) -> Iterator[Record]:
        # The hot loop. Every weighted choice is a lookup in a precomputed table, indexed by
        # bits of one getrandbits call per record; the JSON is one f-string of precomputed
        # pieces (all plain ASCII, so nothing needs escaping). A record costs a few microseconds.
        rates = messages.load_rates()
        currencies = {c: w for c, w in CURRENCY_WEIGHTS.items() if c in rates}
        total = sum(currencies.values())
        # One table for what goes together: currency and country, category, channel.
        # Entry: (currency, median amount in that currency, amount formatter, extra fields).
        combos = {}
        for currency, currency_weight in currencies.items():
            zero_decimal = currency in ZERO_DECIMAL_CURRENCIES
            format_amount = ("{:.0f}" if zero_decimal else "{:.2f}").format
            countries = COUNTRIES.get(currency, {"XX": 1})
            for country, country_weight in countries.items():
                for category, (category_weight, median_eur) in CATEGORIES.items():
                    median = median_eur / rates[currency]
                    for channel, channel_weight in CHANNELS.items():
                        extras = f'"merchant_category": "{category}", "country": "{country}", "channel": "{channel}"'
                        weight = (currency_weight / total * country_weight / sum(countries.values())
                                  * category_weight * channel_weight)
                        combos[(currency, median, format_amount, extras)] = weight
        combo_table = _weighted_table(combos, bits=16)
        factors = _lognormal_factors()
        smallest = min(median for _, median, _, _ in combos) * factors[0]
        assert smallest >= 0.005, "an amount would round to 0: check CATEGORIES and AMOUNT_SIGMA"
        # How the record is written: (offset in seconds, timestamp suffix, kind). The valid
        # kinds other than "valid" are the forms the pipeline must normalise.
        each = NORMALISED_SHARE / 3
        forms = {(_offset_seconds(suffix), suffix, "valid"): (1 - NORMALISED_SHARE) * w
                 for suffix, w in TIMESTAMP_OFFSETS.items()}
        forms[(0, "+00:00", "lowercase_currency")] = each * sum(TIMESTAMP_OFFSETS.values())
        forms[(0, "+00:00", "padded_currency")] = each * sum(TIMESTAMP_OFFSETS.values())
        forms[(0, "", "no_offset_timestamp")] = each * sum(TIMESTAMP_OFFSETS.values())
        form_table = _weighted_table(forms, bits=10)
        millis_text = tuple(f".{ms:03d}" for ms in range(1000))

        rng = random.Random(self.seed)
        getrandbits = rng.getrandbits
        bad_rng = random.Random(f"bad-{self.seed}")  # apart, so valid records do not depend on bad_ratio
        bad_random = bad_rng.random
        bad_ratio = self.bad_ratio
        bad_kinds = tuple(BAD_KINDS)
        simulated = self.clock == "simulated"
        if simulated:
            clock_ms = float((self.start - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1))
        step_ms = 1000.0 / self.events_per_second
        jitter_unit = step_ms / 16384  # each step is uniform in [0.5, 1.5) x step_ms
        time_ns = time.time_ns
        seconds: dict[int, str] = {}  # "YYYY-MM-DDTHH:MM:SS" per local epoch second
        make_record = _make_record
        transaction_id = self.start_id

        while True:
            # 58 random bits: combo 16, form 10, clock jitter 14, amount quantile 16, padding 2.
            bits = getrandbits(58)
            currency, median, format_amount, extras = combo_table[bits & 0xFFFF]
            offset, suffix, kind = form_table[(bits >> 16) & 1023]
            amount = format_amount(median * factors[(bits >> 40) & 0xFFFF])
            if simulated:
                now_ms = int(clock_ms)
                clock_ms += step_ms * 0.5 + ((bits >> 26) & 0x3FFF) * jitter_unit
            else:
                now_ms = time_ns() // 1_000_000
            second, millis = divmod(now_ms, 1000)
            prefix = seconds.get(second + offset)
            if prefix is None:
                if len(seconds) > 4096:
                    seconds.clear()
                prefix = seconds[second + offset] = _second_text(second + offset)
            devise = currency
            if kind != "valid":  # ~2%: a form the pipeline must normalise
                if kind == "lowercase_currency":
                    devise = currency.lower()
                elif kind == "padded_currency":
                    devise = (" ", "  ")[(bits >> 56) & 1] + currency + (" ", "")[bits >> 57]
            id_text = str(transaction_id)

            if bad_ratio and bad_random() < bad_ratio:
                bad_kind = bad_kinds[int(bad_random() * len(bad_kinds))]
                value, good_id, expected = _corrupt(
                    bad_kind, bad_rng, transaction_id, id_text, amount, devise,
                    prefix + millis_text[millis] + suffix, second, millis, extras)
                yield make_record(id_text.encode(), value, good_id, bad_kind, expected)
            else:
                yield make_record(id_text.encode(),
                                  (f'{{"transaction_id": {id_text}, "montant": {amount}, "devise": "{devise}", '
                                   f'"timestamp": "{prefix}{millis_text[millis]}{suffix}", {extras}}}').encode(),
                                  transaction_id, kind, "accept")
            transaction_id += 1


    def _generate_cards(self) -> Iterator[Record]:
        # The card world: slower than _generate (a few random draws per record instead of one
        # table lookup), written for reading; still well above the rates the lab streams at.
        rates = messages.load_rates()
        cards = card_population()
        activity = tuple(accumulate(card.activity for card in cards))
        currency_of = _country_currencies(rates)
        destinations = {country: CURRENCY_WEIGHTS.get(currency, 1) * COUNTRIES[currency][country]
                        / sum(COUNTRIES[currency].values()) for country, currency in currency_of.items()}
        destination_names, destination_cum = tuple(destinations), tuple(accumulate(destinations.values()))
        category_names = tuple(CATEGORIES)
        medians = {name: median for name, (_, median) in CATEGORIES.items()}
        channel_names = tuple(CHANNELS)
        each = NORMALISED_SHARE / 3
        forms = {(_offset_seconds(suffix), suffix, "valid"): (1 - NORMALISED_SHARE) * w
                 for suffix, w in TIMESTAMP_OFFSETS.items()}
        forms[(0, "+00:00", "lowercase_currency")] = each * sum(TIMESTAMP_OFFSETS.values())
        forms[(0, "+00:00", "padded_currency")] = each * sum(TIMESTAMP_OFFSETS.values())
        forms[(0, "", "no_offset_timestamp")] = each * sum(TIMESTAMP_OFFSETS.values())
        form_table = _weighted_table(forms, bits=10)

        rng = random.Random(f"cards-{self.seed}")
        rand, randint, uniform, gauss = rng.random, rng.randint, rng.uniform, rng.gauss
        bad_rng = random.Random(f"bad-{self.seed}")
        bad_random = bad_rng.random
        bad_kinds = tuple(BAD_KINDS)
        # A fraud of n payments takes n records; start one with the probability that makes
        # `fraud_ratio` of all records fraudulent, given the mean size of the patterns that
        # can start at that hour (and that records already promised to a fraud start none).
        ratio = self.fraud_ratio
        start_odds = {}
        for night, weights in PATTERN_WEIGHTS.items():
            mean = sum(w * sum(PATTERN_SIZES[p]) / 2 for p, w in weights.items()) / sum(weights.values())
            start_odds[night] = ratio / (mean - ratio * (mean - 1))
        patterns = {night: (tuple(w), tuple(accumulate(w.values()))) for night, w in PATTERN_WEIGHTS.items()}
        pending: list = []  # (record index due, order of promise, fraudulent payment)
        promised = itertools.count()
        simulated = self.clock == "simulated"
        if simulated:
            clock_ms = float((self.start - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1))
        step_ms = 1000.0 / self.events_per_second
        time_ns = time.time_ns
        delay_ms = tuple(d * 86_400_000 for d in CHARGEBACK_DELAY_DAYS)

        def choose(names, cumulative):
            return names[bisect(cumulative, rand() * cumulative[-1])]

        def abroad(card: Card) -> str:
            while True:
                country = choose(destination_names, destination_cum)
                if country != card.country:
                    return country

        def fraud(pattern: str) -> list[tuple]:
            """The payments of one fraud: (card, category, channel, country, amount in EUR, pattern)."""
            card = cards[int(rand() * len(cards))]  # a stolen card is anyone's
            n = randint(*PATTERN_SIZES[pattern])
            if pattern == "card_testing":
                category = ("entertainment", "fashion", "electronics")[randint(0, 2)]
                country = card.country if rand() < 0.5 else abroad(card)
                return [(card, category, "online", country, round(uniform(0.5, 4.0), 2), pattern) for _ in range(n)]
            if pattern == "amount_spike":
                category = ("electronics", "travel", "fashion")[min(2, int(rand() * 3))]
                channel = "online" if rand() < 0.6 else "card_present"
                country = card.country if rand() < 0.85 else abroad(card)
                return [(card, category, channel, country,
                         medians[category] * card.level * uniform(6.0, 25.0), pattern)]
            country = abroad(card)
            payments = []
            for _ in range(n):
                category = ("electronics", "fashion", "fuel", "grocery")[randint(0, 3)]
                payments.append((card, category, "card_present" if rand() < 0.7 else "contactless", country,
                                 medians[category] * card.level * uniform(1.5, 5.0), pattern))
            return payments

        index = 0
        transaction_id = self.start_id
        while True:
            if simulated:
                now_ms = int(clock_ms)
                clock_ms += step_ms * (0.5 + rand())
            else:
                now_ms = time_ns() // 1_000_000
            if pending and pending[0][0] <= index:
                card, category, channel, country, amount_eur, pattern = heapq.heappop(pending)[2]
            else:
                night = (now_ms // 3_600_000) % 24 in NIGHT_HOURS_UTC
                if rand() < start_odds[night]:
                    pattern = choose(*patterns[night])
                    payments = fraud(pattern)
                    card, category, channel, country, amount_eur, pattern = payments[0]
                    due = index
                    for later in payments[1:]:  # card testing: a few records apart; cloned card: minutes
                        due += randint(1, 4) if pattern == "card_testing" else randint(5, 30)
                        heapq.heappush(pending, (due, next(promised), later))
                else:
                    pattern = None
                    card = cards[bisect(activity, rand() * activity[-1])]
                    category = choose(category_names, card.category_cum)
                    channel = choose(channel_names, card.channel_cum)
                    country = abroad(card) if rand() < ABROAD_SHARE else card.country
                    amount_eur = medians[category] * card.level * math.exp(CARD_AMOUNT_SIGMA * gauss(0.0, 1.0))
                    look_alike = rand()
                    if look_alike < MICRO_PAYMENT_SHARE:
                        category, channel, amount_eur = "entertainment", "online", uniform(0.99, 4.99)
                    elif look_alike < MICRO_PAYMENT_SHARE + BIG_PURCHASE_SHARE:
                        category = ("electronics", "travel", "fashion")[min(2, int(rand() * 3))]
                        amount_eur = medians[category] * card.level * uniform(5.0, 20.0)
            currency = currency_of[country]
            if currency in ZERO_DECIMAL_CURRENCIES:
                amount = f"{max(1.0, amount_eur / rates[currency]):.0f}"
            else:
                amount = f"{max(0.01, amount_eur / rates[currency]):.2f}"
            offset, suffix, kind = form_table[int(rand() * 1024)]
            devise = currency
            if kind == "lowercase_currency":
                devise = currency.lower()
            elif kind == "padded_currency":
                devise = (" ", "  ")[int(rand() * 2)] + currency + (" ", "")[int(rand() * 2)]
            second, millis = divmod(now_ms, 1000)
            timestamp = f"{_second_text(second + offset)}.{millis:03d}{suffix}"
            extras = (f'"card_id": "{card.card_id}", "merchant_category": "{category}", "country": "{country}", '
                      f'"channel": "{channel}"')
            label = None if pattern is None else Chargeback(
                transaction_id, card.card_id, pattern, _iso_utc(now_ms), _iso_utc(now_ms + int(uniform(*delay_ms))))
            id_text = str(transaction_id)
            if bad_random() < self.bad_ratio:
                bad_kind = bad_kinds[int(bad_random() * len(bad_kinds))]
                value, good_id, expected = _corrupt(bad_kind, bad_rng, transaction_id, id_text, amount, devise,
                                                    timestamp, second, millis, extras)
                yield _make_labelled_record(id_text.encode(), value, good_id, bad_kind, expected, label)
            else:
                yield _make_labelled_record(id_text.encode(),
                                   (f'{{"transaction_id": {id_text}, "montant": {amount}, "devise": "{devise}", '
                                    f'"timestamp": "{timestamp}", {extras}}}').encode(),
                                   transaction_id, kind, "accept", label)
            transaction_id += 1
            index += 1


# --- Bad records: a valid message, corrupted. Slow path, so written for reading. ------------

_MALFORMED = (
    "single_quotes",     # str(dict) instead of json.dumps
    "python_literals",   # None / True written by hand
    "missing_comma",
    "trailing_comma",
    "unquoted_keys",
    "csv_line",
)
_NOT_AN_OBJECT = ("array", "json_string", "number", "null")
_UNKNOWN_CURRENCIES = ("BTC", "RUB", "XTS", "EURO", "US$", "", "\\u20ac")  # \u20ac: "€", escaped


@functools.lru_cache(maxsize=None)
def _unknown_currencies() -> tuple[str, ...]:
    """_UNKNOWN_CURRENCIES as JSON strings, minus any that data/exchange_rates.csv has a rate for."""
    rates = messages.load_rates()
    return tuple(f'"{c}"' for c in _UNKNOWN_CURRENCIES
                 if messages.normalise_devise(json.loads(f'"{c}"')) not in rates)


def _impossible_date(rng: random.Random, second: int, millis: int) -> str:
    """A timestamp (JSON text) of the right shape near `second` that names no real instant."""
    t = time.gmtime(second)
    y, mo, d, h, mi, s = t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec
    hms = f"{h:02d}:{mi:02d}:{s:02d}.{millis:03d}"
    return rng.choice((
        f'"{y:04d}-02-30T{hms}Z"',
        f'"{y:04d}-04-31T{hms}+00:00"',
        f'"{y:04d}-13-{d:02d}T{hms}+00:00"',
        f'"{y:04d}-00-{d:02d}T{hms}+00:00"',
        f'"{y:04d}-{mo:02d}-00T{hms}Z"',
        f'"{y:04d}-{mo:02d}-{d:02d}T25:{mi:02d}:{s:02d}.{millis:03d}+00:00"',
    ))


def _unparseable_timestamp(rng: random.Random, second: int, millis: int) -> str:
    """A timestamp (JSON text) near `second` that is not an ISO 8601 date-time."""
    t = time.gmtime(second)
    y, mo, d, h, mi, s = t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec
    return rng.choice((
        f'"{d:02d}/{mo:02d}/{y:04d} {h:02d}:{mi:02d}:{s:02d}"',  # the French way
        f'"{y:04d}-{mo:02d}-{d:02d}"',  # a date is not a date-time
        f'"{y:04d}-{mo:02d}-{d:02d}T{h:02d}h{mi:02d}"',
        '"yesterday"',
        '""',
        str(second * 1000 + millis),  # epoch milliseconds, as a number
        f'"{second * 1000 + millis}"',  # ... and as text
    ))


def _corrupt(kind: str, rng: random.Random, transaction_id: int, id_text: str, amount: str,
             devise: str, timestamp: str, second: int, millis: int,
             extras: str) -> tuple[bytes | None, int | None, str]:
    """(value, transaction_id the pipeline can read or None, expected reason) for a bad `kind`."""
    # The four fields as JSON text, in message order; corruptions edit, delete or add to them.
    fields = {"transaction_id": id_text, "montant": amount, "devise": f'"{devise}"',
              "timestamp": f'"{timestamp}"'}

    def message(fields: dict[str, str] = fields) -> str:
        return "{" + ", ".join([f'"{k}": {v}' for k, v in fields.items()] + [extras]) + "}"

    if kind == "null_message":
        return None, None, "null_message"
    if kind == "empty_message":
        return b"", None, "empty_message"
    if kind == "not_utf8":
        if rng.random() < 0.5:  # an editor's Latin-1: é is one byte, 0xE9, invalid in UTF-8
            return message({**fields, "merchant_name": '"Café du Marché"'}).encode("latin-1"), None, "not_utf8"
        return message().encode("utf-16"), None, "not_utf8"  # starts with a BOM, FF FE: never UTF-8
    if kind == "truncated_json":
        text = message()
        return text[:rng.randrange(1, len(text))].encode(), None, "malformed_json"
    if kind == "malformed_json":
        text, variant = message(), rng.choice(_MALFORMED)
        if variant == "single_quotes":
            text = text.replace('"', "'")
        elif variant == "python_literals":
            text = message({**fields, "montant": "None"}).replace('"channel"', '"refunded": False, "channel"')
        elif variant == "missing_comma":
            text = text.replace(', "devise"', ' "devise"')
        elif variant == "trailing_comma":
            text = text[:-1] + ",}"
        elif variant == "unquoted_keys":
            text = text.replace('"transaction_id":', "transaction_id:").replace('"montant":', "montant:")
        else:
            text = ",".join([id_text, amount, devise, timestamp])
        return text.encode(), None, "malformed_json"
    if kind == "not_an_object":
        variant = rng.choice(_NOT_AN_OBJECT)
        text = {"array": f"[{message()}]", "json_string": json.dumps(message()),
                "number": id_text, "null": "null"}[variant]
        return text.encode(), None, "malformed_json"

    if kind == "duplicate_field":  # a required field named twice, a second value appended
        name = rng.choice(messages.FIELDS)
        second_value = {"transaction_id": str(transaction_id + 1), "montant": f"-{amount}",
                        "devise": '"USD"', "timestamp": f'"{timestamp}"'}[name]
        return (message()[:-1] + f', "{name}": {second_value}}}').encode(), None, "duplicate_field"

    if kind.startswith("missing_"):
        del fields[kind[len("missing_"):]]
        expected = "missing_field"
    elif kind.startswith("null_"):
        fields[kind[len("null_"):]] = "null"
        expected = "null_field"
    elif kind == "transaction_id_as_float":
        fields["transaction_id"] = f"{id_text}.0"
        expected = "invalid_transaction_id"
    elif kind == "transaction_id_as_string":
        fields["transaction_id"] = f'"{id_text}"'
        expected = "invalid_transaction_id"
    elif kind == "transaction_id_not_positive":
        fields["transaction_id"] = rng.choice(("0", f"-{id_text}"))
        expected = "invalid_transaction_id"
    elif kind == "montant_as_string":
        fields["montant"] = f'"{amount}"'
        expected = "invalid_montant"
    elif kind == "montant_zero":
        fields["montant"] = rng.choice(("0", "0.0", "0.00", "-0.0"))
        expected = "invalid_montant"
    elif kind == "montant_negative":
        fields["montant"] = f"-{amount}"
        expected = "invalid_montant"
    elif kind == "montant_nan":
        fields["montant"] = "NaN"
        expected = "invalid_montant"
    elif kind == "montant_infinite":
        fields["montant"] = rng.choice(("Infinity", "-Infinity", "1e999"))
        expected = "invalid_montant"
    elif kind == "unknown_currency":
        fields["devise"] = rng.choice(_unknown_currencies())
        expected = "unknown_currency"
    elif kind == "unparseable_timestamp":
        fields["timestamp"] = _unparseable_timestamp(rng, second, millis)
        expected = "invalid_timestamp"
    elif kind == "impossible_date":
        fields["timestamp"] = _impossible_date(rng, second, millis)
        expected = "invalid_timestamp"
    elif kind == "several_faults":
        variant = rng.randrange(5)
        if variant == 0:  # missing comes before null, whatever the fields' order
            fields["devise"] = "null"
            del fields["timestamp"]
            expected = "missing_field"
        elif variant == 1:
            fields["montant"] = "null"
            fields["devise"] = rng.choice(_unknown_currencies())
            expected = "null_field"
        elif variant == 2:
            fields["transaction_id"] = f'"{id_text}"'
            fields["montant"] = f"-{amount}"
            expected = "invalid_transaction_id"
        elif variant == 3:
            fields["montant"] = "NaN"
            fields["timestamp"] = _impossible_date(rng, second, millis)
            expected = "invalid_montant"
        else:
            fields["devise"] = rng.choice(_unknown_currencies())
            fields["timestamp"] = _unparseable_timestamp(rng, second, millis)
            expected = "unknown_currency"
    else:
        raise AssertionError(f"no corruption written for kind {kind!r}")

    id_readable = expected != "invalid_transaction_id" and fields.get("transaction_id", "null") != "null"
    return message().encode(), (transaction_id if id_readable else None), expected
