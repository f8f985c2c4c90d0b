"""Fraud scoring: what the model sees, the rules it is compared with, and the score the stream adds.

What notebook 08 reads. Plain functions from DataFrame to DataFrame with every input passed in,
so they run the same on a batch of history and on the Kafka stream:

    profiles = card_profiles(history)       # per card: payments, usual amount, home country, channels
    rows = features(transactions, profiles) # + the model's inputs (CATEGORICAL, NUMERIC)
    cards = card_lookup(profiles)           # the same profiles as one constant, for the stream
    rows = rules(rows)                      # + the rule-based baseline: three rules, rule_score
    estimator = model_pipeline()            # encode, assemble, scale, logistic regression
    scored = score(valid, model)            # output/ rows with fraud_score and model_version set

`transactions` has the output/ columns (lab_utils.pipeline.transform.to_output). A feature may
use only what was known when the payment happened: the payment itself, and its card's profile
built from earlier payments. Training builds the profile from the weeks before the rows it fits
or tests on (lab_utils.training); the stream uses the profile saved with the model.

Left out on purpose: anything the stream cannot compute cheaply. "How many payments did this card
make in the last hour" would catch a card-testing burst, but the stream would have to keep state
per card across micro-batches; a feature the stream cannot compute is one the model must not
learn from, or it scores live payments with inputs it never saw.

Two ways to give each payment its card's profile, with the same result (a test checks it): a join
(`features(rows, profiles)`), for history, and a lookup in a constant (`features(rows,
card_lookup(profiles))`), for the stream. A stream re-plans its query for every micro-batch, and a
join with a table, even a small cached one, means one more Spark job per micro-batch to send the
table to the tasks again (0.1 to 0.2 s here, a quarter of a batch). The lookup puts the profiles
in the query itself: a map from card_id to profile, built once when the model is loaded. It scans
the map's keys for each payment, which is quick for the generator's 1,000 cards; a bank with
millions of cards would keep the join, or a key-value store.
"""

from __future__ import annotations

# The model's inputs. Categorical ones are one-hot encoded; an unseen or missing value gets a
# slot of its own (handleInvalid="keep"), so a new category never stops the stream.
CATEGORICAL = ("merchant_category", "channel", "hour_local")
NUMERIC = ("amount_log", "above_usual", "below_usual", "abroad", "channel_share", "known_card")
# What scoring fills in output/ (null when the stream does not score).
SCORE_COLUMNS = ("fraud_score", "model_version")
# What features() takes from each payment's card profile (card_profiles() also counts its channels).
PROFILE_COLUMNS = ("card_payments", "card_usual_eur", "card_country")
# The rule-based baseline: three rules a fraud analyst would write first, one per pattern.
RULES = {
    "far_above_usual": "the amount is more than 5 times the card's usual amount",
    "tiny_online": "an online payment under 5 EUR",
    "abroad_at_night": "a payment outside the card's home country between 00:00 and 06:59 local time",
}


def card_profiles(history):
    """Per card, what its payments in `history` say: card_payments (how many), card_usual_eur (the
    median amount in EUR), card_country (where it pays most), card_channels (payments per channel).

    Rows without a card_id (messages without one) are left out.
    """
    from pyspark.sql import functions as F

    cards = history.where(F.col("card_id").isNotNull())
    summary = cards.groupBy("card_id").agg(
        F.count(F.lit(1)).alias("card_payments"),
        F.median("montant_eur").alias("card_usual_eur"),
        F.mode("country", deterministic=True).alias("card_country"))
    channels = (cards.where(F.col("channel").isNotNull())
                .groupBy("card_id", "channel").agg(F.count(F.lit(1)).alias("n"))
                .groupBy("card_id").agg(F.map_from_entries(F.collect_list(F.struct("channel", "n")))
                                        .alias("card_channels")))
    return summary.join(channels, "card_id", "left")


def card_lookup(profiles):
    """The card profiles (a card_profiles() DataFrame) as one constant column, for features(): a map
    from card_id to a struct of card_payments, card_usual_eur, card_country and one count per
    channel (`in_<channel>`; flat fields: a nested map per card made each lookup several times
    slower). Collects the profiles to the driver (one row per card, about 100 bytes) and writes them
    in the query as JSON, which Spark's optimizer turns into a map once per micro-batch."""
    import json

    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, MapType, StringType, StructField, StructType

    rows = profiles.collect()
    channels = sorted({channel for row in rows for channel in (row["card_channels"] or {})})
    fields = [profiles.schema[name] for name in PROFILE_COLUMNS]
    fields += [StructField(f"in_{channel}", LongType()) for channel in channels]
    table = {row["card_id"]: {**{name: row[name] for name in PROFILE_COLUMNS},
                              **{f"in_{channel}": n for channel, n in (row["card_channels"] or {}).items()}}
             for row in rows}
    return F.from_json(F.lit(json.dumps(table)), MapType(StringType(), StructType(fields)))


def with_profiles(transactions, profiles):
    """`transactions` plus PROFILE_COLUMNS from each payment's card (null when the card has no
    profile) and card_in_channel, how many of its payments used this payment's channel (0 when
    none): joined from a card_profiles() DataFrame, or looked up in a card_lookup() column."""
    from pyspark.sql import Column
    from pyspark.sql import functions as F

    channel = F.col("channel")
    if not isinstance(profiles, Column):
        return (transactions.join(F.broadcast(profiles), "card_id", "left")
                .select(*transactions.columns, *PROFILE_COLUMNS,
                        F.coalesce(F.try_element_at("card_channels", channel), F.lit(0)).alias("card_in_channel")))
    # One lookup per payment (it scans the map's keys), then its fields.
    card = transactions.select("*", F.try_element_at(profiles, F.col("card_id")).alias("_card"))
    counts = [name for name in card.schema["_card"].dataType.names if name.startswith("in_")]
    in_channel = F.lit(0)
    for name in counts:
        in_channel = F.when(channel == name[3:], F.col("_card")[name]).otherwise(in_channel)
    return card.select(*transactions.columns, *[F.col("_card")[name].alias(name) for name in PROFILE_COLUMNS],
                       F.coalesce(in_channel, F.lit(0)).alias("card_in_channel"))


def features(transactions, profiles):
    """`transactions` with the model's inputs added, from each payment and its card's profile
    (`profiles`: a card_profiles() DataFrame, or card_lookup() of one; see with_profiles()).

    amount_log: log(1 + montant_eur). above_usual / below_usual: how far the amount is above or
    below the card's usual, on a log scale (0 on the other side): two columns, because a logistic
    regression weighs each input one way, and both a spike and a tiny test payment are suspect.
    abroad: 1 when the country is not the card's. channel_share: the card's share of payments in
    this channel (0: it never pays this way). known_card: 1 when the card has a profile; for an
    unknown card the card features are 0. hour_local: the hour of event_time_local.
    Also kept, for the rules and for reading: card_usual_eur, card_country.
    """
    from pyspark.sql import functions as F

    known = F.col("card_payments").isNotNull()
    versus_usual = F.log((F.col("montant_eur") + 1) / (F.col("card_usual_eur") + 1))
    return (with_profiles(transactions, profiles)
            .select(*transactions.columns,
                    F.log1p("montant_eur").alias("amount_log"),
                    F.when(known, F.greatest(versus_usual, F.lit(0.0))).otherwise(0.0).alias("above_usual"),
                    F.when(known, F.greatest(-versus_usual, F.lit(0.0))).otherwise(0.0).alias("below_usual"),
                    F.when(known & (F.col("country") != F.col("card_country")), 1.0).otherwise(0.0).alias("abroad"),
                    F.when(known, F.col("card_in_channel") / F.col("card_payments")).otherwise(0.0).alias("channel_share"),
                    known.cast("double").alias("known_card"),
                    F.hour("event_time_local").alias("hour_local"),
                    "card_usual_eur", "card_country"))


def rules(rows):
    """`rows` (with features()) plus one 0/1 column per rule of RULES, and rule_score: the share of
    rules a payment breaks (0, 1/3, 2/3 or 1), the baseline's score. Flag it when above 0."""
    from pyspark.sql import functions as F

    hits = {
        "far_above_usual": F.col("montant_eur") > 5 * F.col("card_usual_eur"),
        "tiny_online": (F.col("montant_eur") < 5) & (F.col("channel") == "online"),
        "abroad_at_night": (F.col("abroad") == 1) & (F.col("hour_local") < 7),
    }
    rows = rows.select("*", *[F.coalesce(hit, F.lit(False)).cast("int").alias(name) for name, hit in hits.items()])
    return rows.withColumn("rule_score", sum(F.col(name) for name in hits) / len(hits))


def model_pipeline(reg_param: float = 0.001, max_iter: int = 30):
    """The model, not fitted yet: a Spark ML Pipeline that encodes the categories (StringIndexer,
    OneHotEncoder), puts every input in one vector (VectorAssembler), scales it (StandardScaler)
    and fits a logistic regression on `label` (1.0 = fraud). `fit(rows)` returns a PipelineModel
    whose `transform()` adds `probability`: [P(honest), P(fraud)]."""
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler

    text = [c for c in CATEGORICAL if c != "hour_local"]
    index = StringIndexer(inputCols=text, outputCols=[f"{c}_index" for c in text], handleInvalid="keep")
    onehot = OneHotEncoder(inputCols=[f"{c}_index" for c in text] + ["hour_local"],
                           outputCols=[f"{c}_onehot" for c in CATEGORICAL], handleInvalid="keep")
    assemble = VectorAssembler(inputCols=[f"{c}_onehot" for c in CATEGORICAL] + list(NUMERIC),
                               outputCol="raw_features")
    scale = StandardScaler(inputCol="raw_features", outputCol="features")
    regression = LogisticRegression(featuresCol="features", labelCol="label", maxIter=max_iter, regParam=reg_param)
    return Pipeline(stages=[index, onehot, assemble, scale, regression])


def fraud_probability(scored):
    """The probability of fraud (a double in [0, 1]) from a scored DataFrame's `probability` vector."""
    from pyspark.ml.functions import vector_to_array

    return vector_to_array(scored["probability"])[1]


def score(valid, model):
    """`valid` (output/ rows) with fraud_score and model_version set by `model`, same columns, same order.

    `model`: what lab_utils.pipeline.models.load() returns (its fitted `pipeline`, the card
    profiles saved with it as a lookup, `cards`, its `version`). Runs in the JVM only (no Python
    worker), on a batch or on the stream; no join, so no Spark job of its own in a micro-batch.
    """
    from pyspark.sql import functions as F

    base = valid.drop(*SCORE_COLUMNS)
    scored = model.pipeline.transform(features(base, model.cards))
    return scored.select(*base.columns, fraud_probability(scored).alias("fraud_score"),
                         F.lit(model.version).alias("model_version"))
