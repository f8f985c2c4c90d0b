"""The message contract (docs/contract.md, "The message") in code.

One place that the producer, the Spark pipeline and the tests import, so that the fields,
the reject reasons and their order are written down once:

    from lab_utils import messages
    messages.FIELDS              # the four required fields, in message order
    messages.REJECT_REASONS      # reason code -> description, in the order they are checked
    messages.load_rates()        # {"EUR": 1.0, "USD": 0.8621, ...} from data/exchange_rates.csv
    messages.verdict(b'{"transaction_id": 1, ...}')   # -> "accept" or a reason code

`verdict()` is the reference validator: plain Python, slow, obvious. It is the oracle the
tests compare the Spark pipeline against (every message the pipeline writes to `output/` must
have the verdict "accept"; every message in `rejected/` must carry the reason `verdict` gives).
When the pipeline and `verdict` disagree, the rules below decide who is wrong.

Rules, checked in the order of REJECT_REASONS; a message with several faults gets the first:

- the Kafka value must be present, non-empty, UTF-8, and parse as a JSON *object*
  (a UTF-8 byte-order mark makes it `malformed_json`: RFC 8259 section 8.1 forbids a BOM in
  JSON sent over a network, and the pipeline reads the value as text without stripping it);
- all four FIELDS present (`missing_field`), then none of them null (`null_field`);
- `transaction_id`: a JSON integer, 1 <= id <= 2**63 - 1 (Spark's `long`); `12.0`, `"12"`,
  `true` are not integers;
- `montant`: a JSON number (not a string, not `true`/`false`), finite and > 0. Python's json
  reads the tokens `NaN`, `Infinity`, `-Infinity` (and `1e999` overflows to infinity): they
  are numbers, hence `invalid_montant`, not `malformed_json`;
- `devise`: a string that, trimmed of spaces (U+0020, like Spark's `trim`) and upper-cased,
  has a rate in `data/exchange_rates.csv`; anything else, a number included, is
  `unknown_currency`;
- `timestamp`: a string matching TIMESTAMP_PATTERN that names a real instant
  (`2026-02-30` or hour 25 are `invalid_timestamp`) between MIN_INSTANT and MAX_INSTANT
  (0001-01-02 to 9999-12-30 UTC); without an offset it is UTC.

Spark reads JSON with Jackson, whose limits and extensions are part of the rules, so that
the reference and the pipeline agree on every message (tests/test_bad_input.py):

- nesting deeper than MAX_NESTING_DEPTH (1000) arrays/objects, or a number with more than
  MAX_NUMBER_DIGITS (1000) digits (integer, fraction and exponent digits; a lone leading 0
  before the point does not count), is `malformed_json`: Jackson's StreamReadConstraints,
  pinned in pipeline.JSON_OPTIONS. Python alone would accept both.
- besides Python's `NaN`, `Infinity` and `-Infinity`, Jackson reads `+Infinity`, `+INF` and
  `-INF` as numbers (ALLOW_NON_NUMERIC_NUMBERS, which keeps NaN an invalid_montant rather
  than malformed_json): they are numbers here too, hence `invalid_montant` as a montant.

Duplicate keys at the top level make the message `duplicate_field`, whatever the values:
RFC 8259 leaves their meaning open (Python's json keeps the last, Spark's JSON map keeps
both and returns the first), so the lab refuses to guess. Fields other than FIELDS are
ignored.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

from . import config, i18n
from .errors import ConfigError

FIELDS = ("transaction_id", "montant", "devise", "timestamp")
# Optional fields the pipeline keeps when a message has them (docs/contract.md: output/ columns,
# null when absent): where and how the card paid. The fraud model of notebook 08 learns from them.
DETAILS = ("card_id", "merchant_category", "country", "channel")

ACCEPT = "accept"

# Order matters: it is the order the pipeline checks them in, and a message with several
# faults is rejected with the first one that applies.
REJECT_REASONS: dict[str, str] = {
    "null_message": "the Kafka value is null (a tombstone)",
    "empty_message": "the Kafka value is zero bytes long",
    "not_utf8": "the value is not valid UTF-8",
    "malformed_json": "the value is not a JSON object (not JSON, truncated, a BOM, or an array/string/number)",
    "duplicate_field": "the JSON object names the same field twice (which one counts is ambiguous)",
    "missing_field": "a required field (transaction_id, montant, devise, timestamp) is absent",
    "null_field": "a required field is present but null",
    "invalid_transaction_id": "transaction_id is not a positive JSON integer (12.0, \"12\", 0 and -3 are not)",
    "invalid_montant": "montant is not a finite JSON number > 0 (a string, true, 0, -5, NaN, Infinity)",
    "unknown_currency": "devise, trimmed and upper-cased, has no rate in data/exchange_rates.csv",
    "invalid_timestamp": "timestamp is not ISO 8601 date-time, or names an impossible date (2026-02-30)",
}

RATES_CSV = config.RATES_CSV

_ = i18n.catalog(__name__, {
    "rates_header": {
        "en": "{path}: expected the header `devise,taux_eur`, got {header}: restore the file "
              "(`git checkout data/exchange_rates.csv`) or fix its first line",
        "fr": "{path} : l'en-tête `devise,taux_eur` était attendu, pas {header} : restaurez le fichier "
              "(`git checkout data/exchange_rates.csv`) ou corrigez sa première ligne",
    },
    "rates_line": {
        "en": "{path}, line {line}: {text} is not a currency code and its rate in EUR, finite and > 0 "
              "(e.g. `USD,0.8621`): fix or delete that line",
        "fr": "{path}, ligne {line} : {text} n'est pas un code de devise suivi de son taux en EUR, fini et > 0 "
              "(par exemple `USD,0.8621`) : corrigez ou supprimez cette ligne",
    },
    "rates_duplicate": {
        "en": "{path}, line {line}: {code} already has a rate on line {first}: keep only one of the two lines",
        "fr": "{path}, ligne {line} : {code} a déjà un taux à la ligne {first} : ne gardez qu'une des deux lignes",
    },
})

MAX_TRANSACTION_ID = 2**63 - 1  # the output column is a Spark long

# Jackson's StreamReadConstraints defaults (jackson-core 2.15+), which Spark applies to every
# JSON parse; lab_utils.pipeline pins them in JSON_OPTIONS so a Spark upgrade cannot move them.
MAX_NESTING_DEPTH = 1000
MAX_NUMBER_DIGITS = 1000
# Non-numeric number tokens Jackson accepts beyond Python's NaN / Infinity / -Infinity.
_JACKSON_NON_NUMERIC = {"+Infinity": "Infinity", "+INF": "Infinity", "-INF": "-Infinity"}
# One JSON token at a time, outside strings: enough to measure nesting and number lengths.
_JSON_TOKEN = re.compile(r'''
      (?P<string>"(?:[^"\\]|\\.)*"?)
    | (?P<open>[\[{])
    | (?P<close>[\]}])
    | (?P<nonnum>\+Infinity|[+-]INF)(?![A-Za-z0-9])
    | (?P<number>-?(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?(?:[eE][+-]?(?P<exp>[0-9]+))?)
    | (?P<other>[^"\[\]{}0-9+-]+|.)
''', re.X | re.S)

# ISO 8601 / RFC 3339 date-time: date, "T" (or a space, as RFC 3339 allows), time to the
# second, an optional fraction (1-9 digits; Spark keeps microseconds), an optional offset.
# Unanchored: Python uses re.fullmatch; in Java (Spark `rlike`) anchor it with ^(?:...)\z,
# because Java's `$` also matches before a final newline.
TIMESTAMP_PATTERN = (
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_TIMESTAMP_RE = re.compile(TIMESTAMP_PATTERN)
MAX_OFFSET = timedelta(hours=18)  # java.time.ZoneOffset's limit
# The instants a timestamp may name: their wall-clock date exists (years 1 to 9999) in every
# time zone, so event_date and event_time_local can be written and read back in Python
# (datetime.date stops at 9999-12-31: one row dated 10000-01-01 would break every reader).
MIN_INSTANT = datetime(1, 1, 2, tzinfo=timezone.utc)
MAX_INSTANT = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=timezone.utc)


@functools.lru_cache(maxsize=None)
def load_rates(path: Path = RATES_CSV) -> dict[str, float]:
    """EUR for one unit of each currency, from a CSV with columns `devise,taux_eur` (cached).

    Every line must hold a three-letter code and a finite rate > 0, each code once: otherwise
    ConfigError names the file, the line and the fix (a bad rate would turn into wrong amounts,
    or a duplicate into a silent choice). Treat the result as read-only: it is shared by every caller.
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"devise", "taux_eur"} <= set(reader.fieldnames):
            raise ConfigError(_("rates_header", path=path, header=reader.fieldnames))
        rates: dict[str, float] = {}
        first_line: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            code = (row.get("devise") or "").strip().upper()
            try:
                rate = float(row.get("taux_eur") or "")
            except ValueError:
                rate = math.nan
            if not re.fullmatch(r"[A-Z]{3}", code) or not math.isfinite(rate) or rate <= 0 or None in row:
                cells = [v for v in row.values() if isinstance(v, str)] + list(row.get(None) or [])
                text = ",".join(cells)
                raise ConfigError(_("rates_line", path=path, line=line, text=repr(text)))
            if code in rates:
                raise ConfigError(_("rates_duplicate", path=path, line=line, code=code, first=first_line[code]))
            rates[code], first_line[code] = rate, line
        return rates


def normalise_devise(devise: str) -> str:
    """The currency code as the pipeline uses it: spaces trimmed, upper-cased (" usd " -> "USD")."""
    return devise.strip(" ").upper()


def parse_timestamp(text: str) -> datetime | None:
    """The instant a contract timestamp names, as an aware UTC datetime; None if invalid.

    Accepts TIMESTAMP_PATTERN only (so not "2026-11-27", not "27/11/2026 22:40"), with an
    offset of at most 18 hours, and only real dates and times (no 2026-02-30, no 25:00).
    No offset means UTC. Fractions beyond microseconds are truncated, as Spark does.
    """
    m = _TIMESTAMP_RE.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    if offset is None or offset == "Z":
        tz = timezone.utc
    else:
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        delta = timedelta(hours=hours, minutes=minutes)
        if minutes > 59 or delta > MAX_OFFSET:
            return None
        tz = timezone(-delta if offset[0] == "-" else delta)
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=tz)
        instant = local.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # impossible date or time; or outside years 1-9999 in UTC
        return None
    return instant if MIN_INSTANT <= instant <= MAX_INSTANT else None


class _KeyCountingDict(dict):
    """A JSON object that remembers whether it named a key twice."""

    def __init__(self, pairs):
        super().__init__(pairs)
        self.duplicated = len(self) != len(pairs)


def _is_json_number(value: object) -> bool:
    # bool is a subclass of int in Python, but `true` is not a JSON number.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _within_reader_limits(text: str) -> tuple[str, int] | None:
    """(text with Jackson's extra non-numeric tokens spelled the Python way, nesting depth),
    or None when the text breaks a limit of Spark's JSON reader (MAX_NESTING_DEPTH, MAX_NUMBER_DIGITS)."""
    depth = deepest = 0
    rewrites = []
    for m in _JSON_TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "open":
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_NESTING_DEPTH:
                return None
        elif kind == "close":
            depth -= 1
        elif kind == "nonnum":
            rewrites.append((m.start(), m.end(), _JACKSON_NON_NUMERIC[m.group()]))
        elif m.group("number") is not None:
            digits = m.group("int")
            frac, exp = m.group("frac"), m.group("exp")
            if frac is None and exp is None:
                count = len(digits)
            else:  # Jackson does not count the 0 of "0.5" (its float length is int + fraction + exponent digits)
                count = (0 if digits == "0" else len(digits)) + len(frac or "") + len(exp or "")
            if count > MAX_NUMBER_DIGITS:
                return None
    for start, end, spelled in reversed(rewrites):
        text = text[:start] + spelled + text[end:]
    return text, deepest


def verdict(value: bytes | None, *, rates: Mapping[str, float] | None = None) -> str:
    """"accept", or the reason code (a key of REJECT_REASONS) the pipeline must give `value`.

    The reference validator: the tests compare the Spark pipeline against it. `value` is the
    Kafka record's value as bytes (None for a tombstone). `rates` defaults to load_rates().
    """
    if value is None:
        return "null_message"
    if len(value) == 0:
        return "empty_message"
    try:
        text = bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return "not_utf8"
    within = _within_reader_limits(text)
    if within is None:
        return "malformed_json"
    text, depth = within
    # Python's json recurses once per level: make room for MAX_NESTING_DEPTH levels
    # (process-wide while it parses; restored at once).
    limit = sys.getrecursionlimit()
    if depth > 100:
        sys.setrecursionlimit(limit + depth + 100)
    try:
        message = json.loads(text, object_pairs_hook=_KeyCountingDict)
    except (ValueError, RecursionError):  # JSONDecodeError (a ValueError), ints over 4300 digits
        return "malformed_json"
    finally:
        if depth > 100:
            sys.setrecursionlimit(limit)
    if not isinstance(message, dict):
        return "malformed_json"
    if message.duplicated:
        return "duplicate_field"

    if any(field not in message for field in FIELDS):
        return "missing_field"
    if any(message[field] is None for field in FIELDS):
        return "null_field"

    transaction_id = message["transaction_id"]
    if not (isinstance(transaction_id, int) and not isinstance(transaction_id, bool)
            and 1 <= transaction_id <= MAX_TRANSACTION_ID):
        return "invalid_transaction_id"

    montant = message["montant"]
    if not _is_json_number(montant):
        return "invalid_montant"
    try:
        montant = float(montant)
    except OverflowError:  # an integer too large for a double
        return "invalid_montant"
    if not (math.isfinite(montant) and montant > 0):
        return "invalid_montant"

    devise = message["devise"]
    if rates is None:
        rates = load_rates()
    if not isinstance(devise, str) or normalise_devise(devise) not in rates:
        return "unknown_currency"

    timestamp = message["timestamp"]
    if not isinstance(timestamp, str) or parse_timestamp(timestamp) is None:
        return "invalid_timestamp"

    return ACCEPT
