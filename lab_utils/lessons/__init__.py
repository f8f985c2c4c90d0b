"""The lessons layer: what the notebooks call to check the environment and the students' answers.

    from lab_utils import checks            # this package, under the name the notebooks use
    checks.environment()                    # notebook 00: every component, ✅/❌, and the fix
    checks.preflight()                      # first code cell of every notebook
    checks.montant_eur(to_eur, spark)       # an exercise's check: ✅ or ❌ with a hint
"""

from .checks import busiest_currency, busiest_minute, montant_eur, my_transaction, s3_endpoint, topic_total
from .environment import Component, environment, preflight
from .verdict import FAIL, OK, OPTIONAL, Verdict, not_done, placeholder, verdict

__all__ = ["FAIL", "OK", "OPTIONAL", "Component", "Verdict", "busiest_currency", "busiest_minute", "environment",
           "montant_eur", "my_transaction", "not_done", "placeholder", "preflight", "s3_endpoint", "topic_total",
           "verdict"]
