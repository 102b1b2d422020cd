"""Hypothesis profiles for the tests and the conformance suite.

- ``ci``: derandomized (the same examples every run), no example database,
  100 examples where a test does not set its own count. CI selects it.
- ``dev`` (default): hypothesis's defaults, with the example database, so a
  failure found once is replayed first.
- ``long``: 1000 examples, for a deeper local run before a release or after
  touching the unpacker.

Select one with ``HYPOTHESIS_PROFILE=ci|dev|long``; :func:`load_profile`
registers them and loads the selected one (a plugin's ``conftest.py`` may
call it too).
"""

from __future__ import annotations

import os

from hypothesis import settings

VARIABLE = "HYPOTHESIS_PROFILE"
PROFILES = ("ci", "dev", "long")


def load_profile() -> str:
    """Register the profiles and load the one ``HYPOTHESIS_PROFILE`` names
    (``dev`` by default); its name."""
    settings.register_profile("ci", derandomize=True, database=None, max_examples=100)
    settings.register_profile("dev")
    settings.register_profile("long", max_examples=1000)
    name = os.environ.get(VARIABLE, "dev")
    if name not in PROFILES:
        raise ValueError(f"{VARIABLE}={name!r}: expected one of {', '.join(PROFILES)}")
    settings.load_profile(name)
    return name
