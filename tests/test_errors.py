"""Every lab error is one line naming the fix, in a terminal and in a notebook. No service needed."""

from __future__ import annotations

import re

from IPython.core.interactiveshell import InteractiveShell

from lab_utils import errors


def test_every_error_is_a_lab_error():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert classes and all(issubclass(c, errors.LabError) for c in classes)


def test_a_notebook_shows_the_one_line_not_a_traceback(capsys):
    shell = InteractiveShell.instance()
    shell.run_cell("from lab_utils.errors import ServiceDown\n"
                   "def deep():\n    raise ServiceDown('Kafka is not reachable at 127.0.0.1:1: run `make lab`')\n"
                   "deep()")
    shown = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out).strip()
    assert shown == "ServiceDown: Kafka is not reachable at 127.0.0.1:1: run `make lab`", shown
    shell.run_cell("1/0")  # other errors keep their traceback
    assert "Traceback" in capsys.readouterr().out
