"""Fixtures for the lessons' checks: the language a check speaks."""

from __future__ import annotations

import pytest

from lab_utils import config


@pytest.fixture(params=config.LANGUAGES)
def lang(request):
    """Yields "en" then "fr" (one test run each), set as this process's language (what a notebook's
    `preflight(lang=...)` does). Puts back the language chosen before."""
    before = config.use_language(request.param)
    yield request.param
    config.use_language(before)
