"""`python -m lab_utils doctor`: is this machine ready for the lab? Instructors run it at the start of a class.

Each component gets ✅ or ❌ with the fix (the same one line the commands print), then every
setting with its value (secrets masked) and where it came from (environment, .env, default).
Exit 0 only when every required component is ✅; optional ones (➖: Docker, the Spark UI's port)
never block, and · marks a check skipped because what it needs already failed. It checks, never
starts or changes anything, so it is safe on a machine mid-class.

    python -m lab_utils doctor          # the report, in the lab's language (LAB_LANG)

The checks live below (lab_utils.services.readiness, on lab_utils.clients.health and
lab_utils.config), so a notebook's preflight and the command line say exactly the same thing.
"""

from __future__ import annotations

from . import i18n
from .errors import LabError
from .lessons.verdict import FAIL, OK, OPTIONAL
from .services import readiness
from .services.readiness import Report

MARKS = {readiness.OK: OK, readiness.FAIL: FAIL, readiness.OPTIONAL: OPTIONAL, readiness.SKIPPED: "·"}

_ = i18n.catalog(__name__, {
    "title": {"en": "Streaming lab: is this machine ready?", "fr": "Lab de streaming : cette machine est-elle prête ?"},
    "components": {"en": "Components", "fr": "Composants"},
    "settings": {"en": "Settings (secrets masked)", "fr": "Réglages (secrets masqués)"},
    "ready": {"en": "Ready: every component is ✅ ({seconds} s).",
              "fr": "Prête : tous les composants sont ✅ ({seconds} s)."},
    "not_ready": {"en": "Not ready: {count} ❌ above, each with its fix ({seconds} s).",
                  "fr": "Pas prête : {count} ❌ ci-dessus, chacun avec sa correction ({seconds} s)."},
    "not_ready_error": {
        "en": "the lab is not ready: fix the {count} ❌ lines of the report above, then run "
              "`python -m lab_utils doctor` again",
        "fr": "le lab n'est pas prêt : corrigez les {count} lignes ❌ du rapport ci-dessus, puis relancez "
              "`python -m lab_utils doctor`",
    },
})


def run() -> Report:
    """Check everything (lab_utils.services.readiness), change nothing."""
    return readiness.run()


def format_report(report: Report) -> str:
    """The report as a terminal shows it: components, then settings, then the verdict."""
    width = max((len(r.component) for r in report.rows), default=10)
    lines = [_("title"), "", _("components")]
    for r in report.rows:
        lines.append(f"  {MARKS[r.status]} {r.component:<{width}}  {r.text}")
    if report.settings:
        lines += ["", _("settings")]
        name_w = max(len(name) for name in report.settings)
        value_w = min(40, max(len(s.shown) for s in report.settings.values()))
        for name, s in report.settings.items():
            mark = f"  {FAIL}" if s.problem else ""
            lines.append(f"  {name:<{name_w}}  {s.shown:<{value_w}}  {readiness.source_label(s)}{mark}")
    seconds = i18n.number(report.seconds, 1)
    lines += ["", _("ready", seconds=seconds) if report.ready else
              _("not_ready", count=len(report.failures), seconds=seconds)]
    return "\n".join(lines)


def not_ready_error(report: Report) -> LabError:
    """The one line the command line prints on stderr when the report has ❌."""
    return LabError(_("not_ready_error", count=len(report.failures)))
