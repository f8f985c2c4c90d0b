"""The lessons layer: what the notebooks call to check the environment and the students' answers.

    from lab_utils import checks            # this package, under the name the notebooks use
    checks.environment(lang="fr")           # notebook 00: every component, ✅/❌, and the fix
    checks.preflight(lang="fr")             # first code cell of every notebook (sets the kernel's language)
    checks.montant_eur(to_eur, spark)       # an exercise's check: ✅ or ❌ with a hint

One module per notebook holds that notebook's checks (`exNN_topic.py`); `environment` and
`verdict` serve them all.
"""

from .environment import Component, docker, environment, preflight
from .ex00_environment import s3a_settings
from .ex01_stack import consumer_group
from .ex02_produce import my_transaction
from .ex03_consumer import (add_reason, batch_numbers, compare_with_reference, kafka_frame, kafka_stream, local_time,
                           montant_eur, parquet_sink, parse, rates_frame, read_checkpoint, submit_command, with_rate)
from .ex04_results import highest_average_currency, montant_eur_range
from .ex05_windows import busiest_minute
from .ex06_monitoring import monitoring_preflight, rejected_per_second
from .ex07_lake import silver_at_version
from .ex08_scoring import choose_threshold
from .ex09_scaling import writes_go_on
from .verdict import FAIL, OK, OPTIONAL, Verdict, carry_on, not_done, placeholder, verdict

__all__ = ["FAIL", "OK", "OPTIONAL", "Component", "Verdict", "busiest_minute", "carry_on", "consumer_group", "docker",
           "environment", "highest_average_currency", "montant_eur", "montant_eur_range", "my_transaction", "not_done",
           "placeholder", "preflight", "s3a_settings", "verdict",
           # notebook 06: monitoring
           "monitoring_preflight", "rejected_per_second",
           # notebook 07: the data lake
           "silver_at_version",
           # notebook 08: scoring
           "choose_threshold",
           # notebook 09: scaling out
           "writes_go_on",
           # notebook 03: the consumer, step by step (lessons/ex03_consumer.py)
           "add_reason", "batch_numbers", "compare_with_reference", "kafka_frame", "kafka_stream", "local_time",
           "parquet_sink", "parse", "rates_frame", "read_checkpoint", "submit_command", "with_rate"]
