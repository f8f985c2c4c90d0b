"""The lessons layer: what the notebooks call to check the environment and the students' answers.

    from lab_utils import checks            # this package, under the name the notebooks use
    checks.environment()                    # notebook 00: every component, ✅/❌, and the fix
    checks.preflight(lang="fr")             # first code cell of every notebook
    checks.montant_eur(to_eur, spark)       # an exercise's check: ✅ or ❌ with a hint

One module per notebook holds that notebook's checks (`exNN_topic.py`); `environment` and
`verdict` serve them all.
"""

from .environment import Component, environment, preflight
from .ex00_environment import s3_endpoint
from .ex01_stack import topic_total
from .ex02_produce import my_transaction
from .ex03_consumer import montant_eur
from .ex04_results import busiest_currency
from .ex05_windows import busiest_minute
from .ex08_scoring import choose_threshold
from .verdict import FAIL, OK, OPTIONAL, Verdict, carry_on, not_done, placeholder, verdict

__all__ = ["FAIL", "OK", "OPTIONAL", "Component", "Verdict", "busiest_currency", "busiest_minute", "carry_on",
           "choose_threshold", "environment",
           "montant_eur", "my_transaction", "not_done", "placeholder", "preflight", "s3_endpoint", "topic_total",
           "verdict"]
