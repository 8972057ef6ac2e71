"""Shared test settings: Hypothesis profiles chosen by ``HYPOTHESIS_PROFILE``.

``default`` keeps the suite fast enough for CI on a busy machine; run
``HYPOTHESIS_PROFILE=long python -m pytest tests/test_fuzz.py`` for a longer search.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
