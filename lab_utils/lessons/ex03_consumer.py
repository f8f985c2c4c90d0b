"""Notebook 03's exercise checks: the seed's consumer (`consumer_spark.py`), built by the student step by step.

    checks.kafka_stream(raw_stream)      # readStream.format("kafka") on the lesson's topic, from its first offset
    checks.parse(parse)                  # from_json with a schema; an unreadable message flagged, not lost
    checks.with_rate(with_rate)          # the currency trimmed and upper-cased, its rate joined, no row lost
    checks.add_reason(add_reason)        # a reason per rejected record, the first rule that applies
    checks.montant_eur(to_eur)           # EUR to the cent, half up, computed in decimal
    checks.local_time(add_local_time)    # the instant, the time zone, the local time and date (DST edges)
    checks.parquet_sink(write_parquet)   # writeStream: Parquet, checkpoint, partitionBy, availableNow
    checks.batch_numbers(batch_numbers)  # reading a query's lastProgress

Each check runs the student's function on cases the notebook does not show (hidden cases: DST
edges in Europe/Paris, 1.005 and 10 x 1.0695 rounding, NaN and infinite amounts, lower-case and
padded currencies, missing fields, text that is not JSON) and says ✅, or ❌ with a hint, in the
lab's language. tests/lessons/test_ex03_consumer.py feeds each one the untouched placeholder and
plausible wrong answers.

Then the lesson's proof and tools:

    checks.compare_with_reference(mine_output, mine_checkpoint, reference_root)   # offset by offset
    checks.read_checkpoint(checkpoint)   # the last committed batch and the Kafka offsets it reached
    checks.submit_command(folder)        # the spark-submit command of scripts/consumer_spark.py

The lesson's rules are simpler than the lab's (lab_utils.messages): six reasons, LESSON_REASONS.
The comparison lets through, and lists, the messages the lab rejects by a rule the lesson leaves
out (LEFT_OUT: not UTF-8, a field named twice); anything else that differs is a ❌.
"""

from __future__ import annotations

import contextlib
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable

from .. import config as _config
from .. import i18n, messages
from ..clients import kafka, storage
from ..pipeline import get_spark
from ..services import spark_submit
from .verdict import Verdict, not_done, placeholder

# The lesson's reasons, in the order they are checked (the lab's full list: messages.REJECT_REASONS).
LESSON_REASONS = ("malformed_json", "missing_field", "invalid_transaction_id", "invalid_montant",
                  "unknown_currency", "invalid_timestamp")
# Rules of the lab that the lesson leaves out: a message only these reject may be in the student's output.
LEFT_OUT = ("not_utf8", "duplicate_field")
KAFKA_COLUMNS = ("key", "value", "topic", "partition", "offset", "timestamp", "timestampType")
# The output/ columns of docs/contract.md that the student's consumer writes (all but ingest_time).
OUTPUT_COLUMNS = ("transaction_id", "montant", "devise", "taux_eur", "montant_eur", "event_time", "timezone",
                  "event_time_local", "event_date", "kafka_partition", "kafka_offset")
CONSUMER_SCRIPT = "scripts/consumer_spark.py"

_ = i18n.catalog(__name__, {
    # ---- shared
    "raised": {
        "en": "`{name}` raised {error}: {detail}{hint}",
        "fr": "`{name}` a levé {error} : {detail}{hint}",
    },
    "hint_try": {
        "en": " (a stream stops at the first error of this kind: use `F.try_to_timestamp` or `try_cast`, which "
              "give null instead, and let a reason reject the message)",
        "fr": " (un flux s'arrête à la première erreur de ce genre : utilisez `F.try_to_timestamp` ou `try_cast`, "
              "qui donnent null à la place, et laissez une raison rejeter le message)",
    },
    "not_a_dataframe": {
        "en": "`{name}` should return a DataFrame, got {got}",
        "fr": "`{name}` doit renvoyer un DataFrame, pas {got}",
    },
    "missing_columns": {
        "en": "the result lacks the column(s) {columns}: {hint}",
        "fr": "il manque au résultat la ou les colonnes {columns} : {hint}",
    },
    "wrong_type": {
        "en": "column `{column}` is {got}, it should be {want}: {hint}",
        "fr": "la colonne `{column}` est de type {got}, elle doit être de type {want} : {hint}",
    },
    "rows_lost": {
        "en": "{given} rows went in, {got} came out: {hint}",
        "fr": "{given} lignes en entrée, {got} en sortie : {hint}",
    },
    # ---- kafka_stream
    "stream_not_df": {
        "en": "`raw_stream` should be a DataFrame: `spark.readStream.format(\"kafka\")...load()`",
        "fr": "`raw_stream` doit être un DataFrame : `spark.readStream.format(\"kafka\")...load()`",
    },
    "stream_batch": {
        "en": "this DataFrame is not a stream: `spark.read` reads the topic once; `spark.readStream` reads it "
              "as an unbounded table",
        "fr": "ce DataFrame n'est pas un flux : `spark.read` lit le topic une fois ; `spark.readStream` le lit "
              "comme une table sans fin",
    },
    "stream_columns": {
        "en": "keep Kafka's raw columns ({want}); you have {got}: parsing comes in the next step",
        "fr": "gardez les colonnes brutes de Kafka ({want}) ; vous avez {got} : l'analyse du JSON vient à "
              "l'étape suivante",
    },
    "stream_option": {
        "en": "option `{option}` is {got!r}, it should be {want!r}: {hint}",
        "fr": "l'option `{option}` vaut {got!r}, elle doit valoir {want!r} : {hint}",
    },
    "hint_servers": {
        "en": "use `cfg.KAFKA_BOOTSTRAP_SERVERS`",
        "fr": "utilisez `cfg.KAFKA_BOOTSTRAP_SERVERS`",
    },
    "hint_topic": {
        "en": "subscribe to `cfg.KAFKA_TOPIC`",
        "fr": "abonnez-vous à `cfg.KAFKA_TOPIC` (`subscribe`)",
    },
    "hint_earliest": {
        "en": "a new stream starts at the end of the topic and would miss every message already there",
        "fr": "un nouveau flux commence à la fin du topic et manquerait tous les messages déjà présents",
    },
    "stream_failed": {
        "en": "reading your stream failed: {detail} (check the options: `kafka.bootstrap.servers` is "
              "`cfg.KAFKA_BOOTSTRAP_SERVERS`, `subscribe` is `cfg.KAFKA_TOPIC`)",
        "fr": "la lecture de votre flux a échoué : {detail} (vérifiez les options : `kafka.bootstrap.servers` "
              "vaut `cfg.KAFKA_BOOTSTRAP_SERVERS`, `subscribe` vaut `cfg.KAFKA_TOPIC`)",
    },
    "stream_slow": {
        "en": "your stream read nothing within {seconds} s: is `kafka.bootstrap.servers` "
              "`cfg.KAFKA_BOOTSTRAP_SERVERS`?",
        "fr": "votre flux n'a rien lu en {seconds} s : `kafka.bootstrap.servers` vaut-il "
              "`cfg.KAFKA_BOOTSTRAP_SERVERS` ?",
    },
    "topic_empty": {
        "en": "the topic {topic} is empty, so there is nothing to check: send messages first (notebook 02, or "
              "`producer.produce(count=1000)`), then run this check again",
        "fr": "le topic {topic} est vide, il n'y a rien à vérifier : envoyez d'abord des messages (notebook 02, "
              "ou `producer.produce(count=1000)`), puis relancez cette vérification",
    },
    "stream_read": {
        "en": "your stream read {got} of the {want} messages of {topic}: {hint}",
        "fr": "votre flux a lu {got} des {want} messages de {topic} : {hint}",
    },
    "stream_ok": {
        "en": "your stream reads {topic} from the first offset of each partition ({count} messages right now)",
        "fr": "votre flux lit {topic} depuis le premier décalage (offset) de chaque partition ({count} messages "
              "en ce moment)",
    },
    # ---- parse
    "hint_parse_columns": {
        "en": "return the message as text (`raw_value`), the four fields, `_corrupt_record`, and "
              "`partition`/`offset` renamed `kafka_partition`/`kafka_offset`",
        "fr": "renvoyez le message en texte (`raw_value`), les quatre champs, `_corrupt_record`, et "
              "`partition`/`offset` renommées `kafka_partition`/`kafka_offset`",
    },
    "hint_parse_types": {
        "en": "give the field its type in the schema",
        "fr": "donnez au champ son type dans le schéma",
    },
    "hint_keep_rows": {
        "en": "keep every message, readable or not: the next steps give the bad ones a reason",
        "fr": "gardez tous les messages, lisibles ou non : les étapes suivantes donnent une raison aux mauvais",
    },
    "parse_unflagged": {
        "en": "the message {message} is not a JSON object, but its `_corrupt_record` is null: {hint}",
        "fr": "le message {message} n'est pas un objet JSON, mais son `_corrupt_record` est null : {hint}",
    },
    "hint_corrupt": {
        "en": "put a field `_corrupt_record STRING` in the schema: from_json copies there the text it could not read",
        "fr": "mettez un champ `_corrupt_record STRING` dans le schéma : from_json y recopie le texte qu'il n'a "
              "pas pu lire",
    },
    "hint_single_quotes": {
        "en": "JSON wants double quotes, but Spark accepts single ones unless you pass the option "
              "`{{\"allowSingleQuotes\": \"false\"}}` to from_json",
        "fr": "le JSON exige des guillemets doubles, mais Spark accepte les simples sauf si vous passez l'option "
              "`{{\"allowSingleQuotes\": \"false\"}}` à from_json",
    },
    "parse_flagged": {
        "en": "the message {message} is valid JSON, yet it is flagged in `_corrupt_record`: check the schema's types",
        "fr": "le message {message} est du JSON valide, pourtant il est signalé dans `_corrupt_record` : vérifiez "
              "les types du schéma",
    },
    "parse_values": {
        "en": "the message {message} gives {got}, expected {want}",
        "fr": "le message {message} donne {got}, attendu {want}",
    },
    "parse_ok": {
        "en": "every field is read with its type, and the {bad} unreadable messages are kept and flagged",
        "fr": "chaque champ est lu avec son type, et les {bad} messages illisibles sont gardés et signalés",
    },
    # ---- with_rate
    "hint_left_join": {
        "en": "an inner join drops the messages whose currency has no rate; `how=\"left\"` keeps them (their "
              "`taux_eur` is null) so that a reason can reject them",
        "fr": "une jointure interne (inner) supprime les messages dont la devise n'a pas de taux ; "
              "`how=\"left\"` les garde (leur `taux_eur` est null) pour qu'une raison les rejette",
    },
    "hint_rate_columns": {
        "en": "join the rates table on `devise`: it brings `taux_eur`",
        "fr": "joignez la table des taux sur `devise` : elle apporte `taux_eur`",
    },
    "rate_wrong": {
        "en": "the currency {given!r} gives devise {got_devise!r} and taux_eur {got_rate}, expected {want_devise!r} "
              "and {want_rate}: {hint}",
        "fr": "la devise {given!r} donne devise {got_devise!r} et taux_eur {got_rate}, attendu {want_devise!r} "
              "et {want_rate} : {hint}",
    },
    "hint_normalise": {
        "en": "trim the spaces and upper-case the code before the join (`F.upper(F.trim(...))`), and keep that "
              "normalised code in `devise`",
        "fr": "enlevez les espaces et passez le code en majuscules avant la jointure (`F.upper(F.trim(...))`), "
              "et gardez ce code normalisé dans `devise`",
    },
    "hint_rate_other": {
        "en": "a currency without a rate keeps its (normalised) code and gets a null rate",
        "fr": "une devise sans taux garde son code (normalisé) et reçoit un taux null",
    },
    "rate_ok": {
        "en": "every currency is trimmed, upper-cased and joined to its rate; none of the {count} rows is lost",
        "fr": "chaque devise est nettoyée, mise en majuscules et jointe à son taux ; aucune des {count} lignes "
              "n'est perdue",
    },
    # ---- add_reason
    "hint_reason_column": {
        "en": "add a column `reason`: null for a valid record, else the first rule it breaks",
        "fr": "ajoutez une colonne `reason` : null pour un enregistrement valide, sinon la première règle qu'il "
              "enfreint",
    },
    "hint_no_filter": {
        "en": "do not filter here: every record stays, the bad ones with their reason (nothing is dropped "
              "silently)",
        "fr": "ne filtrez pas ici : chaque enregistrement reste, les mauvais avec leur raison (rien ne disparaît "
              "en silence)",
    },
    "reason_wrong": {
        "en": "{record}: reason {got}, expected {want}: {hint}",
        "fr": "{record} : raison {got}, attendu {want} : {hint}",
    },
    "reason_ok": {
        "en": "each of the {count} records gets the right reason, or none when it is valid",
        "fr": "chacun des {count} enregistrements reçoit la bonne raison, ou aucune s'il est valide",
    },
    "why_valid": {
        "en": "this record is valid (an offset `Z`, `+05:30`, none at all, or a fraction are all fine)",
        "fr": "cet enregistrement est valide (un décalage `Z`, `+05:30`, aucun, ou une fraction de seconde, tout "
              "cela convient)",
    },
    "why_malformed": {
        "en": "`_corrupt_record` is not null: the text was not a JSON object of the right types",
        "fr": "`_corrupt_record` n'est pas null : le texte n'était pas un objet JSON aux bons types",
    },
    "why_missing": {
        "en": "a field that is absent or null gives missing_field (test each of the four with `isNull()`)",
        "fr": "un champ absent ou null donne missing_field (testez chacun des quatre avec `isNull()`)",
    },
    "why_id": {
        "en": "a transaction_id must be > 0",
        "fr": "un transaction_id doit être > 0",
    },
    "why_nan": {
        "en": "NaN is a double, and `NaN <= 0` is false in Spark: test it with `F.isnan`",
        "fr": "NaN est un double, et `NaN <= 0` est faux dans Spark : testez-le avec `F.isnan`",
    },
    "why_infinite": {
        "en": "an infinite amount is > 0 but is not an amount: compare with `float(\"inf\")`",
        "fr": "un montant infini est > 0 mais n'est pas un montant : comparez avec `float(\"inf\")`",
    },
    "why_not_positive": {
        "en": "an amount must be > 0",
        "fr": "un montant doit être > 0",
    },
    "why_currency": {
        "en": "no rate for this currency: its `taux_eur` is null",
        "fr": "pas de taux pour cette devise : son `taux_eur` est null",
    },
    "why_date_only": {
        "en": "Spark reads \"2026-11-27\" as midnight, but a date alone is not a date-time: check the shape first "
              "(`rlike`, e.g. `^\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}:\\d{{2}}`)",
        "fr": "Spark lit \"2026-11-27\" comme minuit, mais une date seule n'est pas une date-heure : vérifiez "
              "d'abord la forme (`rlike`, par exemple `^\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}:\\d{{2}}`)",
    },
    "why_timestamp": {
        "en": "this timestamp names no instant: `F.try_to_timestamp` gives null",
        "fr": "cet horodatage ne désigne aucun instant : `F.try_to_timestamp` donne null",
    },
    "why_order": {
        "en": "with several faults, the first rule in the lesson's order wins",
        "fr": "quand il y a plusieurs défauts, la première règle dans l'ordre de la leçon l'emporte",
    },
    # ---- montant_eur
    "hint_montant_eur": {
        "en": "add `montant_eur` with `df.withColumn(...)`",
        "fr": "ajoutez `montant_eur` avec `df.withColumn(...)`",
    },
    "hint_double": {
        "en": "compute in decimal, then cast the rounded amount back to double (`.cast(\"double\")`)",
        "fr": "calculez en décimal, puis reconvertissez le montant arrondi en double (`.cast(\"double\")`)",
    },
    "eur_wrong": {
        "en": "{montant} × {taux} gives {got}, expected {want}: {hint}",
        "fr": "{montant} × {taux} donne {got}, attendu {want} : {hint}",
    },
    "why_cents": {
        "en": "round to 2 decimals (cents)",
        "fr": "arrondissez à 2 décimales (les centimes)",
    },
    "why_half_up": {
        "en": "half up: a half cent goes up (1.005 → 1.01), as a cashier does; `F.bround` rounds half to even",
        "fr": "au demi supérieur : un demi-centime monte (1,005 → 1,01), comme à la caisse ; `F.bround` arrondit "
              "au pair le plus proche",
    },
    "why_decimal": {
        "en": "in doubles 10 × 1.0695 is 10.694999…, which rounds down: multiply in decimal "
              "(`.try_cast(\"decimal(38,12)\")` on both), then round",
        "fr": "en doubles, 10 × 1,0695 vaut 10,694999…, qui s'arrondit vers le bas : multipliez en décimal "
              "(`.try_cast(\"decimal(38,12)\")` sur les deux), puis arrondissez",
    },
    "why_multiply": {
        "en": "montant_eur is montant × taux_eur, rounded to the cent",
        "fr": "montant_eur vaut montant × taux_eur, arrondi au centime",
    },
    "eur_ok": {
        "en": "every amount is converted and rounded half up to the cent, 1.005 → 1.01 and 10 × 1.0695 → 10.70 "
              "included",
        "fr": "chaque montant est converti et arrondi au centime supérieur à partir du demi, 1,005 → 1,01 et "
              "10 × 1,0695 → 10,70 compris",
    },
    # ---- local_time
    "hint_time_columns": {
        "en": "add `event_time` (the instant), `timezone`, `event_time_local` and `event_date`",
        "fr": "ajoutez `event_time` (l'instant), `timezone`, `event_time_local` et `event_date`",
    },
    "hint_ntz": {
        "en": "a wall-clock time belongs to no zone: cast it with `.cast(\"timestamp_ntz\")`",
        "fr": "une heure locale (heure murale) n'appartient à aucun fuseau : convertissez-la avec "
              "`.cast(\"timestamp_ntz\")`",
    },
    "hint_timestamp": {
        "en": "`event_time` is the instant: `F.try_to_timestamp(\"timestamp\")`",
        "fr": "`event_time` est l'instant : `F.try_to_timestamp(\"timestamp\")`",
    },
    "hint_date_type": {
        "en": "`event_date` is a date: `F.to_date(...)` of the local time",
        "fr": "`event_date` est une date : `F.to_date(...)` de l'heure locale",
    },
    "time_wrong": {
        "en": "{timestamp} in {zone}: {column} is {got}, expected {want}: {hint}",
        "fr": "{timestamp} dans le fuseau {zone} : {column} vaut {got}, attendu {want} : {hint}",
    },
    "why_instant": {
        "en": "the instant of the timestamp, its offset applied (no offset means UTC)",
        "fr": "l'instant de l'horodatage, décalage appliqué (sans décalage, c'est de l'UTC)",
    },
    "why_zone_name": {
        "en": "the `timezone` column holds the zone you were given",
        "fr": "la colonne `timezone` contient le fuseau reçu en paramètre",
    },
    "why_utc": {
        "en": "that is the UTC time: convert it with `F.from_utc_timestamp(event_time, timezone)`",
        "fr": "c'est l'heure UTC : convertissez-la avec `F.from_utc_timestamp(event_time, timezone)`",
    },
    "why_dst": {
        "en": "Paris is UTC+1 in winter and UTC+2 in summer, and the change happens at 01:00 UTC: let the zone "
              "decide (`F.from_utc_timestamp`), never add a fixed hour",
        "fr": "Paris est à UTC+1 en hiver et UTC+2 en été, et le changement a lieu à 01:00 UTC : laissez le "
              "fuseau décider (`F.from_utc_timestamp`), n'ajoutez jamais une heure fixe",
    },
    "why_zone_param": {
        "en": "use the `timezone` parameter, not a zone written in your code",
        "fr": "utilisez le paramètre `timezone`, pas un fuseau écrit dans votre code",
    },
    "why_local_date": {
        "en": "the date of the local time, not of the UTC instant",
        "fr": "la date de l'heure locale, pas de l'instant UTC",
    },
    "time_ok": {
        "en": "the instant, the zone, the local time and its date are right, across both DST changes of "
              "Europe/Paris and in another zone",
        "fr": "l'instant, le fuseau, l'heure locale et sa date sont justes, de part et d'autre des deux "
              "changements d'heure de Europe/Paris et dans un autre fuseau",
    },
    # ---- parquet_sink
    "sink_not_query": {
        "en": "`write_parquet` should return the running query that `.start()` gives, got {got}",
        "fr": "`write_parquet` doit renvoyer la requête en cours que donne `.start()`, pas {got}",
    },
    "sink_failed": {
        "en": "your query failed: {detail}",
        "fr": "votre requête a échoué : {detail}",
    },
    "sink_never_ends": {
        "en": "your query was still running after writing everything: use `.trigger(availableNow=True)`, so it "
              "processes what the topic holds, then stops (it has been stopped for you)",
        "fr": "votre requête tournait encore après avoir tout écrit : utilisez `.trigger(availableNow=True)`, "
              "pour qu'elle traite ce que contient le topic puis s'arrête (elle a été arrêtée pour vous)",
    },
    "sink_no_log": {
        "en": "no `_spark_metadata` in the output folder: write with `.format(\"parquet\")` and "
              "`.option(\"path\", path)`",
        "fr": "pas de `_spark_metadata` dans le dossier de sortie : écrivez avec `.format(\"parquet\")` et "
              "`.option(\"path\", path)`",
    },
    "sink_no_checkpoint": {
        "en": "nothing was committed in the checkpoint folder: `.option(\"checkpointLocation\", checkpoint)`",
        "fr": "rien n'a été validé dans le dossier du point de contrôle : "
              "`.option(\"checkpointLocation\", checkpoint)`",
    },
    "sink_no_partitions": {
        "en": "the output has no `event_date=…` folders: `.partitionBy(\"event_date\")`",
        "fr": "la sortie n'a pas de dossiers `event_date=…` : `.partitionBy(\"event_date\")`",
    },
    "sink_not_parquet": {
        "en": "the output is not readable as Parquet ({detail}): `.format(\"parquet\")`",
        "fr": "la sortie n'est pas lisible en Parquet ({detail}) : `.format(\"parquet\")`",
    },
    "sink_rows": {
        "en": "the output holds the transactions {got}, expected {want}",
        "fr": "la sortie contient les transactions {got}, attendu {want}",
    },
    "sink_ok": {
        "en": "Parquet in `event_date=…` folders, committed in `_spark_metadata`, a checkpoint, and the query "
              "stopped on its own once done",
        "fr": "du Parquet dans des dossiers `event_date=…`, validé dans `_spark_metadata`, un point de contrôle, "
              "et une requête qui s'arrête d'elle-même une fois le travail fait",
    },
    # ---- batch_numbers
    "numbers_not_dict": {
        "en": "return a dict with the keys {keys}, got {got}",
        "fr": "renvoyez un dict avec les clés {keys}, pas {got}",
    },
    "numbers_wrong": {
        "en": "for a batch where {case}: {field} is {got}, expected {want}: {hint}",
        "fr": "pour un lot où {case} : {field} vaut {got}, attendu {want} : {hint}",
    },
    "why_batch": {
        "en": "`progress.batchId`",
        "fr": "`progress.batchId`",
    },
    "why_rows": {
        "en": "`progress.numInputRows`, the rows this batch read",
        "fr": "`progress.numInputRows`, les lignes lues par ce lot",
    },
    "why_rate": {
        "en": "`progress.inputRowsPerSecond`, how fast rows arrive (processedRowsPerSecond is how fast Spark "
              "handles them)",
        "fr": "`progress.inputRowsPerSecond`, la vitesse à laquelle les lignes arrivent (processedRowsPerSecond "
              "est celle à laquelle Spark les traite)",
    },
    "why_keeping_up": {
        "en": "a query keeps up when it processes rows at least as fast as they arrive",
        "fr": "une requête suit le rythme quand elle traite les lignes au moins aussi vite qu'elles arrivent",
    },
    "numbers_case": {
        "en": "{rows} rows arrived at {input} rows/s and were processed at {processed} rows/s",
        "fr": "{rows} lignes sont arrivées à {input} lignes/s et ont été traitées à {processed} lignes/s",
    },
    "numbers_ok": {
        "en": "you read a batch's number, its rows and their rate, and whether the query keeps up",
        "fr": "vous lisez le numéro d'un lot, ses lignes et leur débit, et si la requête suit le rythme",
    },
    # ---- compare_with_reference
    "cmp_no_commit": {
        "en": "{which} has no committed batch yet ({checkpoint}): run its query first",
        "fr": "{which} n'a encore aucun lot validé ({checkpoint}) : lancez d'abord sa requête",
    },
    "cmp_yours": {"en": "your consumer", "fr": "votre consommateur"},
    "cmp_reference": {"en": "the lab's pipeline", "fr": "le pipeline du lab"},
    "cmp_columns": {
        "en": "your output lacks the column(s) {columns}",
        "fr": "il manque à votre sortie la ou les colonnes {columns}",
    },
    "cmp_ok": {
        "en": "on the same offsets ({offsets}), your {rows} rows equal the lab's, column by column",
        "fr": "sur les mêmes décalages ({offsets}), vos {rows} lignes sont égales à celles du lab, colonne par "
              "colonne",
    },
    "cmp_left_out": {
        "en": "; you also kept {count} messages that the lab rejects by rules this lesson leaves out ({reasons})",
        "fr": " ; vous avez aussi gardé {count} messages que le lab rejette selon des règles que cette leçon "
              "laisse de côté ({reasons})",
    },
    "cmp_differ": {
        "en": "on the same offsets ({offsets}), {count} differences with the lab's output ({kinds}): see the table",
        "fr": "sur les mêmes décalages ({offsets}), {count} différences avec la sortie du lab ({kinds}) : voyez "
              "le tableau",
    },
    "diff_missing": {"en": "missing in yours", "fr": "absente chez vous"},
    "diff_extra": {"en": "kept by you, rejected by the lab", "fr": "gardée par vous, rejetée par le lab"},
    "diff_left_out": {"en": "left out by this lesson", "fr": "hors du champ de cette leçon"},
    "diff_twice": {"en": "written twice in yours", "fr": "écrite deux fois chez vous"},
    "diff_value": {"en": "different {column}", "fr": "{column} différent"},
    "diff_column_kind": {"en": "difference", "fr": "différence"},
    "diff_column_yours": {"en": "yours", "fr": "chez vous"},
    "diff_column_lab": {"en": "the lab's", "fr": "chez le lab"},
    "diff_column_reason": {"en": "the lab's reason", "fr": "raison du lab"},
    "diff_column_message": {"en": "message", "fr": "message"},
    "cmp_shown": {
        "en": "{shown} of {count} shown",
        "fr": "{shown} sur {count} affichées",
    },
    # ---- read_checkpoint
    "ckpt_none": {
        "en": "{checkpoint}: no committed batch yet",
        "fr": "{checkpoint} : aucun lot validé pour l'instant",
    },
    "ckpt_state": {
        "en": "{checkpoint}: batch {batch} committed; the next one starts at offsets {offsets}",
        "fr": "{checkpoint} : lot {batch} validé ; le suivant commence aux décalages {offsets}",
    },
})


def _session(spark=None):
    """The student's SparkSession (the notebook's), else the lab's."""
    from pyspark.sql import SparkSession

    return spark or SparkSession.getActiveSession() or get_spark()


def _fail(text: str, **values) -> Verdict:
    return Verdict(False, _(text, **values))


def _raised(name: str, error: BaseException) -> Verdict:
    """❌ for a student's function that raised, with the first line of the error and a hint when one helps."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    kinds = ("CANNOT_PARSE_TIMESTAMP", "CAST_INVALID_INPUT", "CAST_OVERFLOW", "DATETIME_FIELD_OUT_OF_BOUNDS")
    hint = _("hint_try") if any(k in str(error) for k in kinds) else ""
    return _fail("raised", name=name, error=type(error).__name__, detail=text[:300], hint=hint)


def _run(name: str, function: Callable, *args) -> tuple[Any, Verdict | None]:
    """Call the student's function: (its result, None), or (None, the ❌ to show)."""
    try:
        result = function(*args)
    except Exception as e:  # noqa: BLE001 - the student's code: any error is shown to them
        return None, _raised(name, e)
    return result, None


def _dataframe(name: str, result, need: tuple[str, ...], hint: str) -> Verdict | None:
    """❌ unless `result` is a DataFrame with the columns `need`; None when it is."""
    if result is Ellipsis or result is None:
        return placeholder()
    if not hasattr(result, "columns") or not hasattr(result, "collect"):
        return _fail("not_a_dataframe", name=name, got=type(result).__name__)
    missing = [c for c in need if c not in result.columns]
    if missing:
        return _fail("missing_columns", columns=", ".join(missing), hint=hint)
    return None


def _result(name: str, function: Callable, args: tuple, need: tuple[str, ...], hint: str,
            types: dict[str, str] | None = None, type_hints: dict[str, str] | None = None):
    """Run the student's step on `args`: (its DataFrame, None), or (None, the ❌ to show) when it raised,
    returned the placeholder or no DataFrame, lacks a column of `need`, or a column has not its type."""
    result, failure = _run(name, function, *args)
    if failure is None:
        failure = _dataframe(name, result, need, hint)
    if failure is None and types:
        failure = _types(result, types, type_hints or {})
    return (None, failure) if failure is not None else (result, None)


def _types(result, want: dict[str, str], hints: dict[str, str]) -> Verdict | None:
    types = dict(result.dtypes)
    for column, expected in want.items():
        if types.get(column) != expected:
            return _fail("wrong_type", column=column, got=types.get(column), want=expected, hint=hints[column])
    return None


def _collect(name: str, result, columns: list) -> tuple[list | None, Verdict | None]:
    """The rows of the student's DataFrame (Spark runs their code here, so errors show up here)."""
    try:
        return result.select(*columns).collect(), None
    except Exception as e:  # noqa: BLE001 - the student's code
        return None, _raised(name, e)


def _same(got, want) -> bool:
    if isinstance(want, float) and isinstance(got, float) and math.isnan(want):
        return math.isnan(got)
    return got == want


# --------------------------------------------------------------------------- 1. readStream


def _source_options(raw_stream) -> dict[str, str]:
    """The options of a streaming DataFrame's source, read from its plan (empty when Spark hides them)."""
    try:
        options = raw_stream._jdf.queryExecution().analyzed().extraOptions().asCaseSensitiveMap()
        return {str(k).lower(): str(v) for k, v in options.items()}
    except Exception:  # noqa: BLE001 - a plan of another shape: the run below checks the same things
        return {}


def kafka_stream(raw_stream, cfg: _config.LabConfig | None = None, timeout_s: float = 120.0) -> Verdict:
    """Notebook 03, step 1: `raw_stream` is `spark.readStream.format("kafka")` on cfg.KAFKA_TOPIC, from
    the first offset, with Kafka's columns. Runs it once (availableNow, into the noop sink) and
    compares what it read with what the topic holds."""
    if not_done(raw_stream):
        return placeholder()
    cfg = cfg or _config.load()
    if not hasattr(raw_stream, "isStreaming"):
        return _fail("stream_not_df")
    if not raw_stream.isStreaming:
        return _fail("stream_batch")
    if list(raw_stream.columns) != list(KAFKA_COLUMNS):
        return _fail("stream_columns", want=", ".join(KAFKA_COLUMNS), got=", ".join(raw_stream.columns))
    options = _source_options(raw_stream)
    expected = {"kafka.bootstrap.servers": (cfg.KAFKA_BOOTSTRAP_SERVERS, "hint_servers"),
                "subscribe": (cfg.KAFKA_TOPIC, "hint_topic"), "startingoffsets": ("earliest", "hint_earliest")}
    if options:
        for option, (want, hint) in expected.items():
            got = options.get(option, "latest" if option == "startingoffsets" else None)
            if got != want:
                return _fail("stream_option", option=option if option != "startingoffsets" else "startingOffsets",
                             got=got, want=want, hint=_(hint))
    offsets = kafka.topic_offsets(cfg.KAFKA_TOPIC, cfg)
    total = sum(end - start for start, end in offsets.values())
    if not total:
        return _fail("topic_empty", topic=cfg.KAFKA_TOPIC)
    # Run it once: availableNow reads what the topic holds, the noop sink throws the rows away, and
    # the query's progress says how many it read and up to which offsets.
    try:
        query = raw_stream.writeStream.format("noop").trigger(availableNow=True).start()
    except Exception as e:  # noqa: BLE001 - the student's options
        return _fail("stream_failed", detail=str(e).strip().splitlines()[0][:300])
    try:
        try:
            ended = query.awaitTermination(timeout_s)
        except Exception as e:  # noqa: BLE001 - the student's options
            return _fail("stream_failed", detail=str(e).strip().splitlines()[0][:300])
        if not ended:
            return _fail("stream_slow", seconds=f"{timeout_s:.0f}")
        progress = query.recentProgress
    finally:
        query.stop()
    read = sum(p.numInputRows for p in progress)
    topics = {topic for p in progress for source in p.sources if source.endOffset
              for topic in json.loads(source.endOffset)}
    if topics - {cfg.KAFKA_TOPIC}:
        return _fail("stream_option", option="subscribe", got=", ".join(sorted(topics)), want=cfg.KAFKA_TOPIC,
                     hint=_("hint_topic"))
    if read < total:
        return _fail("stream_read", got=f"{read:,}", want=f"{total:,}", topic=cfg.KAFKA_TOPIC, hint=_("hint_earliest"))
    return Verdict(True, _("stream_ok", topic=cfg.KAFKA_TOPIC, count=f"{read:,}"))


# --------------------------------------------------------------------------- 2. parse

KAFKA_SCHEMA = ("key binary, value binary, topic string, partition int, offset long, timestamp timestamp, "
                "timestampType int")
_VALID_MESSAGE = (b'{"transaction_id": 7, "montant": 19.99, "devise": "USD", '
                  b'"timestamp": "2026-11-27T22:40:31.123+00:00", "channel": "online"}')
# (the Kafka value, the four fields it gives, or None when it is not a readable JSON object)
_PARSE_CASES = [
    (_VALID_MESSAGE, (7, 19.99, "USD", "2026-11-27T22:40:31.123+00:00")),
    (b'{"transaction_id": 8, "montant": 42, "devise": "eur", "timestamp": "2026-03-29T01:30:00Z"}',
     (8, 42.0, "eur", "2026-03-29T01:30:00Z")),
    (b'{"transaction_id": 9, "devise": "GBP", "timestamp": "2026-10-25T00:30:00Z"}',
     (9, None, "GBP", "2026-10-25T00:30:00Z")),
    (b'{"transaction_id": 10, "montant": NaN, "devise": "USD", "timestamp": "2026-11-27T22:40:31Z"}',
     (10, float("nan"), "USD", "2026-11-27T22:40:31Z")),
    (b"hello", None),
    (b"{'transaction_id': 11, 'montant': 12.5, 'devise': 'EUR', 'timestamp': '2026-11-27T22:40:31Z'}", None),
    (b'{"transaction_id": 12, "montant": 12.5, "dev', None),
    (b'[{"transaction_id": 13, "montant": 12.5, "devise": "EUR", "timestamp": "2026-11-27T22:40:31Z"}]', None),
]
_PARSE_TYPES = {"raw_value": "string", "transaction_id": "bigint", "montant": "double", "devise": "string",
                "timestamp": "string", "_corrupt_record": "string", "kafka_partition": "int", "kafka_offset": "bigint"}


def kafka_frame(spark, values: list[bytes | None]):
    """A small batch DataFrame with Kafka's columns, one row per value (offset = its index, 3 partitions):
    what a student's steps receive from the stream, for their cells and the checks."""
    rows = [(str(i).encode(), v, "transactions", i % 3, i, None, 0) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, KAFKA_SCHEMA)


def parse(parse_fn, spark=None) -> Verdict:
    """Notebook 03, step 2: `parse(raw)` reads the JSON of Kafka's `value` with from_json and a schema.

    Returns raw_value (the text), transaction_id, montant, devise, timestamp (typed), _corrupt_record
    (the text when it is not a readable JSON object, else null), kafka_partition, kafka_offset.
    """
    if not_done(parse_fn):
        return placeholder()
    spark = _session(spark)
    raw = kafka_frame(spark, [value for value, _fields in _PARSE_CASES])
    result, error = _result("parse", parse_fn, (raw,), tuple(_PARSE_TYPES), _("hint_parse_columns"), _PARSE_TYPES,
                            {c: _("hint_parse_types") for c in _PARSE_TYPES})
    if error is not None:
        return error
    rows, error = _collect("parse", result, list(_PARSE_TYPES))
    if error is not None:
        return error
    if len(rows) != len(_PARSE_CASES):
        return _fail("rows_lost", given=len(_PARSE_CASES), got=len(rows), hint=_("hint_keep_rows"))
    by_offset = {r.kafka_offset: r for r in rows}
    for offset, (value, fields) in enumerate(_PARSE_CASES):
        row = by_offset.get(offset)
        if row is None or row.kafka_partition != offset % 3:
            return _fail("rows_lost", given=len(_PARSE_CASES), got=len(rows), hint=_("hint_parse_columns"))
        shown = value.decode()[:70]
        if fields is None:
            if row._corrupt_record is None:
                hint = "hint_single_quotes" if value.startswith(b"{'") else "hint_corrupt"
                return _fail("parse_unflagged", message=shown, hint=_(hint))
            continue
        if row._corrupt_record is not None:
            return _fail("parse_flagged", message=shown)
        got = (row.transaction_id, row.montant, row.devise, row.timestamp)
        normalised = (got[0], got[1], messages.normalise_devise(got[2]) if got[2] else got[2], got[3])
        want_normalised = (fields[0], fields[1], messages.normalise_devise(fields[2]), fields[3])
        if not all(_same(g, w) for g, w in zip(normalised, want_normalised)) or row.raw_value != value.decode():
            return _fail("parse_values", message=shown, got=(*got, row.raw_value[:30] if row.raw_value else None),
                         want=(*fields, value.decode()[:30]))
    return Verdict(True, _("parse_ok", bad=sum(f is None for _v, f in _PARSE_CASES)))


# --------------------------------------------------------------------------- 3. the rates

PARSED_SCHEMA = ("raw_value string, transaction_id long, montant double, devise string, timestamp string, "
                 "_corrupt_record string, kafka_partition int, kafka_offset long")
_RATES = {"EUR": 1.0, "USD": 0.8621, "GBP": 1.139}
# (devise in the message, devise after the step, taux_eur)
_RATE_CASES = [("EUR", "EUR", 1.0), ("usd", "USD", 0.8621), (" GBP ", "GBP", 1.139), ("  eur", "EUR", 1.0),
               ("BTC", "BTC", None), ("", "", None), (None, None, None)]


def rates_frame(spark, rates: dict[str, float]):
    """The rates table as a small static DataFrame (devise, taux_eur): what a stream joins with."""
    return spark.createDataFrame(sorted(rates.items()), "devise string, taux_eur double")


def with_rate(with_rate_fn, spark=None) -> Verdict:
    """Notebook 03, step 3: `with_rate(parsed, rates)` trims and upper-cases `devise` and joins `taux_eur`
    from the rates table, keeping the rows whose currency has no rate (a left join)."""
    if not_done(with_rate_fn):
        return placeholder()
    spark = _session(spark)
    parsed = spark.createDataFrame(
        [(f"message {i}", 100 + i, 10.0, devise, "2026-11-27T22:40:31Z", None, i % 3, i)
         for i, (devise, _out, _rate) in enumerate(_RATE_CASES)], PARSED_SCHEMA)
    result, error = _result("with_rate", with_rate_fn, (parsed, rates_frame(spark, _RATES)),
                            ("devise", "taux_eur", "transaction_id", "kafka_offset"), _("hint_rate_columns"))
    if error is not None:
        return error
    rows, error = _collect("with_rate", result, ["kafka_offset", "transaction_id", "devise", "taux_eur"])
    if error is not None:
        return error
    if len(rows) != len(_RATE_CASES):
        return _fail("rows_lost", given=len(_RATE_CASES), got=len(rows),
                     hint=_("hint_left_join") if len(rows) < len(_RATE_CASES) else _("hint_rate_columns"))
    by_offset = {r.kafka_offset: r for r in rows}
    for offset, (given, devise, rate) in enumerate(_RATE_CASES):
        row = by_offset.get(offset)
        if row is None or row.transaction_id != 100 + offset:
            return _fail("rows_lost", given=len(_RATE_CASES), got=len(rows), hint=_("hint_rate_columns"))
        if row.devise != devise or row.taux_eur != rate:
            hint = "hint_normalise" if given and given.strip().upper() in _RATES else "hint_rate_other"
            return _fail("rate_wrong", given=given, got_devise=row.devise, got_rate=row.taux_eur,
                         want_devise=devise, want_rate=rate, hint=_(hint))
    return Verdict(True, _("rate_ok", count=len(rows)))


# --------------------------------------------------------------------------- 4. the reasons

CHECKED_SCHEMA = PARSED_SCHEMA + ", taux_eur double"
_T = "2026-11-27T22:40:31.123+00:00"
# (transaction_id, montant, devise, timestamp, _corrupt_record, taux_eur, expected reason, why)
_REASON_CASES = [
    (1, 19.99, "USD", _T, None, 0.8621, None, "why_valid"),
    (2, 42.0, "EUR", "2026-11-27T22:40:31Z", None, 1.0, None, "why_valid"),
    (3, 5.5, "EUR", "2026-11-27T22:40:31", None, 1.0, None, "why_valid"),
    (4, 700.0, "USD", "2026-11-27T22:40:31.5+05:30", None, 0.8621, None, "why_valid"),
    (None, None, None, None, "hello", None, "malformed_json", "why_malformed"),
    (None, None, "EUR", _T, '{"transaction_id": 6, "montant": "12.5", "devise": "EUR"}', 1.0, "malformed_json",
     "why_malformed"),
    (7, None, "EUR", _T, None, 1.0, "missing_field", "why_missing"),
    (8, 12.5, None, _T, None, None, "missing_field", "why_missing"),
    (9, 12.5, "EUR", None, None, 1.0, "missing_field", "why_missing"),
    (None, 12.5, "EUR", _T, None, 1.0, "missing_field", "why_missing"),
    (0, 12.5, "EUR", _T, None, 1.0, "invalid_transaction_id", "why_id"),
    (-12, 12.5, "EUR", _T, None, 1.0, "invalid_transaction_id", "why_id"),
    (13, float("nan"), "EUR", _T, None, 1.0, "invalid_montant", "why_nan"),
    (14, float("inf"), "EUR", _T, None, 1.0, "invalid_montant", "why_infinite"),
    (15, float("-inf"), "EUR", _T, None, 1.0, "invalid_montant", "why_not_positive"),
    (16, 0.0, "EUR", _T, None, 1.0, "invalid_montant", "why_not_positive"),
    (17, -12.5, "EUR", _T, None, 1.0, "invalid_montant", "why_not_positive"),
    (18, 12.5, "BTC", _T, None, None, "unknown_currency", "why_currency"),
    (19, 12.5, "EUR", "2026-11-27", None, 1.0, "invalid_timestamp", "why_date_only"),
    (20, 12.5, "EUR", "27/11/2026 22:40:31", None, 1.0, "invalid_timestamp", "why_timestamp"),
    (21, 12.5, "EUR", "2026-02-30T10:00:00Z", None, 1.0, "invalid_timestamp", "why_timestamp"),
    (22, 12.5, "EUR", "yesterday", None, 1.0, "invalid_timestamp", "why_timestamp"),
    (23, float("nan"), "BTC", _T, None, None, "invalid_montant", "why_order"),
    (None, -1.0, "BTC", "yesterday", None, None, "missing_field", "why_order"),
]


def _record(case) -> str:
    transaction_id, montant, devise, timestamp, corrupt, _rate, _want, _why = case
    if corrupt is not None:
        return f"_corrupt_record={corrupt[:40]!r}"
    return f"(transaction_id={transaction_id}, montant={montant}, devise={devise!r}, timestamp={timestamp!r})"


def add_reason(add_reason_fn, spark=None) -> Verdict:
    """Notebook 03, step 4: `add_reason(df)` adds `reason`: null for a valid record, otherwise the first of
    LESSON_REASONS it breaks. Every row stays (nothing is dropped silently)."""
    if not_done(add_reason_fn):
        return placeholder()
    spark = _session(spark)
    rows = [(corrupt or f"message {i}", tid, montant, devise, ts, corrupt, i % 3, i, rate)
            for i, (tid, montant, devise, ts, corrupt, rate, _want, _why) in enumerate(_REASON_CASES)]
    checked = spark.createDataFrame(rows, CHECKED_SCHEMA)
    result, error = _result("add_reason", add_reason_fn, (checked,), ("reason", "kafka_offset"),
                            _("hint_reason_column"))
    if error is not None:
        return error
    got, error = _collect("add_reason", result, ["kafka_offset", "reason"])
    if error is not None:
        return error
    if len(got) != len(_REASON_CASES):
        return _fail("rows_lost", given=len(_REASON_CASES), got=len(got), hint=_("hint_no_filter"))
    reasons = {r.kafka_offset: r.reason for r in got}
    for offset, case in enumerate(_REASON_CASES):
        want, why = case[6], case[7]
        if reasons.get(offset) != want:
            return _fail("reason_wrong", record=_record(case), got=reasons.get(offset), want=want, hint=_(why))
    return Verdict(True, _("reason_ok", count=len(_REASON_CASES)))


# --------------------------------------------------------------------------- 5. EUR

# (transaction_id, montant, taux_eur, montant_eur, why when wrong)
_EUR_CASES = [
    (1, 100.0, 0.8621, 86.21, "why_multiply"),
    (2, 19.99, 1.139, 22.77, "why_cents"),        # 22.76861
    (3, 10.0, 1.0695, 10.70, "why_decimal"),      # exactly 10.695; 10.694999999999999 in doubles
    (4, 750.0, 0.8621, 646.58, "why_decimal"),    # exactly 646.575; 646.5749999999999 in doubles
    (5, 1.005, 1.0, 1.01, "why_half_up"),         # half even: 1.00
    (6, 2.125, 1.0, 2.13, "why_half_up"),         # half even: 2.12
    (7, 1500.0, 0.005521, 8.28, "why_cents"),     # 8.2815
    (8, 0.01, 0.0015245, 0.0, "why_cents"),
    (9, 42.5, 1.0, 42.5, "why_multiply"),
]


def montant_eur(to_eur, spark=None) -> Verdict:
    """Notebook 03, step 5: `to_eur(df)` adds montant_eur = montant × taux_eur rounded half up to the cent,
    a double: exact cents, on amounts where doubles or half-even rounding give another cent."""
    if not_done(to_eur):
        return placeholder()
    spark = _session(spark)
    df = spark.createDataFrame([(i, m, t, "EUR") for i, m, t, _want, _why in _EUR_CASES],
                               "transaction_id long, montant double, taux_eur double, devise string")
    result, error = _result("to_eur", to_eur, (df,), ("montant_eur", "transaction_id"), _("hint_montant_eur"),
                            {"montant_eur": "double"}, {"montant_eur": _("hint_double")})
    if error is not None:
        return error
    rows, error = _collect("to_eur", result, ["transaction_id", "montant_eur"])
    if error is not None:
        return error
    got = {r.transaction_id: r.montant_eur for r in rows}
    for transaction_id, montant, taux, want, why in _EUR_CASES:
        if got.get(transaction_id) != want:
            return _fail("eur_wrong", montant=montant, taux=taux, got=got.get(transaction_id), want=want, hint=_(why))
    return Verdict(True, _("eur_ok"))


# --------------------------------------------------------------------------- 6. time zone

_UTC = timezone.utc
# (zone, timestamp, the instant in UTC, the local time, its date, why when wrong)
_TIME_CASES = [
    ("Europe/Paris", "2026-03-29T00:30:00Z", datetime(2026, 3, 29, 0, 30), datetime(2026, 3, 29, 1, 30), "why_dst"),
    ("Europe/Paris", "2026-03-29T01:30:00Z", datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 29, 3, 30), "why_dst"),
    ("Europe/Paris", "2026-10-25T00:30:00Z", datetime(2026, 10, 25, 0, 30), datetime(2026, 10, 25, 2, 30), "why_dst"),
    ("Europe/Paris", "2026-10-25T01:30:00Z", datetime(2026, 10, 25, 1, 30), datetime(2026, 10, 25, 2, 30), "why_dst"),
    ("Europe/Paris", "2026-11-27T23:30:00Z", datetime(2026, 11, 27, 23, 30), datetime(2026, 11, 28, 0, 30),
     "why_dst"),
    ("Europe/Paris", "2026-07-01T01:30:00+02:00", datetime(2026, 6, 30, 23, 30), datetime(2026, 7, 1, 1, 30),
     "why_dst"),
    ("Europe/Paris", "2026-01-15T12:00:00", datetime(2026, 1, 15, 12, 0), datetime(2026, 1, 15, 13, 0), "why_dst"),
    ("Europe/Paris", _T, datetime(2026, 11, 27, 22, 40, 31, 123000), datetime(2026, 11, 27, 23, 40, 31, 123000),
     "why_dst"),
    ("America/New_York", "2026-11-27T03:30:00Z", datetime(2026, 11, 27, 3, 30), datetime(2026, 11, 26, 22, 30),
     "why_zone_param"),
]
_TIME_TYPES = {"event_time": "timestamp", "timezone": "string", "event_time_local": "timestamp_ntz",
               "event_date": "date"}


def _micros(moment: datetime) -> int:
    return (moment.replace(tzinfo=_UTC) - datetime(1970, 1, 1, tzinfo=_UTC)) // (datetime.resolution)


def local_time(add_local_time_fn, spark=None) -> Verdict:
    """Notebook 03, step 6: `add_local_time(df, timezone)` adds event_time (the instant), timezone,
    event_time_local (the wall clock in `timezone`, timestamp_ntz) and event_date (its date).
    Hidden cases: both DST changes of Europe/Paris, a UTC date that is the next day in Paris, an
    offset, no offset (UTC), and another zone."""
    if not_done(add_local_time_fn):
        return placeholder()
    from pyspark.sql import functions as F

    spark = _session(spark)
    hints = {"event_time": _("hint_timestamp"), "timezone": _("why_zone_name"),
             "event_time_local": _("hint_ntz"), "event_date": _("hint_date_type")}
    for zone in dict.fromkeys(case[0] for case in _TIME_CASES):
        cases = [(i, case) for i, case in enumerate(_TIME_CASES) if case[0] == zone]
        df = spark.createDataFrame([(i, 12.5, "EUR", case[1], i % 3, i) for i, case in cases],
                                   "transaction_id long, montant double, devise string, timestamp string, "
                                   "kafka_partition int, kafka_offset long")
        result, error = _result("add_local_time", add_local_time_fn, (df, zone), tuple(_TIME_TYPES),
                                _("hint_time_columns"), _TIME_TYPES, hints)
        if error is not None:
            return error
        rows, error = _collect("add_local_time", result, [
            "transaction_id", F.unix_micros("event_time").alias("instant"), "timezone", "event_time_local",
            "event_date"])
        if error is not None:
            return error
        by_id = {r.transaction_id: r for r in rows}
        for i, (_zone, timestamp, instant, local, why) in cases:
            row = by_id.get(i)
            if row is None:
                return _fail("rows_lost", given=len(cases), got=len(rows), hint=_("hint_keep_rows"))
            checks = [("event_time", row.instant, _micros(instant), instant.isoformat(sep=" ") + " UTC",
                       "why_instant"),
                      ("timezone", row.timezone, zone, zone, "why_zone_name"),
                      ("event_time_local", row.event_time_local, local, local.isoformat(sep=" "), why),
                      ("event_date", row.event_date, local.date(), local.date().isoformat(), "why_local_date")]
            for column, got, want, shown, column_why in checks:
                if got != want:
                    if column == "event_time_local" and got == instant:
                        column_why = "why_utc"
                    if column == "event_time":
                        got = (datetime(1970, 1, 1) + (got or 0) * datetime.resolution).isoformat(sep=" ") + " UTC" \
                            if got is not None else None
                    elif isinstance(got, (datetime, date)):
                        got = got.isoformat(sep=" ") if isinstance(got, datetime) else got.isoformat()
                    return _fail("time_wrong", timestamp=timestamp, zone=zone, column=column, got=got, want=shown,
                                 hint=_(column_why))
    return Verdict(True, _("time_ok"))


# --------------------------------------------------------------------------- 7. writeStream

OUTPUT_SCHEMA = ("transaction_id long, montant double, devise string, taux_eur double, montant_eur double, "
                 "event_time timestamp, timezone string, event_time_local timestamp_ntz, event_date date, "
                 "kafka_partition int, kafka_offset long")
_SINK_ROWS = [
    (31, 12.5, "EUR", 1.0, 12.5, datetime(2026, 3, 29, 1, 30, tzinfo=_UTC), "Europe/Paris",
     datetime(2026, 3, 29, 3, 30), date(2026, 3, 29), 0, 31),
    (32, 10.0, "CHF", 1.0695, 10.7, datetime(2026, 3, 29, 0, 30, tzinfo=_UTC), "Europe/Paris",
     datetime(2026, 3, 29, 1, 30), date(2026, 3, 29), 1, 32),
    (33, 1.005, "EUR", 1.0, 1.01, datetime(2026, 10, 25, 1, 30, tzinfo=_UTC), "Europe/Paris",
     datetime(2026, 10, 25, 2, 30), date(2026, 10, 25), 2, 33),
    (34, 19.99, "GBP", 1.139, 22.77, datetime(2026, 11, 27, 23, 30, tzinfo=_UTC), "Europe/Paris",
     datetime(2026, 11, 28, 0, 30), date(2026, 11, 28), 0, 34),
]


def parquet_sink(write_parquet, spark=None, cfg: _config.LabConfig | None = None, timeout_s: float = 30.0) -> Verdict:
    """Notebook 03, step 7: `write_parquet(df, path, checkpoint)` starts a query that writes `df` as Parquet
    to `path`, partitioned by event_date, with its checkpoint in `checkpoint`, and stops on its own
    once done (availableNow). Run on a hidden stream in a scratch folder of the bucket, deleted after."""
    if not_done(write_parquet):
        return placeholder()
    spark = _session(spark)
    cfg = cfg or _config.load()
    scratch = f"checks/ex03-{uuid.uuid4().hex[:10]}"
    source, output = cfg.s3a_path(scratch, "source"), cfg.s3a_path(scratch, "output")
    checkpoint = cfg.s3a_path(scratch, "checkpoint", "output")
    try:
        spark.createDataFrame(_SINK_ROWS, OUTPUT_SCHEMA).write.parquet(source)
        stream = spark.readStream.schema(OUTPUT_SCHEMA).parquet(source)
        return _check_sink(write_parquet, stream, output, checkpoint, spark, cfg, timeout_s)
    finally:
        # The whole scratch folder, S3A's directory markers included (a listing would show them).
        with contextlib.suppress(FileNotFoundError):
            storage.filesystem(cfg).rm(cfg.s3_path(scratch), recursive=True)


def _check_sink(write_parquet, stream, output: str, checkpoint: str, spark, cfg, timeout_s: float) -> Verdict:
    query, error = _run("write_parquet", write_parquet, stream, output, checkpoint)
    if error is not None:
        return error
    if query is Ellipsis or query is None:
        return placeholder()
    if not hasattr(query, "awaitTermination") or not hasattr(query, "processAllAvailable"):
        return _fail("sink_not_query", got=type(query).__name__)
    try:
        try:
            # Everything written; then an availableNow query stops by itself, any other keeps running.
            query.processAllAvailable()
            ended = query.awaitTermination(timeout_s)
        except Exception as e:  # noqa: BLE001 - the student's query
            return _fail("sink_failed", detail=str(e).strip().splitlines()[0][:300])
        if not ended:
            return _fail("sink_never_ends")
    finally:
        query.stop()
    fs = storage.filesystem(cfg)
    out, ckpt = output.split("://", 1)[1], checkpoint.split("://", 1)[1]
    if not fs.exists(f"{out}/_spark_metadata"):
        return _fail("sink_no_log")
    if not fs.exists(f"{ckpt}/commits/0"):
        return _fail("sink_no_checkpoint")
    folders = {p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(out, detail=False, refresh=True)}
    want_folders = {f"event_date={row[8].isoformat()}" for row in _SINK_ROWS}
    if not want_folders <= folders:
        return _fail("sink_no_partitions")
    try:
        written = sorted(r.transaction_id for r in spark.read.parquet(output).select("transaction_id").collect())
    except Exception as e:  # noqa: BLE001 - what the student's sink wrote
        return _fail("sink_not_parquet", detail=str(e).strip().splitlines()[0][:200])
    want = sorted(row[0] for row in _SINK_ROWS)
    if written != want:
        return _fail("sink_rows", got=written, want=want)
    return Verdict(True, _("sink_ok"))


# --------------------------------------------------------------------------- 8. lastProgress

# (batchId, numInputRows, inputRowsPerSecond, processedRowsPerSecond)
_PROGRESS_CASES = [(12, 2000, 1000.5, 2222.25), (40, 9000, 4500.0, 3000.0), (3, 0, 0.0, 0.0)]
NUMBERS_KEYS = ("batch", "rows", "rows_per_second", "keeping_up")


def progress_example(batch: int, rows: int, input_rate: float, processed_rate: float):
    """A StreamingQueryProgress like `query.lastProgress` returns, with these numbers (for the checks)."""
    from pyspark.sql.streaming.listener import StreamingQueryProgress

    kafka_offsets = {"transactions": {"0": 1000 + rows, "1": 1000, "2": 1000}}
    return StreamingQueryProgress.fromJson({
        "id": str(uuid.uuid4()), "runId": str(uuid.uuid4()), "name": "output", "timestamp": "2026-11-27T22:40:31.123Z",
        "batchId": batch, "batchDuration": 900, "durationMs": {"triggerExecution": 900}, "eventTime": {},
        "stateOperators": [], "numInputRows": rows, "inputRowsPerSecond": input_rate,
        "processedRowsPerSecond": processed_rate, "observedMetrics": {},
        "sources": [{"description": "KafkaV2[Subscribe[transactions]]", "startOffset": kafka_offsets,
                     "endOffset": kafka_offsets, "latestOffset": kafka_offsets, "numInputRows": rows,
                     "inputRowsPerSecond": input_rate, "processedRowsPerSecond": processed_rate, "metrics": {}}],
        "sink": {"description": "FileSink[s3a://transactions/output]", "numOutputRows": rows, "metrics": {}},
    })


def batch_numbers(batch_numbers_fn) -> Verdict:
    """Notebook 03, reading `query.lastProgress`: `batch_numbers(progress)` returns {"batch", "rows",
    "rows_per_second", "keeping_up"} for a progress object (hidden batches: keeping up, falling behind, idle)."""
    if not_done(batch_numbers_fn):
        return placeholder()
    whys = {"batch": "why_batch", "rows": "why_rows", "rows_per_second": "why_rate", "keeping_up": "why_keeping_up"}
    for batch, rows, input_rate, processed_rate in _PROGRESS_CASES:
        result, error = _run("batch_numbers", batch_numbers_fn, progress_example(batch, rows, input_rate,
                                                                                  processed_rate))
        if error is not None:
            return error
        if result is Ellipsis:
            return placeholder()
        if not isinstance(result, dict) or set(result) != set(NUMBERS_KEYS):
            return _fail("numbers_not_dict", keys=", ".join(NUMBERS_KEYS), got=repr(result)[:120])
        want = {"batch": batch, "rows": rows, "rows_per_second": input_rate,
                "keeping_up": processed_rate >= input_rate}
        for key, value in want.items():
            if result[key] != value or (key == "keeping_up" and not isinstance(result[key], bool)):
                case = _("numbers_case", rows=rows, input=input_rate, processed=processed_rate)
                return _fail("numbers_wrong", case=case, field=key, got=result[key], want=value, hint=_(whys[key]))
    return Verdict(True, _("numbers_ok"))


# --------------------------------------------------------------------------- the checkpoint


@dataclass(frozen=True)
class Committed:
    """The last batch a query committed, and the Kafka offsets it reached: where it resumes."""

    checkpoint: str
    batch: int | None
    offsets: dict[int, int]

    def __str__(self) -> str:
        if self.batch is None:
            return _("ckpt_none", checkpoint=self.checkpoint)
        return _("ckpt_state", checkpoint=self.checkpoint, batch=self.batch, offsets=self.offsets)

    __repr__ = __str__


def read_checkpoint(checkpoint: str, cfg: _config.LabConfig | None = None) -> Committed:
    """Read a checkpoint (an s3a:// URI): its last committed batch N (`commits/N`) and the Kafka offsets
    that batch reached (`offsets/N`, per partition): exactly where a restarted query resumes."""
    cfg = cfg or _config.load()
    fs = storage.filesystem(cfg)
    path = checkpoint.split("://", 1)[-1].rstrip("/")
    try:
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(f"{path}/commits", detail=False, refresh=True)]
    except FileNotFoundError:
        names = []
    batches = [int(n) for n in names if n.isdigit()]
    if not batches:
        return Committed(checkpoint, None, {})
    batch = max(batches)
    # offsets/N: a version line, the batch's metadata, then one line per source: {"topic": {"0": 42, ...}}
    lines = fs.cat_file(f"{path}/offsets/{batch}").decode().splitlines()
    offsets: dict[int, int] = {}
    for line in lines[2:]:
        for partitions in json.loads(line).values():
            offsets.update({int(p): int(o) for p, o in partitions.items()})
    return Committed(checkpoint, batch, dict(sorted(offsets.items())))


# --------------------------------------------------------------------------- the comparison


@dataclass
class Comparison:
    """The student's output against the lab's, offset by offset. Truthy when they agree."""

    verdict: Verdict
    differences: Any = None   # pandas DataFrame: the first differences, one row each
    left_out: Any = None      # pandas DataFrame: messages kept that only LEFT_OUT rules reject
    counts: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.verdict)

    def __str__(self) -> str:
        return str(self.verdict)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        parts = [self.verdict._repr_html_()]
        for table in (self.differences, self.left_out):
            if table is not None and len(table):
                parts.append(table.to_html(index=False, escape=True))
        return "\n".join(parts)


def _within(df, ends: dict[int, int]):
    """The rows of `df` whose (kafka_partition, kafka_offset) is below `ends` (per partition)."""
    from pyspark.sql import functions as F

    condition = F.lit(False)
    for partition, end in ends.items():
        condition = condition | ((F.col("kafka_partition") == partition) & (F.col("kafka_offset") < end))
    return df.where(condition)


def compare_with_reference(mine_output: str, mine_checkpoint: str, reference_root: str, spark=None,
                           cfg: _config.LabConfig | None = None, shown: int = 20) -> Comparison:
    """Compare the student's output (`mine_output`, written with checkpoint `mine_checkpoint`) with the lab's
    pipeline run into `reference_root` (`pipeline.start(root=...)`), on the offsets both have committed.

    Joined by (kafka_partition, kafka_offset): a row the lab wrote and the student did not, a row the
    student wrote that the lab rejected (by a rule of the lesson), a row written twice, or a column
    that differs is a difference. Rows kept that only LEFT_OUT rules reject are listed, not counted.
    """
    from pyspark.sql import functions as F

    spark = _session(spark)
    cfg = cfg or _config.load()
    mine_end = read_checkpoint(mine_checkpoint, cfg)
    reference = {name: read_checkpoint(cfg.s3a_path(reference_root, "checkpoint", name), cfg)
                 for name in ("output", "rejected")}
    for which, state in ((_("cmp_yours"), mine_end), *((_("cmp_reference"), s) for s in reference.values())):
        if state.batch is None:
            return Comparison(_fail("cmp_no_commit", which=which, checkpoint=state.checkpoint))
    ends = {p: min(s.offsets.get(p, 0) for s in (mine_end, *reference.values())) for p in mine_end.offsets}
    shown_offsets = ", ".join(f"P{p} < {e:,}" for p, e in sorted(ends.items()))

    mine = spark.read.parquet(mine_output)
    missing = [c for c in OUTPUT_COLUMNS if c not in mine.columns]
    if missing:
        return Comparison(_fail("cmp_columns", columns=", ".join(missing)))
    lab = spark.read.parquet(cfg.s3a_path(reference_root, "output")).select(*OUTPUT_COLUMNS)
    types = dict(lab.dtypes)
    key = ["kafka_partition", "kafka_offset"]
    mine = _within(mine.select(*[F.col(c).try_cast(types[c]).alias(c) for c in OUTPUT_COLUMNS]), ends)
    lab = _within(lab, ends)
    rejected = _within(spark.read.parquet(cfg.s3a_path(reference_root, "rejected"))
                       .select(*key, "reason", "raw_value"), ends)

    twice = mine.groupBy(*key).count().where("count > 1").select(*key)
    values = [c for c in OUTPUT_COLUMNS if c not in key]
    joined = (mine.select(*key, F.lit(True).alias("_in_mine"), *[F.col(c).alias(f"m_{c}") for c in values])
              .dropDuplicates(key)
              .join(lab.select(*key, F.lit(True).alias("_in_lab"), *[F.col(c).alias(f"l_{c}") for c in values]),
                    on=key, how="full_outer")
              .join(rejected, on=key, how="left"))
    kind = F.when(F.col("_in_lab").isNull() & F.col("reason").isin(*LEFT_OUT), "left_out")
    kind = kind.when(F.col("_in_lab").isNull(), "extra").when(F.col("_in_mine").isNull(), "missing")
    for c in values:
        kind = kind.when(~F.col(f"m_{c}").eqNullSafe(F.col(f"l_{c}")), f"value:{c}")
    labelled = joined.withColumn("kind", kind).where(F.col("kind").isNotNull()).cache()
    try:
        counts = {r.kind: r["count"] for r in labelled.groupBy("kind").count().collect()}
        twice_count = twice.count()
        same = lab.count() - sum(v for k, v in counts.items() if k == "missing" or k.startswith("value:"))
        examples = labelled.where("kind != 'left_out'").orderBy(*key).limit(shown).collect()
        left_out_rows = labelled.where("kind = 'left_out'").orderBy(*key).limit(shown).collect()
        left_out_reasons = {r.reason: r["count"] for r in labelled.where("kind = 'left_out'").groupBy("reason")
                            .count().collect()}
    finally:
        labelled.unpersist()

    import pandas as pd

    def value_of(row, prefix, kind_name):
        column = kind_name.split(":", 1)[1] if kind_name.startswith("value:") else None
        return None if column is None else str(row[f"{prefix}{column}"])

    def label(kind_name: str) -> str:
        if kind_name.startswith("value:"):
            return _("diff_value", column=kind_name.split(":", 1)[1])
        return _({"missing": "diff_missing", "extra": "diff_extra", "left_out": "diff_left_out"}[kind_name])

    columns = ["kafka_partition", "kafka_offset", _("diff_column_kind"), _("diff_column_yours"),
               _("diff_column_lab"), _("diff_column_reason"), _("diff_column_message")]
    differences = pd.DataFrame([(r.kafka_partition, r.kafka_offset, label(r.kind), value_of(r, "m_", r.kind),
                                 value_of(r, "l_", r.kind), r.reason, (r.raw_value or "")[:80])
                                for r in examples], columns=columns)
    left_out = pd.DataFrame([(r.kafka_partition, r.kafka_offset, label(r.kind), None, None, r.reason,
                              (r.raw_value or "")[:80]) for r in left_out_rows], columns=columns)
    counted = {k: v for k, v in counts.items() if k != "left_out"}
    if twice_count:
        counted["twice"] = twice_count
    left_out_count = counts.get("left_out", 0)
    if counted:
        kinds = ", ".join(f"{label(k) if k != 'twice' else _('diff_twice')}: {v:,}" for k, v in sorted(counted.items()))
        message = _("cmp_differ", offsets=shown_offsets, count=f"{sum(counted.values()):,}", kinds=kinds)
        verdict_ = Verdict(False, message)
    else:
        message = _("cmp_ok", offsets=shown_offsets, rows=f"{same:,}")
        if left_out_count:
            reasons = ", ".join(f"{r}: {n:,}" for r, n in sorted(left_out_reasons.items()))
            message += _("cmp_left_out", count=f"{left_out_count:,}", reasons=reasons)
        verdict_ = Verdict(True, message)
    return Comparison(verdict_, differences, left_out, {**counted, "same": same, "left_out": left_out_count})


# --------------------------------------------------------------------------- spark-submit


def submit_command(folder: str, cfg: _config.LabConfig | None = None) -> str:
    """What a student types to run the consumer as a job, and the spark-submit command it runs."""
    job = spark_submit.job(CONSUMER_SCRIPT, ["--folder", f"{folder}/submit"], cfg)
    return (f".venv/bin/python -m lab_utils submit {CONSUMER_SCRIPT} --folder {folder}/submit\n\n"
            f"# ... which runs:\n{job.printable()}")

