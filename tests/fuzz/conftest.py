"""Fuzz suite: hostile, malformed and extreme inputs for every reader and command.

The corpus lives in ``fuzz_corpus.py`` beside this file (made importable here). Every test adds the
cases it ran to :data:`CASES`; the totals are printed at the end of the run. Subprocesses that
selected tests need are started as soon as collection ends (``fuzz_background.py``).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

CASES: Counter = Counter()


@pytest.fixture
def count_cases():
    """``count_cases(group, n=1)`` records ``n`` fuzz cases run under ``group``."""

    def add(group: str, n: int = 1) -> None:
        CASES[group] += n

    return add


def pytest_collection_finish(session) -> None:
    import fuzz_background as background

    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if not session.config.option.collectonly:
        for name in sorted(wanted & set(background.STARTERS)):
            background.start(name)


def pytest_terminal_summary(terminalreporter) -> None:
    if CASES:
        parts = ", ".join(f"{group} {n}" for group, n in sorted(CASES.items()))
        terminalreporter.write_line(f"fuzz cases run: {sum(CASES.values())} ({parts})")
