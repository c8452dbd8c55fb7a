"""Subprocesses the fuzz tests need (a fresh interpreter costs seconds), started when collection
ends so that they run on the second core beside the in-process tests instead of after them.

A test module registers ``@background("fixture_name")`` on a function that starts the work and
returns a callable giving its result; the fixture of that name calls :func:`result`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

STARTERS: dict[str, Callable[[], Callable[[], Any]]] = {}
_STARTED: dict[str, Callable[[], Any]] = {}
_RESULTS: dict[str, Any] = {}


def background(name: str) -> Callable:
    def register(start: Callable[[], Callable[[], Any]]) -> Callable[[], Callable[[], Any]]:
        STARTERS[name] = start
        return start

    return register


def start(name: str) -> None:
    if name not in _STARTED and name not in _RESULTS:
        _STARTED[name] = STARTERS[name]()


def result(name: str) -> Any:
    """The result of the work registered as ``name`` (started now if collection did not start it)."""
    if name not in _RESULTS:
        start(name)
        _RESULTS[name] = _STARTED.pop(name)()
    return _RESULTS[name]
